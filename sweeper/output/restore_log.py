"""The JSON lines of ``sweeper restore``: one per selected object and a ``restore_summary``.

Shaped like the sweep's lines (``time``, ``level``, ``msg``, ``schema_version``, ``event``)
but carrying ``restore_id`` instead of ``sweep_id``, and ``cluster_uid`` (the target
cluster's) once it is read; ``docs/logging.md`` ("sweeper restore output") lists every
field. Writes and flushes; keeps no state anyone reads back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sweeper.core.reasons import ExitCode
from sweeper.core.restore_lines import Deletion
from sweeper.output.report import SCHEMA_VERSION, stamp

RESTORED, WOULD_RESTORE = "restored", "would_restore"
EXISTS, FAILED = "exists", "restore_failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one selected object."""

    event: str  # RESTORED, WOULD_RESTORE, EXISTS or FAILED
    deletion: Deletion
    dropped: tuple[str, ...] = ()  # "Kind/name: reason" of each ownerReference left out
    uid: str | None = None  # of the object created
    error: str | None = None
    body: dict[str, Any] | None = None  # what was (or, in a dry run, would be) sent


_MESSAGES = {
    RESTORED: ("restored", "info"),
    WOULD_RESTORE: ("would be restored (dry run); manifest is exactly what would be sent", "info"),
    EXISTS: ("an object of that name exists; left alone", "info"),
    FAILED: ("could not be restored", "error"),
}


class RestoreLog:
    """Writes the restore's lines: JSON in the shape of the sweep's (``report.Reporter``),
    or, with ``human``, one aligned line per object and a closing paragraph."""

    def __init__(
        self,
        stream: TextIO,
        *,
        restore_id: str,
        now: Callable[[], datetime],
        human: bool = False,
    ) -> None:
        self.restore_id = restore_id
        self.cluster_uid: str | None = None  # the target's, once read
        self._stream = stream
        self._now = now
        self._human = human

    def line(self, event: str, message: str, *, level: str = "info", **fields: Any) -> None:
        if self._human:
            self._stream.write(human_line(event, message, fields) + "\n")
            self._stream.flush()
            return
        record = {
            "time": stamp(self._now()),
            "level": level,
            "msg": message,
            "restore_id": self.restore_id,
            "schema_version": SCHEMA_VERSION,
            "event": event,
        }
        if self.cluster_uid is not None:
            record["cluster_uid"] = self.cluster_uid
        record.update(fields)
        self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._stream.flush()

    def outcome(self, outcome: Outcome, *, dry_run: bool) -> None:
        item = outcome.deletion
        fields: dict[str, Any] = {
            "object_kind": item.kind,
            "object_name": item.name,
            "reason": item.reason,
            "dry_run": dry_run,
            "owner_references_dropped": list(outcome.dropped),
            "source_sweep_id": item.sweep_id,
            "source_cluster_uid": item.cluster_uid or "",
            "deleted_at": stamp(item.time),
        }
        if outcome.uid:
            fields["object_uid"] = outcome.uid
        if outcome.error:
            fields["error"] = outcome.error
        if outcome.event == WOULD_RESTORE and outcome.body is not None:
            fields["manifest"] = outcome.body
        message, level = _MESSAGES[outcome.event]
        if outcome.event == RESTORED and outcome.dropped:
            message, level = "restored without the ownerReferences of absent owners", "warning"
        self.line(outcome.event, message, level=level, **fields)


def summary_fields(outcomes: Iterable[Outcome], *, dry_run: bool, exit_code: int) -> dict[str, Any]:
    """The outcome counts of the ``restore_summary`` line."""
    done = list(outcomes)
    return {
        "exit_code": int(exit_code),
        "dry_run": dry_run,
        "restored": sum(o.event == RESTORED for o in done),
        "would_restore": sum(o.event == WOULD_RESTORE for o in done),
        "exists": sum(o.event == EXISTS for o in done),
        "failed": sum(o.event == FAILED for o in done),
        "owner_references_dropped_count": sum(
            len(o.dropped) for o in done if o.event in (RESTORED, WOULD_RESTORE)
        ),
    }


_SHORT_KINDS = {"ValidatingAdmissionPolicyBinding": "vapb", "ValidatingAdmissionPolicy": "vap"}
_HUMAN_EVENTS = {WOULD_RESTORE: "would restore", FAILED: "failed"}


def human_line(event: str, message: str, fields: Mapping[str, Any]) -> str:
    """One restore line for people: the outcome and the object, or the closing paragraph."""
    if event == "restore_summary":
        return restore_paragraph(fields)
    kind = _SHORT_KINDS.get(fields.get("object_kind", ""), fields.get("object_kind", "?"))
    text = f"{_HUMAN_EVENTS.get(event, event):<14} {kind}/{fields.get('object_name')}"
    dropped = fields.get("owner_references_dropped") or []
    if dropped:
        text += f"  (ownerReferences dropped: {'; '.join(dropped)})"
    if fields.get("error"):
        text += f"  ({fields['error']})"
    elif event == EXISTS:
        text += f"  ({message})"
    return text


def restore_paragraph(summary: Mapping[str, Any]) -> str:
    """The ``restore_summary`` fields as one paragraph ending with the exit code."""
    code = summary["exit_code"]
    meaning = ExitCode(code).meaning if code in set(ExitCode) else "unknown"
    error = summary.get("error")
    verdict = f"Exit code {code} ({meaning})" + (f": {error}." if error else ".")
    seconds = f"{summary.get('duration_ms', 0) / 1000:.1f}s"
    if summary["dry_run"]:
        head = f"Dry run of the restore (nothing stored) finished in {seconds}: "
        done = f"{summary.get('would_restore', 0)} would be restored"
    else:
        head = f"Restore finished in {seconds}: "
        done = f"{summary['restored']} restored"
    return (
        f"{head}{summary.get('selected', 0)} selected, {done}, {summary['exists']} already "
        f"existed (left alone), {summary['failed']} failed. {verdict}"
    )
