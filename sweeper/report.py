"""Report: JSON log lines on stdout, one event per line, and the sweep summary.

Every line carries ``time`` (RFC 3339 UTC), ``level``, ``event``, ``sweep_id`` and
``schema_version``; object names are fields of the body, never labels. Exactly one
``sweep_summary`` line ends every sweep. Reporting never changes cluster state.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from sweeper.inventory import Inventory
from sweeper.reasons import DELETE_REASONS, Action, Event, Reason
from sweeper.verdicts import Owner, Plan, Verdict

if TYPE_CHECKING:
    from sweeper.table import TableView

SCHEMA_VERSION = 1
LOGGER_NAME = "sweeper"
LEVELS = ("debug", "info", "warning", "error")


class _Formatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = record.levelname.lower()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one per-object line said: its event and the verdict it was about."""

    event: Event
    verdict: Verdict


@dataclass
class Tally:
    """Counts that end up in the summary; thread-safe increments."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[key] += amount


class Reporter:
    """Writes the sweep's JSON lines; one instance per sweep."""

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        level: str = "info",
        cluster_name: str | None = None,
        sweep_id: str | None = None,
        output: str = "json",
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.sweep_id = sweep_id or uuid.uuid4().hex[:12]
        self.tally = Tally()
        self.outcomes: list[Outcome] = []  # every per-object line, for notices and the table
        self._outcomes_lock = threading.Lock()
        self._table: TableView | None = None
        if output == "table":
            from sweeper.table import TableView

            self._table = TableView(
                stream or sys.stdout, cluster_name=cluster_name, now=now or _utc_now
            )
        static: dict[str, Any] = {"sweep_id": self.sweep_id, "schema_version": SCHEMA_VERSION}
        if cluster_name:
            static["cluster"] = cluster_name
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(
            _Formatter(
                "%(asctime)s %(levelname)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "message": "msg"},
                static_fields=static,
                json_ensure_ascii=False,
            )
        )
        # A private logger per sweep: no global state shared between sweeps in one process.
        self._logger = logging.Logger(f"{LOGGER_NAME}.{self.sweep_id}")
        self._min_level = logging.getLevelName(level.upper())
        self._logger.addHandler(handler)
        self._handler = handler

    def event(
        self, event: Event, message: str, *, level: int = logging.INFO, **fields: Any
    ) -> None:
        """One log line for ``event`` (or, with ``--output table``, material for the table)."""
        # The first and last lines of a sweep are written whatever --log-level says: an
        # alert on "no successful sweep" must not fire because the log was made quieter.
        enabled = level >= self._min_level or event in _ALWAYS_WRITTEN
        if self._table is not None:
            self._table.add(event, message, level=level, enabled=enabled, fields=fields)
        elif enabled:
            self._logger.log(level, message, extra={"event": event.value, **fields})

    def close(self) -> None:
        self._handler.flush()
        self._logger.removeHandler(self._handler)

    # --- per-object lines ----------------------------------------------------------------

    def verdict(
        self,
        verdict: Verdict,
        event: Event,
        message: str,
        *,
        level: int = logging.INFO,
        **fields: Any,
    ) -> None:
        """A line about one object, with its kind, name, uid, reason and owner."""
        self.tally.add(event.value)
        with self._outcomes_lock:
            self.outcomes.append(Outcome(event, verdict))
        self.event(event, message, level=level, **object_fields(verdict), **fields)

    def planned(self, plan: Plan) -> None:
        """Lines for the verdicts that are not acted on but must be seen."""
        for verdict in plan.verdicts:
            self.tally.add(f"verdict_{verdict.action.value}")
            if verdict.is_candidate:
                self.tally.add(f"candidates_{verdict.reason.value}")
            if verdict.hold is not None:
                self.verdict(verdict, Event(verdict.hold.value), _HOLD_MESSAGES[verdict.hold.value])
            elif verdict.action is Action.UNDECIDED:
                self.verdict(verdict, Event.UNDECIDED, "cannot decide; kept", level=logging.WARNING)
            elif verdict.action is Action.REPORT:
                self.verdict(verdict, Event.REPORTED, "kept; worth a look", level=logging.WARNING)

    def list_failures(self, inventory: Inventory) -> None:
        for status in inventory.failed_lists:
            self.tally.add("lists_failed")
            self.event(
                Event.LIST_FAILED,
                "a list failed; what it covers stays undecided",
                level=logging.ERROR,
                path=status.path,
                error=status.error,
            )

    # --- the summary ---------------------------------------------------------------------

    def summary(self, **values: Any) -> None:
        """The one ``sweep_summary`` line that ends every sweep."""
        fields = self.summary_fields(**values)
        level = logging.INFO if fields["exit_code"] == 0 else logging.ERROR
        self.event(Event.SWEEP_SUMMARY, "sweep finished", level=level, **fields)

    def summary_fields(
        self,
        *,
        exit_code: int,
        dry_run: bool,
        duration_ms: int,
        inventory: Inventory | None,
        error: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The fields of the ``sweep_summary`` line, from the counts so far."""
        counts = self.tally.counts
        fields: dict[str, Any] = {
            "exit_code": exit_code,
            "dry_run": dry_run,
            "duration_ms": duration_ms,
            "vap_version": inventory.vap_version if inventory else None,
            "listed_bindings": len(inventory.bindings) if inventory else 0,
            "listed_policies": len(inventory.policies) if inventory else 0,
            "listed_templates": len(inventory.templates) if inventory else 0,
            "listed_constraints": len(inventory.constraints) if inventory else 0,
            "lists_failed": counts["lists_failed"],
            "foreign": counts[f"verdict_{Action.IGNORE.value}"],
            "candidates": sum(counts[f"candidates_{r.value}"] for r in DELETE_REASONS),
            **{
                f"candidates_{_snake(r)}": counts[f"candidates_{r.value}"]
                for r in sorted(DELETE_REASONS)
            },
            "deleted": counts[Event.DELETED.value],
            "would_delete": counts[Event.WOULD_DELETE.value],
            "already_gone": counts[Event.ALREADY_GONE.value],
            "conflicts": counts[Event.CONFLICT.value],
            "failed": counts[Event.DELETE_FAILED.value],
            "undecided": counts[Event.UNDECIDED.value],
            "too_young": counts[Event.TOO_YOUNG.value],
            "excluded": counts[Event.EXCLUDED.value],
            "owner_back": counts[Event.OWNER_BACK.value],
            "reported": counts[Event.REPORTED.value],
            "skipped": sum(counts[e.value] for e in _SKIP_EVENTS),
            "not_attempted": counts[Event.INTERRUPTED.value],
        }
        if error:
            fields["error"] = error
        fields.update(extra)
        return fields


_ALWAYS_WRITTEN = frozenset({Event.SWEEP_STARTED, Event.SWEEP_SUMMARY})
_HOLD_MESSAGES = {
    Event.TOO_YOUNG.value: "younger than --min-age; left for a later sweep",
    Event.EXCLUDED.value: "excluded by annotation or --exclude; kept",
    Event.REPORTED.value: "reason not selected by --reasons; kept",
}
_SKIP_EVENTS = (Event.TOO_YOUNG, Event.EXCLUDED, Event.OWNER_BACK, Event.CONFLICT)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _snake(reason: Reason) -> str:
    return reason.value.replace("-", "_")


def object_fields(verdict: Verdict) -> dict[str, Any]:
    """The fields that name one object and why it was judged so."""
    obj = verdict.obj
    fields: dict[str, Any] = {
        "object_kind": obj.kind,
        "object_name": obj.name,
        "object_uid": obj.uid,
        "reason": verdict.reason.value,
        "detail": verdict.detail,
    }
    if verdict.owner is not None:
        fields["owner_kind"] = verdict.owner.kind
        fields["owner_name"] = verdict.owner.name
        fields["template"] = template_of(verdict.owner)
    if obj.created is not None:
        fields["object_created"] = rfc3339(obj.created)
    return fields


def rfc3339(moment: datetime) -> str:
    """``2026-01-01T00:00:00Z``: seconds, UTC, four-digit year even before 1000."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def template_of(owner: Owner) -> str:
    """The ConstraintTemplate behind an owner: a policy's owner, or a binding's owner kind."""
    if owner.kind.lower() == "constrainttemplate":
        return owner.name
    return owner.kind.lower()  # Gatekeeper names a template lower(kind) of its constraints


def names(verdicts: Iterable[Verdict], limit: int = 20) -> list[str]:
    """``Kind/name`` of the first ``limit`` verdicts, for one-line listings."""
    return [f"{v.obj.kind}/{v.obj.name}" for v in list(verdicts)[:limit]]
