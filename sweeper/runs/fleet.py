"""Fleet mode: one sweep per kubeconfig context, a few at once, then one ``fleet_summary``.

Contract: each cluster is an independent ``run_sweep`` with its own client, guards,
deadline, exit code and ``sweep_summary``; its lines carry ``cluster`` (the context name, or
``--cluster-name`` for a single context). A cluster that cannot be reached is that cluster's
exit 4, never the others'. The run ends with one ``fleet_summary`` (JSON) or a roll-up
table, and exits with the worst of the clusters' codes by ``FLEET_PRECEDENCE``. The command
sweeps in worker processes (``fleet_workers``: a fleet uses every core); threads of this
process serve tests that inject clocks. Lines of different clusters interleave on the
stream, but each is written whole. A stop signal is shared: clusters not yet started are
not swept (the stop ends each running sweep cleanly).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TextIO

from sweeper.core.errors import one_line
from sweeper.core.reasons import Event, ExitCode
from sweeper.core.settings import MAX_CONCURRENCY, Settings
from sweeper.core.summary import Summary
from sweeper.output.report import Reporter
from sweeper.runs.sweep import Runtime, run_sweep

# A cluster-level code cannot tell "1: stopped while deleting" from "1: deletions failed"
# (README, "Exit codes"), so the fleet ranks codes alone: the first of these present wins.
FLEET_PRECEDENCE = (
    ExitCode.USAGE,
    ExitCode.GUARD,
    ExitCode.DELETE_FAILED,
    ExitCode.READ_FAILED,
    ExitCode.OK,
)
# Per-cluster summary counts the fleet_summary adds up.
TOTALS = (
    "listed_bindings",
    "listed_policies",
    "candidates",
    "deleted",
    "would_delete",
    "failed",
    "undecided",
)


class FleetError(Exception):
    """The fleet options cannot be used as given; the message is one line (exit 2)."""


def worst_exit_code(codes: Iterable[int]) -> int:
    """The fleet's exit code: the first of 2, 3, 1, 4 among ``codes``, else 0."""
    present = set(codes)
    for code in FLEET_PRECEDENCE:
        if code in present:
            return int(code)
    # A code outside the interface (a bug): still not "clean".
    return max(present, default=0)


@dataclass(frozen=True)
class ClusterOutcome:
    """How one cluster's sweep ended."""

    cluster: str
    exit_code: int
    error: str | None = None
    summary: Summary | None = None


@dataclass(frozen=True)
class FleetResult:
    exit_code: int
    outcomes: tuple[ClusterOutcome, ...]


def fleet_fields(
    outcomes: Iterable[ClusterOutcome], *, dry_run: bool, duration_ms: int
) -> dict[str, Any]:
    """The ``fleet_summary`` line's fields: clusters per exit code, and summed counts."""
    done = list(outcomes)
    codes = [outcome.exit_code for outcome in done]
    fields: dict[str, Any] = {
        "exit_code": worst_exit_code(codes),
        "dry_run": dry_run,
        "duration_ms": duration_ms,
        "clusters": len(done),
    }
    fields.update({f"clusters_exit_{code.value}": codes.count(code) for code in ExitCode})
    fields["failed_clusters"] = [o.cluster for o in done if o.exit_code != 0]
    for name in TOTALS:
        fields[name] = sum(getattr(o.summary, name) for o in done if o.summary is not None)
    return fields


def cluster_settings(settings: Settings, context: str, *, fleet_size: int) -> Settings:
    """One cluster's settings: its context, and its name on every line."""
    name = settings.cluster_name if fleet_size == 1 and settings.cluster_name else context
    return replace(settings, access=replace(settings.access, context=context), cluster_name=name)


def check_fleet_options(
    settings: Settings, contexts: list[str], *, fleet_concurrency: int, in_cluster: bool
) -> None:
    """Raise ``FleetError`` for fleet options that cannot work together."""
    if in_cluster:
        raise FleetError(
            "--all-contexts and repeated --context need a kubeconfig: "
            "in a pod the in-cluster config reaches one cluster only"
        )
    if not 1 <= fleet_concurrency <= MAX_CONCURRENCY:
        raise FleetError(f"--fleet-concurrency must be between 1 and {MAX_CONCURRENCY}")
    if settings.cluster_name and len(contexts) > 1:
        raise FleetError(
            "--cluster-name names a single cluster: with several contexts, "
            "each cluster is named after its context"
        )


class LockedStream:
    """A stream shared by concurrent sweeps: each ``write`` call lands whole."""

    def __init__(self, stream: TextIO, lock: threading.Lock) -> None:
        self._stream, self._lock = stream, lock

    def write(self, text: str) -> int:
        with self._lock:
            written = self._stream.write(text)
            self._stream.flush()
            return written

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()


class SectionStream:
    """Buffers one cluster's table and writes it, under a heading, in one piece at flush."""

    def __init__(self, stream: LockedStream, heading: str) -> None:
        self._out, self._heading = stream, heading
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        if self._parts:
            text, self._parts = "".join(self._parts), []
            self._out.write(f"=== cluster {self._heading} ===\n{text}\n")


def sweep_cluster(
    settings: Settings, context: str, *, runtime: Runtime, stream: Any
) -> ClusterOutcome:
    """One cluster's whole sweep, its lines written to ``stream`` (each ``write`` whole)."""
    name = settings.cluster_name or context
    if runtime.stop.is_set():  # stopped before this cluster's turn: not swept
        return not_swept(name, "stopped before the sweep")
    out: Any = SectionStream(stream, name) if settings.output == "table" else stream
    reporter = Reporter(
        stream=out, level=settings.log_level, cluster_name=name, output=settings.output
    )
    try:
        result = run_sweep(settings, reporter=reporter, runtime=runtime)
    except Exception as error:  # a bug in one cluster's sweep must not end the others
        return ClusterOutcome(name, int(ExitCode.DELETE_FAILED), f"internal error: {error}")
    finally:
        reporter.close()
        out.flush()
    return ClusterOutcome(name, result.exit_code, result.error, result.summary)


def not_swept(name: str, why: str) -> ClusterOutcome:
    """A cluster the fleet did not sweep (stopped first, or its worker died): exit 1."""
    return ClusterOutcome(name, int(ExitCode.DELETE_FAILED), why)


def run_fleet(
    settings: Settings,
    contexts: list[str],
    *,
    fleet_concurrency: int,
    runtime: Runtime,
    stream: TextIO,
    processes: bool = False,
) -> FleetResult:
    """Sweep every context, ``fleet_concurrency`` at a time (worker processes with
    ``processes``, else threads of this one); write the fleet's summary."""
    shared = LockedStream(stream, threading.Lock())
    started = runtime.monotonic()

    def own(context: str) -> Settings:
        return cluster_settings(settings, context, fleet_size=len(contexts))

    if processes:
        from sweeper.runs.fleet_workers import run_in_processes

        stream.flush()
        outcomes = tuple(
            run_in_processes(
                own,
                contexts,
                workers=fleet_concurrency,
                runtime=runtime,
                stream=shared,
                not_swept=not_swept,
            )
        )
    else:
        with ThreadPoolExecutor(fleet_concurrency, thread_name_prefix="fleet") as pool:
            outcomes = tuple(
                pool.map(
                    lambda context: sweep_cluster(
                        own(context), context, runtime=runtime, stream=shared
                    ),
                    contexts,
                )
            )
    fields = fleet_fields(
        outcomes, dry_run=settings.dry_run, duration_ms=int((runtime.monotonic() - started) * 1000)
    )
    if settings.output == "table":
        from sweeper.output.table import rollup

        shared.write("\n".join(rollup(outcomes, fields)) + "\n")
    else:
        _fleet_summary_line(shared, settings, fields)
    return FleetResult(fields["exit_code"], outcomes)


def _fleet_summary_line(
    stream: LockedStream, settings: Settings, fields: Mapping[str, Any]
) -> None:
    """The run's last line; its ``sweep_id`` is the fleet run's own, and it has no cluster."""
    out: Any = stream
    reporter = Reporter(stream=out, level=settings.log_level, sweep_id=uuid.uuid4().hex[:12])
    level = logging.INFO if fields["exit_code"] == 0 else logging.ERROR
    reporter.event(Event.FLEET_SUMMARY, "fleet sweep finished", level=level, **fields)
    reporter.close()


def error_lines(result: FleetResult) -> list[str]:
    """One stderr line per cluster that did not exit 0."""
    return [
        f"sweeper: error: cluster {o.cluster}: {one_line(o.error) if o.error else 'failed'}"
        for o in result.outcomes
        if o.exit_code != 0
    ]
