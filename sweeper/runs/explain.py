"""``sweeper explain NAME...``: why a sweep would (not) delete these VAPs and VAPBs, now.

The shell around the pure ``sweeper.core.explain``: it connects and judges exactly as a sweep
does (``sweep.connect``, ``sweep.judge``: discovery, gather, plan), then describes the
planner's verdict for each named object, as text for people or one JSON object per object
(``-o json``). It sends only GET requests: nothing is ever written. Exit codes are a
sweep's: 2 for an unknown name, a configuration error or a 401/403; 4 when the cluster
could not be fully read or an explained object is undecided; else 0.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from sweeper.core import ledger
from sweeper.core.explain import Explanation, Wish, explain
from sweeper.core.inventory import Inventory, ListKey, Source
from sweeper.core.reasons import RESTORED_AT_ANNOTATION, Action, ExitCode
from sweeper.core.settings import Settings
from sweeper.core.verdicts import Plan, Verdict
from sweeper.output.notices import events_namespace
from sweeper.output.report import rfc3339

if TYPE_CHECKING:
    from sweeper.cluster.kube import KubeClient
    from sweeper.core.observe import GatekeeperConfig
    from sweeper.runs.sweep import Runtime

UNKNOWN_NAME = "no ValidatingAdmissionPolicy or binding named {name}"


@dataclass(frozen=True)
class Explained:
    """What ``explain`` found: an explanation per named object, stderr lines, the exit code,
    and the records of named objects that no longer exist."""

    explanations: tuple[Explanation, ...]
    errors: tuple[str, ...]
    exit_code: int
    deleted: tuple[DeletedObject, ...] = ()


def explain_command(
    names: Sequence[str],
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``sweeper explain``: print the explanations, one error line per problem."""
    from sweeper.runs.sweep import Runtime

    out, err = out or sys.stdout, err or sys.stderr
    if settings.access.insecure_skip_tls_verify:
        err.write("sweeper: warning: TLS verification is off (--insecure-skip-tls-verify)\n")
    result = run_explain(names, settings, runtime=runtime or Runtime())
    blocks = [*result.explanations, *result.deleted]
    for i, block in enumerate(blocks):
        if settings.output == "json":
            out.write(json.dumps(block.fields(), ensure_ascii=False) + "\n")
        else:  # blocks apart by one blank line
            lines = block.lines() if isinstance(block, DeletedObject) else text_lines(block)
            out.write("\n" * (i > 0) + "\n".join(lines) + "\n")
    for line in result.errors:
        err.write(f"sweeper: error: {line}\n")
    return result.exit_code


def run_explain(names: Sequence[str], settings: Settings, *, runtime: Runtime) -> Explained:
    """Connect, judge as a sweep does, and explain each of ``names``; never writes."""
    from sweeper.cluster.kubeconfig import ConfigError
    from sweeper.core.errors import ApiError, SweepAborted
    from sweeper.output.report import Reporter
    from sweeper.runs.sweep import connect, judge

    try:
        client = connect(settings, runtime, started=runtime.monotonic())
    except ConfigError as error:
        return Explained((), (str(error),), ExitCode.USAGE)
    # judge's log lines (list_failed, nothing_to_do) are not this command's output: the
    # explanations and the error lines say the same for the objects asked about.
    reporter = Reporter(stream=io.StringIO(), level="error")
    now = runtime.now()
    try:
        judged = judge(client, settings=settings, reporter=reporter, now=now)
    except ApiError as error:
        return Explained(
            (), (str(error),), ExitCode.USAGE if error.denied else ExitCode.READ_FAILED
        )
    except SweepAborted as error:
        return Explained((), (str(error),), ExitCode.READ_FAILED)
    if judged is None:
        lines = [
            UNKNOWN_NAME.format(name=name)
            + " (the cluster serves no ValidatingAdmissionPolicy API)"
            for name in dict.fromkeys(names)
        ]
        return Explained((), tuple(lines), ExitCode.USAGE)
    explained = describe(
        names,
        inventory=judged.inventory,
        plan=judged.plan,
        settings=judged.settings,
        now=now,
        config=judged.gatekeeper,
    )
    found = {e.name for e in explained.explanations}
    missing = [name for name in dict.fromkeys(names) if name not in found]
    if not missing:
        return explained
    # A name the cluster no longer has may be one a sweep deleted: its record says so.
    namespace = events_namespace(settings.recording.namespace, runtime.namespace_file)
    deleted = deleted_objects(client, missing, namespace)
    if isinstance(deleted, str):
        return replace(explained, errors=(*explained.errors, deleted))
    known = {item.name for item in deleted}
    unknown = [name for name in missing if name not in known]
    outcome = _outcome(judged.inventory, explained.explanations, unknown)
    return replace(outcome, deleted=deleted)


def describe(
    names: Sequence[str],
    *,
    inventory: Inventory,
    plan: Plan,
    settings: Settings,
    now: datetime,
    config: GatekeeperConfig | None = None,
) -> Explained:
    """The explanations of the verdicts named ``names``, in the order asked; the error
    lines and exit code of what could not be explained or read. ``config``: the observed
    Gatekeeper configuration the plan used, when there is one (where its flags came from)."""
    wanted = dict.fromkeys(names)
    by_name: dict[str, list[Verdict]] = {name: [] for name in wanted}
    for verdict in plan.verdicts:
        if verdict.obj.name in by_name:
            by_name[verdict.obj.name].append(verdict)
    explanations = tuple(
        explain(verdict, inventory=inventory, rules=settings.rules, now=now, config=config)
        for name in wanted
        for verdict in by_name[name]
    )
    missing = [name for name, verdicts in by_name.items() if not verdicts]
    return _outcome(inventory, explanations, missing)


def _outcome(
    inventory: Inventory, explanations: tuple[Explanation, ...], missing: Sequence[str]
) -> Explained:
    """A sweep's exit codes: a 401/403 or an unknown name 2, an incomplete read or an
    undecided object 4. A name absent from an incomplete list is not proven unknown."""
    listed = all(
        inventory.complete(ListKey(source)) for source in (Source.BINDINGS, Source.POLICIES)
    )
    errors = [
        UNKNOWN_NAME.format(name=name)
        if listed
        else f"cannot tell whether {name} exists: the list of policies or bindings failed"
        for name in missing
    ]
    undecided = [e for e in explanations if e.decision.action == Action.UNDECIDED.value]
    errors += [f"{e.kind} {e.name} is undecided: {e.decision.detail}" for e in undecided]
    failed = inventory.failed_lists
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        errors.append(f"the cluster could not be fully read: {failed[0].error}{more}")
    denied = any(status.status in (401, 403) for status in failed)
    if denied or (listed and missing):
        code = ExitCode.USAGE
    elif failed or undecided:
        code = ExitCode.READ_FAILED
    else:
        code = ExitCode.OK
    return Explained(explanations, tuple(errors), code)


# --- objects that no longer exist: the records ------------------------------------------


@dataclass(frozen=True)
class DeletedObject:
    """A named object the cluster no longer has, as a sweep's record describes its deletion."""

    kind: str
    name: str
    sweep_id: str
    deleted_at: str
    reason: str
    detail: str
    cluster_uid: str
    record: str  # namespace/record id

    @property
    def restore(self) -> str:
        return f"sweeper restore --from-cluster --name {self.name} --sweep-id {self.sweep_id}"

    def fields(self) -> dict[str, Any]:
        """The JSON object of ``explain -o json`` for a deleted object."""
        return {**asdict(self), "deleted": True, "restore": self.restore}

    def lines(self) -> list[str]:
        return [
            f"{self.kind} {self.name} (deleted; it no longer exists)",
            f"  deleted: {self.deleted_at} by sweep {self.sweep_id} ({self.reason}: {self.detail})",
            f"  record:  configmap {self.record} (cluster {self.cluster_uid})",
            f"  restore: {self.restore}",
        ]


def deleted_objects(
    client: KubeClient, names: Sequence[str], namespace: str
) -> tuple[DeletedObject, ...] | str:
    """The records of ``names`` in ``namespace``, oldest first; why not, when they cannot be
    read."""
    from sweeper.cluster.ledger import list_records
    from sweeper.core.errors import ApiError, SweepAborted

    try:
        assembled = ledger.assemble(list_records(client, namespace))
    except (ApiError, SweepAborted) as error:
        return f"the records in {namespace} could not be read: {error}"
    found = []
    for rid, text in assembled.entries:
        try:
            entry = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if not isinstance(entry, dict) or entry.get("object_name") not in names:
            continue
        found.append(
            DeletedObject(
                *(
                    str(entry.get(key, ""))
                    for key in ("object_kind", "object_name", "sweep_id", "time", "reason")
                ),
                detail=str(entry.get("detail", "")),
                cluster_uid=str(entry.get("cluster_uid", "")),
                record=f"{namespace}/{rid}",
            )
        )
    return tuple(found)


# --- text for people ---------------------------------------------------------------------


def _yes(value: bool | None, yes: str = "yes", no: str = "no", unknown: str = "unknown") -> str:
    return unknown if value is None else yes if value else no


def _span(seconds: int) -> str:
    """``0s``, ``45s``, ``1h30m``, ``2d3h``, ``1h``: the largest unit and the next one down
    when it is not zero, rounded down (never ``1h15s``, which skips the minutes)."""
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    left = max(seconds, 0)
    for i, (unit, size) in enumerate(units):
        if left >= size:
            text = f"{left // size}{unit}"
            if i + 1 < len(units):
                next_unit, next_size = units[i + 1]
                below = (left % size) // next_size
                text += f"{below}{next_unit}" if below else ""
            return text
    return "0s"


def _wish(wish: Wish) -> str:
    return f"{wish.want}: {wish.why}" + (" (Gatekeeper rejects the template)" * wish.rejected)


def text_lines(e: Explanation) -> list[str]:
    """One block: aligned ``key: value`` lines, then ``Decision: row N, ...``."""
    rows: list[tuple[str, str]] = [("uid", e.uid or "-")]
    min_age = _span(e.exclusions.min_age_seconds)
    old = "old enough" if e.exclusions.old_enough else "too young"
    if e.created is None or e.age_seconds is None:
        rows.append(("created", f"unknown (--min-age {min_age}: {old})"))
    else:
        age = f"{_span(e.age_seconds)} old; --min-age {min_age}: {old}"
        rows.append(("created", f"{rfc3339(e.created)} ({age})"))
    if e.problem:
        rows.append(("problem", e.problem))
    rows.append(("origin", e.origin))
    rows += _owner_rows(e)
    if e.names is not None:  # Gatekeeper's configuration matters only to its objects
        gk = e.gatekeeper
        vap = f"{_yes(gk.create_vap, 'on', 'off')}{_source(gk.vap_source)}"
        vapb = f"{_yes(gk.create_vapb, 'on', 'off')}{_source(gk.vapb_source)}"
        rows.append(("gatekeeper", f"VAP default {vap}, VAPB default {vapb}; {gk.scheme}"))
        rows += _gatekeeper_rows(gk)
        rows += _name_rows(e)
    if e.policy is not None:
        exists = {True: "exists", False: "does not exist", None: "existence unknown"}
        rows.append(("policy", f"{e.policy} ({exists[e.policy_exists]})"))
    for claim in e.claims:
        state = " (terminating)" if claim.terminating else ""
        rows.append(("claimed by", f"{claim.kind}/{claim.name}{state}, wants {_wish(claim.wish)}"))
    rows.append(("exclusions", _exclusions(e)))
    width = max(len(key) for key, _ in rows) + 1
    lines = [f"{e.kind} {e.name}"]
    lines += [f"  {key + ':':<{width}} {value}" for key, value in rows]
    d = e.decision
    verdict = d.action if d.hold is None else f"{d.action}, held: {d.hold}"
    lines.append(f"Decision: row {d.row}, {verdict} ({d.reason}): {d.detail}")
    return lines


def _source(source: str | None) -> str:
    return f" ({source})" if source else ""


def _gatekeeper_rows(gk: Any) -> list[tuple[str, str]]:
    """Where the flags were read, the rollout state, and why verdicts are held, if so."""
    rows = []
    if gk.generators:
        rows.append(("read from", ", ".join(gk.generators)))
    notes = (
        ("rollout", gk.rollout),
        ("not observed", gk.not_observed),
        ("version", gk.version_unknown and f"unknown: {gk.version_unknown}"),
        ("held", gk.not_modelled),
    )
    rows += [(key, value) for key, value in notes if value]
    return rows


def _owner_rows(e: Explanation) -> list[tuple[str, str]]:
    owner = e.owner
    if owner is None:
        return []
    uid = f", uid {owner.uid}" if owner.uid else ""
    rows = [("owner", f"{owner.kind}/{owner.name} (by {owner.via}{uid})")]
    rows.append(("found", f"{_yes(owner.lookup.found)}: {owner.lookup.proof}"))
    if owner.lookup.found:
        state = []
        if owner.uid_matches is not None:
            same = "matches" if owner.uid_matches else f"differs (live uid {owner.live_uid})"
            state.append(f"uid {same}")
        terminating = {True: "terminating", False: "not terminating"}
        state.append(terminating.get(owner.terminating, "deletionTimestamp unreadable"))
        rows.append(("owner state", ", ".join(state)))
    if e.wish is not None:
        rows.append(("wants", _wish(e.wish)))
    return rows


def _name_rows(e: Explanation) -> list[tuple[str, str]]:
    names = e.names
    assert names is not None
    shown = ", ".join(n + (" (managed)" if n == names.managed else "") for n in names.names)
    carried = f"carries the {names.carried} name" if names.carried else "carries none of them"
    rows = [("names", f"{shown}; {carried}")]
    if names.sibling is not None:
        whose = "the same owner's" if names.sibling_owned else "another owner's"
        rows.append(("other name", f"{names.sibling} exists ({whose})"))
    return rows


def _exclusions(e: Explanation) -> str:
    x = e.exclusions
    found = []
    if x.skip_annotation:
        found.append("skip annotation on the object")
    if x.owner_skip_annotation:
        found.append("skip annotation on the owner")
    found += [f"--exclude {pattern!r} matches" for pattern in x.patterns]
    if x.reason_selected is False:
        found.append(f"{e.decision.reason} not in --reasons")
    if x.restored_at is not None:
        short = "vap" if e.kind == "ValidatingAdmissionPolicy" else "vapb"
        found.append(
            f"restored by sweeper restore at {x.restored_at}: later sweeps keep it until a "
            f"person releases it: kubectl annotate {short} {e.name} {RESTORED_AT_ANNOTATION}-"
        )
    return "; ".join(found) if found else "none"
