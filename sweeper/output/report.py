"""Report: a sweep's lines, streamed to one sink (JSON lines, or the table for people).

Every JSON line carries ``time`` (RFC 3339 UTC), ``level``, ``event``, ``sweep_id`` and
``schema_version``, and ``cluster_uid`` from the moment the cluster's identity is read;
object names are fields of the body, never labels. Exactly one ``sweep_summary`` line ends
every sweep. The Reporter only writes: it keeps no counts,
and nothing else reads state back from it. Reporting never changes cluster state.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from pythonjsonlogger.json import JsonFormatter

from sweeper.core.inventory import Inventory
from sweeper.core.reasons import Action, Event
from sweeper.core.settings import LOG_LEVELS
from sweeper.core.summary import Summary
from sweeper.core.verdicts import Hold, Owner, Plan, Verdict

SCHEMA_VERSION = 1
LOGGER_NAME = "sweeper"
LEVELS = LOG_LEVELS


class Sink(Protocol):
    """Where a sweep's lines go; chosen once per sweep."""

    def write(
        self, event: Event, message: str, *, level: int, enabled: bool, fields: Mapping[str, Any]
    ) -> None:
        """Take one line; ``enabled`` says whether ``--log-level`` lets it through."""

    def close(self) -> None:
        """Flush what is pending."""


def stamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds: every line's ``time``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Formatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return stamp(datetime.fromtimestamp(record.created, tz=UTC))

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = record.levelname.lower()


class JsonSink:
    """JSON lines on a stream, through a private logger (no global logging state)."""

    def __init__(self, stream: TextIO, *, static: Mapping[str, Any]) -> None:
        self._handler = logging.StreamHandler(stream)
        self._formatter = _Formatter(
            "%(asctime)s %(levelname)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "message": "msg"},
            static_fields=dict(static),
            json_ensure_ascii=False,
        )
        self._handler.setFormatter(self._formatter)
        self._logger = logging.Logger(f"{LOGGER_NAME}.{static.get('sweep_id', '')}")
        self._logger.addHandler(self._handler)

    def write(
        self, event: Event, message: str, *, level: int, enabled: bool, fields: Mapping[str, Any]
    ) -> None:
        if enabled:
            self._logger.log(level, message, extra={"event": event.value, **fields})

    def add_static(self, name: str, value: Any) -> None:
        """From now on, every line carries ``name``."""
        self._formatter.static_fields[name] = value

    def close(self) -> None:
        self._handler.flush()
        self._logger.removeHandler(self._handler)


class Reporter:
    """Writes one sweep's lines to its sink; one instance per sweep."""

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
        self.cluster_uid: str | None = None  # once read (``identify``)
        out = stream or sys.stdout
        self._sink: Sink
        if output == "table":
            from sweeper.output.table import TableSink

            self._sink = TableSink(out, cluster_name=cluster_name, now=now or _utc_now)
        else:
            static: dict[str, Any] = {"sweep_id": self.sweep_id, "schema_version": SCHEMA_VERSION}
            if cluster_name:
                static["cluster"] = cluster_name
            self._sink = JsonSink(out, static=static)
        self._min_level = logging.getLevelName(level.upper())
        self._held: list[tuple[Event, str, int, dict[str, Any]]] | None = None
        self._holding = threading.Lock()

    def hold_until_started(self) -> None:
        """Keep every line back until ``sweep_started``, which is then written first: the
        sweep reads the cluster's identity before it starts, so that its first line carries
        ``cluster_uid`` too, and a retry of that read must not come before it."""
        self._held = []

    def event(
        self, event: Event, message: str, *, level: int = logging.INFO, **fields: Any
    ) -> None:
        """One line for ``event``."""
        held = None
        with self._holding:  # retry and slow-request lines come from other threads
            if self._held is not None:
                if event is not Event.SWEEP_STARTED:
                    self._held.append((event, message, level, fields))
                    return
                held, self._held = self._held, None
        # The first and last lines of a sweep are written whatever --log-level says: an
        # alert on "no successful sweep" must not fire because the log was made quieter.
        enabled = level >= self._min_level or event in _ALWAYS_WRITTEN
        self._sink.write(event, message, level=level, enabled=enabled, fields=fields)
        for line in held or ():
            self.event(line[0], line[1], level=line[2], **line[3])

    def identify(self, cluster_uid: str) -> None:
        """Every later line carries the cluster's identity (``cluster_uid``)."""
        self.cluster_uid = cluster_uid
        if isinstance(self._sink, JsonSink):
            self._sink.add_static("cluster_uid", cluster_uid)

    def close(self) -> None:
        self._sink.close()

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
        self.event(event, message, level=level, **object_fields(verdict), **fields)

    def planned(self, plan: Plan) -> None:
        """Lines for the verdicts that are not acted on but must be seen."""
        for verdict in plan.verdicts:
            if verdict.hold is Hold.RESTORED:
                self.verdict(
                    verdict,
                    Event.RESTORED,
                    _HOLD_MESSAGES[Hold.RESTORED],
                    restored_at=verdict.obj.restored,
                )
            elif verdict.hold is not None:
                self.verdict(verdict, verdict.hold.event, _HOLD_MESSAGES[verdict.hold])
            elif verdict.action is Action.UNDECIDED:
                self.verdict(verdict, Event.UNDECIDED, "cannot decide; kept", level=logging.WARNING)
            elif verdict.action is Action.REPORT:
                self.verdict(verdict, Event.REPORTED, "kept; worth a look", level=logging.WARNING)

    def list_failures(self, inventory: Inventory) -> None:
        for status in inventory.failed_lists:
            self.event(
                Event.LIST_FAILED,
                "a list failed; what it covers stays undecided",
                level=logging.ERROR,
                path=status.path,
                error=status.error,
            )

    def summary(self, summary: Summary) -> None:
        """The one ``sweep_summary`` line that ends every sweep."""
        level = logging.INFO if summary.exit_code == 0 else logging.ERROR
        self.event(Event.SWEEP_SUMMARY, "sweep finished", level=level, **summary.fields())


_ALWAYS_WRITTEN = frozenset({Event.SWEEP_STARTED, Event.SWEEP_SUMMARY, Event.FLEET_SUMMARY})
_HOLD_MESSAGES = {
    Hold.TOO_YOUNG: "younger than --min-age; left for a later sweep",
    Hold.EXCLUDED: "excluded by annotation or --exclude; kept",
    Hold.NOT_SELECTED: "reason not selected by --reasons; kept",
    Hold.RESTORED: "put back by sweeper restore; held until its restored-at annotation is removed",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
