"""The human view (``--output table``): an aligned table of verdicts and a one-paragraph summary.

A sink of the ``Reporter``, fed the same lines as the JSON sink, so both views always say
the same thing. Per-object lines become rows; warnings and errors about the sweep become notes;
the ``sweep_summary`` line prints everything. It only writes text: never changes state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TextIO

from sweeper.core.reasons import Event, ExitCode

SHORT_KINDS = {
    "ValidatingAdmissionPolicyBinding": "vapb",
    "ValidatingAdmissionPolicy": "vap",
}
HEADERS = ("OBJECT", "REASON", "OWNER", "ACTION", "AGE")


def age(created: str | None, now: datetime) -> str:
    """``45s``, ``12m``, ``5h``, ``3d`` since an RFC 3339 timestamp; ``-`` when unknown."""
    try:
        moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        seconds = max(0, int((now - moment) / timedelta(seconds=1)))
    except (TypeError, ValueError, OverflowError):  # a view never fails a sweep
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns separated by two spaces, a header first."""
    table = [HEADERS, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 candidate``, ``2 candidates``, ``0 policies``."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def paragraph(summary: Mapping[str, Any], cluster: str | None) -> str:
    """The summary (``Summary.fields()``) as one paragraph that always ends with the exit
    code, its meaning and the error, so a failed sweep never reads as "all clear"."""
    where = f" of cluster {cluster}" if cluster else ""
    mode = "Dry run" if summary["dry_run"] else "Sweep"
    seconds = f"{summary['duration_ms'] / 1000:.1f}s"
    code = summary["exit_code"]
    error = summary.get("error")
    meaning = ExitCode(code).meaning if code in set(ExitCode) else "unknown"
    verdict = f"Exit code {code} ({meaning})" + (f": {error}." if error else ".")
    if summary.get("vap_version") is None and code != 0:
        return f"{mode}{where} stopped after {seconds}, before the cluster was read. {verdict}"
    acted = (
        f"{summary['would_delete']} would be deleted"
        if summary["dry_run"]
        else f"{summary['deleted']} deleted, {summary['failed']} failed"
    )
    return (
        f"{mode}{where} finished in {seconds}: listed "
        f"{count(summary['listed_bindings'], 'binding')} and "
        f"{count(summary['listed_policies'], 'policy', 'policies')} "
        f"({summary['foreign']} not Gatekeeper's); {count(summary['candidates'], 'candidate')}, "
        f"{acted}, {summary['already_gone']} already gone, {summary['skipped']} skipped "
        f"(too young, excluded, owner back or changed), {summary['reported']} reported, "
        f"{summary['undecided']} undecided. {verdict}"
    )


def gatekeeper_line(fields: Mapping[str, Any]) -> str:
    """What the sweep assumed about Gatekeeper (a ``gatekeeper_observed`` line), in words."""
    version = fields.get("version")
    where = fields.get("namespace")
    seen = f"Gatekeeper {version} in {where}" if version else "Gatekeeper (version unknown)"

    def flag(name: str, key: str) -> str:
        state = "on" if fields.get(key) else "off"
        return f"{name} default {state} ({fields.get(key + '_source')})"

    flags = f"{flag('VAP', 'vap_default')}, {flag('VAPB', 'vapb_default')}"
    return f"{seen}: {flags}."


def retries_note(retries: list[Mapping[str, Any]]) -> list[str]:
    """``request_retried`` lines as one note: how many requests, how many retries, the last
    cause (a flaky API server would otherwise bury the table under one note per retry)."""
    if not retries:
        return []
    requests = sum(1 for fields in retries if fields.get("attempt") == 1)
    plural = "s" if requests != 1 else ""
    last = retries[-1]
    return [
        f"warning: {requests} request{plural} retried ({len(retries)} retries; last: "
        f"{last['verb']} {last['path']}: {last['cause']})"
    ]


class TableSink:
    """Collects rows and notes during a sweep; prints them when the summary arrives."""

    def __init__(
        self, stream: TextIO, *, cluster_name: str | None, now: Callable[[], datetime]
    ) -> None:
        self._stream = stream
        self._cluster = cluster_name
        self._now = now
        self._rows: list[tuple[str, ...]] = []
        self._notes: list[str] = []
        self._gatekeeper: str | None = None
        self._retries: list[Mapping[str, Any]] = []  # one note for all, not one each

    def write(
        self, event: Event, message: str, *, level: int, enabled: bool, fields: Mapping[str, Any]
    ) -> None:
        """Take one Reporter line: a row, a note, or (the summary) the signal to print."""
        if event is Event.SWEEP_SUMMARY:
            self._print(fields)
        elif event is Event.GATEKEEPER_OBSERVED:
            self._gatekeeper = gatekeeper_line(fields)
        elif event is Event.REQUEST_RETRIED:
            if enabled:
                self._retries.append(fields)
        elif event is Event.DELETING:
            pass  # its object's row is how the DELETE ended
        elif "object_name" in fields:
            self._rows.append(self._row(event, fields))
        elif enabled and level >= logging.WARNING:
            detail = fields.get("error") or fields.get("path") or ""
            if "limit" in fields:
                detail = (
                    f"{fields['candidate_count']} planned, "
                    f"{fields['limit']} is {fields['limit_value']:g}"
                )
            self._notes.append(
                f"{logging.getLevelName(level).lower()}: {message}"
                + (f" ({detail})" if detail else "")
            )

    def close(self) -> None:
        self._stream.flush()

    def _row(self, event: Event, fields: Mapping[str, Any]) -> tuple[str, ...]:
        kind = SHORT_KINDS.get(fields["object_kind"], fields["object_kind"])
        owner = (
            f"{fields['owner_kind']}/{fields['owner_name']}" if fields.get("owner_name") else "-"
        )
        return (
            f"{kind}/{fields['object_name']}",
            fields["reason"],
            owner,
            event.value,
            age(fields.get("object_created"), self._now()),
        )

    def _print(self, summary: Mapping[str, Any]) -> None:
        out = []
        if self._rows:
            out += render_table(sorted(self._rows, key=lambda r: (r[3], r[0])))
        elif summary["exit_code"] == 0:
            out.append("No Gatekeeper-generated object needs attention.")
        else:
            out.append("No object to show: the sweep did not get to judge any.")
        notes = self._notes + retries_note(self._retries)
        if notes:
            out += ["", *notes]
        if self._gatekeeper:
            out += ["", self._gatekeeper]
        out += ["", paragraph(summary, self._cluster)]
        self._stream.write("\n".join(out) + "\n")
        self._stream.flush()


ROLLUP_HEADERS = ("CLUSTER", "EXIT", "BINDINGS", "POLICIES", "CANDIDATES", "ACTED", "UNDECIDED")


def rollup(outcomes: Iterable[Any], fleet: Mapping[str, Any]) -> list[str]:
    """Fleet mode's last section: one row per cluster (``fleet.ClusterOutcome``) and a
    paragraph from the ``fleet_summary`` fields, ending with the fleet's exit code."""
    rows = [ROLLUP_HEADERS]
    for outcome in outcomes:
        s = outcome.summary
        if s is not None and s.vap_version is None and s.exit_code != 0:
            s = None  # stopped before the cluster was read: no count means anything
        acted = (
            "-"
            if s is None
            else (
                f"{s.would_delete} would delete"
                if s.dry_run
                else f"{s.deleted} deleted, {s.failed} failed"
            )
        )
        counts = (
            ("-",) * 4
            if s is None
            else (str(s.listed_bindings), str(s.listed_policies), str(s.candidates), acted)
        )
        undecided = "-" if s is None else str(s.undecided)
        rows.append((outcome.cluster, str(outcome.exit_code), *counts, undecided))
    widths = [max(len(row[i]) for row in rows) for i in range(len(ROLLUP_HEADERS))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    code = fleet["exit_code"]
    meaning = ExitCode(code).meaning if code in set(ExitCode) else "unknown"
    by_code = ", ".join(
        f"{fleet[f'clusters_exit_{c.value}']} exit {c.value}"
        for c in ExitCode
        if fleet[f"clusters_exit_{c.value}"]
    )
    mode = "Fleet dry run" if fleet["dry_run"] else "Fleet sweep"
    acted_total = (
        f"{fleet['would_delete']} would be deleted"
        if fleet["dry_run"]
        else f"{fleet['deleted']} deleted, {fleet['failed']} failed"
    )
    failed = fleet["failed_clusters"]
    where = f" (not clean: {', '.join(failed)})" if failed else ""
    return [
        "=== fleet ===",
        *lines,
        "",
        f"{mode} of {count(fleet['clusters'], 'cluster')} finished in "
        f"{fleet['duration_ms'] / 1000:.1f}s: "
        f"{by_code}{where}; {count(fleet['candidates'], 'candidate')}, {acted_total}, "
        f"{fleet['undecided']} undecided. Exit code {code} ({meaning}).",
    ]
