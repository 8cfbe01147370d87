"""What a sweep did, as values: apply's result, the guards, the summary and the exit code.

Pure (no I/O imports). ``apply`` returns an ``ApplyResult``; ``summarize`` builds the one
typed ``Summary`` from the inventory, the plan and that result, and the JSON summary line,
the table's paragraph and the Prometheus gauges are all derived from it. The exit code is
a pure function of the same inputs (``exit_status``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.inventory import Inventory
from sweeper.core.reasons import DELETE_REASONS, Action, Event, ExitCode, Reason
from sweeper.core.settings import Guards
from sweeper.core.verdicts import Hold, Plan, Verdict


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one object in the apply phase: the event its line carries."""

    event: Event
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class GuardTrip:
    """A blast-radius limit the plan exceeded: nothing was deleted."""

    limit: str
    value: float
    candidates: int


@dataclass(frozen=True)
class ApplyResult:
    """What apply did: an outcome per candidate it reached, and why it stopped, if it did."""

    outcomes: tuple[Outcome, ...] = ()
    guard: GuardTrip | None = None
    aborted: str | None = None  # a signal or --timeout ended the apply phase
    denied: str | None = None  # the first 401/403 of the apply phase

    def count(self, event: Event) -> int:
        return sum(1 for outcome in self.outcomes if outcome.event is event)


def check_guards(plan: Plan, guards: Guards) -> GuardTrip | None:
    """The first blast-radius limit the plan's deletions exceed, if any."""
    count = len(plan.deletions)
    if guards.max_deletions and count > guards.max_deletions:
        return GuardTrip("max_deletions", guards.max_deletions, count)
    generated = sum(1 for v in plan.verdicts if v.action is not Action.IGNORE)
    percent = guards.max_deletion_percent
    if percent and generated and count * 100 > percent * generated:
        return GuardTrip("max_deletion_percent", percent, count)
    return None


def snake(reason: Reason) -> str:
    """``owner-deleted`` -> ``owner_deleted``: a reason as part of a field name."""
    return reason.value.replace("-", "_")


@dataclass(frozen=True)
class Summary:
    """The ``sweep_summary`` line's values; field order is the line's order."""

    exit_code: int
    dry_run: bool
    duration_ms: int
    vap_version: str | None = None
    gatekeeper_version: str | None = None  # of the running Gatekeeper, when observed
    vap_default: bool = True  # the Gatekeeper default flags the plan assumed
    vapb_default: bool = True
    listed_bindings: int = 0
    listed_policies: int = 0
    listed_templates: int = 0
    listed_constraints: int = 0
    lists_failed: int = 0
    foreign: int = 0
    candidates: int = 0
    candidates_by_reason: Mapping[Reason, int] = field(default_factory=dict)
    deleted: int = 0
    would_delete: int = 0
    already_gone: int = 0
    conflicts: int = 0
    failed: int = 0
    record_failed: int = 0  # not deleted: the write-ahead record could not be written
    undecided: int = 0
    too_young: int = 0
    excluded: int = 0
    restored: int = 0  # held: put back by `sweeper restore`
    owner_back: int = 0
    reported: int = 0
    skipped: int = 0  # too young, excluded, restored, owner back, or changed (conflict)
    not_attempted: int = 0
    error: str | None = None  # logged only when set
    interrupted: bool = False  # logged only when set

    def fields(self) -> dict[str, Any]:
        """The summary as the log line's fields (reason counts flattened)."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "candidates_by_reason":
                out.update(
                    {f"candidates_{snake(r)}": value.get(r, 0) for r in sorted(DELETE_REASONS)}
                )
            elif spec.name in OPTIONAL_FIELDS:
                if value:
                    out[spec.name] = value
            else:
                out[spec.name] = value
        return out


OPTIONAL_FIELDS = ("error", "interrupted")


def summarize(
    *,
    exit_code: int,
    dry_run: bool,
    duration_ms: int,
    inventory: Inventory | None = None,
    plan: Plan | None = None,
    result: ApplyResult | None = None,
    error: str | None = None,
    interrupted: bool = False,
    gatekeeper: GatekeeperDefaults | None = None,
) -> Summary:
    """The summary of a sweep from what each stage produced (None: the stage never ran)."""
    verdicts: Iterable[Verdict] = plan.verdicts if plan is not None else ()
    actions: Counter[Action] = Counter()
    holds: Counter[Hold | None] = Counter()
    by_reason: Counter[Reason] = Counter()
    for verdict in verdicts:
        actions[verdict.action] += 1
        if verdict.action is Action.REPORT:
            holds[verdict.hold] += 1
        if verdict.is_candidate:
            by_reason[verdict.reason] += 1
    done = result or ApplyResult()
    owner_back, conflicts = done.count(Event.OWNER_BACK), done.count(Event.CONFLICT)
    too_young, excluded = holds[Hold.TOO_YOUNG], holds[Hold.EXCLUDED]
    restored = holds[Hold.RESTORED]
    return Summary(
        exit_code=exit_code,
        dry_run=dry_run,
        duration_ms=duration_ms,
        vap_version=inventory.vap_version if inventory else None,
        gatekeeper_version=gatekeeper.version_text if gatekeeper else None,
        vap_default=gatekeeper.create_vap if gatekeeper else True,
        vapb_default=gatekeeper.create_vapb if gatekeeper else True,
        listed_bindings=len(inventory.bindings) if inventory else 0,
        listed_policies=len(inventory.policies) if inventory else 0,
        listed_templates=len(inventory.templates) if inventory else 0,
        listed_constraints=len(inventory.constraints) if inventory else 0,
        lists_failed=len(inventory.failed_lists) if inventory else 0,
        foreign=actions[Action.IGNORE],
        candidates=sum(by_reason[r] for r in DELETE_REASONS),
        candidates_by_reason={r: by_reason[r] for r in DELETE_REASONS},
        deleted=done.count(Event.DELETED),
        would_delete=done.count(Event.WOULD_DELETE),
        already_gone=done.count(Event.ALREADY_GONE),
        conflicts=conflicts,
        failed=done.count(Event.DELETE_FAILED),
        record_failed=done.count(Event.RECORD_FAILED),
        undecided=actions[Action.UNDECIDED],
        too_young=too_young,
        excluded=excluded,
        restored=restored,
        owner_back=owner_back,
        reported=holds[None] + holds[Hold.NOT_SELECTED],
        skipped=too_young + excluded + restored + owner_back + conflicts,
        not_attempted=done.count(Event.INTERRUPTED),
        error=error,
        interrupted=interrupted,
    )


def exit_status(
    inventory: Inventory, plan: Plan, result: ApplyResult
) -> tuple[ExitCode, str | None]:
    """The exit code of a sweep that got to apply, and its one-line error; first match wins."""
    denied = [s.error for s in inventory.failed_lists if s.status in (401, 403)]
    if result.denied:
        denied.append(result.denied)
    if denied:  # credentials or RBAC: a configuration error, not a flaky cluster
        return ExitCode.USAGE, denied[0]
    if result.guard is not None:
        return ExitCode.GUARD, "deletion guard tripped; nothing was deleted"
    if result.aborted:
        return ExitCode.DELETE_FAILED, result.aborted
    undecided = any(v.action is Action.UNDECIDED for v in plan.verdicts)
    if inventory.failed_lists or undecided:
        return ExitCode.READ_FAILED, (
            "some objects could not be decided; see the undecided and list_failed lines"
        )
    if result.count(Event.DELETE_FAILED):
        return ExitCode.DELETE_FAILED, "some deletions failed; see the delete_failed lines"
    if result.count(Event.RECORD_FAILED):  # fail closed: those objects were not deleted
        return ExitCode.DELETE_FAILED, (
            "some objects were not deleted: their record could not be written; "
            "see the record_failed lines"
        )
    return ExitCode.OK, None
