"""A fleet's clusters swept in worker processes, so that a fleet uses every core.

Contract: ``workers`` processes each take the next cluster, run its whole sweep (its own
client, deadline, lines and ``sweep_summary``) and send back its lines and its outcome;
this process is the only writer of the stream, so lines never interleave mid-line, and it
merges the outcomes. The workers are forked from a ``forkserver`` that has imported the
sweeper once (a fresh, single-threaded process: forking the caller, which may run threads,
is not safe). A stop (SIGINT/SIGTERM here, or to a worker) is shared: each running sweep
ends cleanly with its summary, and clusters not yet started are not swept. A worker that
dies is that cluster's failure, never the others'.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from sweeper.core.settings import Settings

POLL_SECONDS = 0.1  # how often the parent looks at the stop signal and at dead workers
_PRELOAD = ["sweeper.runs.fleet"]


@dataclass(frozen=True)
class Job:
    """What a worker needs to sweep one cluster (picklable)."""

    index: int
    context: str
    settings: Settings


class _LineSender:
    """A worker's stream: each ``write`` goes to the parent whole, in order."""

    def __init__(self, results: Any, index: int) -> None:
        self._results, self._index = results, index

    def write(self, text: str) -> int:
        if text:
            self._results.put(("line", self._index, text))
        return len(text)

    def flush(self) -> None:
        """Every write was sent already."""


def _worker(jobs: Any, results: Any, stop: Any, runtime: Any) -> None:
    """One worker process: sweep clusters until told there are no more."""
    from sweeper.runs.fleet import sweep_cluster  # imported by the forkserver already

    for sig in (signal.SIGINT, signal.SIGTERM):  # a stop ends the sweep cleanly
        signal.signal(sig, lambda *_: stop.set())
    own = replace(runtime, stop=stop)
    while (job := jobs.get()) is not None:
        results.put(("start", job.index, None))
        outcome = sweep_cluster(
            job.settings, job.context, runtime=own, stream=_LineSender(results, job.index)
        )
        results.put(("done", job.index, outcome))


def run_in_processes(
    settings_for: Callable[[str], Settings],
    contexts: list[str],
    *,
    workers: int,
    runtime: Any,
    stream: TextIO,
    not_swept: Callable[[str, str], Any],
) -> list[Any]:
    """Each context's outcome, in order; lines written to ``stream`` as workers send them."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    jobs, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    for index, context in enumerate(contexts):
        jobs.put(Job(index, context, settings_for(context)))
    count = min(workers, len(contexts))
    for _ in range(count):
        jobs.put(None)
    # The parent's stop Event cannot cross into a process; the workers share their own.
    portable = replace(runtime, stop=None)
    procs = [
        ctx.Process(
            target=_worker,
            args=(jobs, results, stop, portable),
            name=f"sweeper-fleet-{i}",
        )
        for i in range(count)
    ]
    for proc in procs:
        proc.start()
    outcomes: list[Any] = [None] * len(contexts)
    started: dict[int, bool] = {}
    try:
        while any(outcome is None for outcome in outcomes):
            if runtime.stop.is_set():
                stop.set()
            alive = any(proc.is_alive() for proc in procs)
            try:  # looked at after is_alive: a worker's last messages are in before it ends
                kind, index, value = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not alive:
                    _settle_lost(outcomes, contexts, started, not_swept)
                continue
            if kind == "line":
                stream.write(value)
                stream.flush()
            elif kind == "start":
                started[index] = True
            else:
                outcomes[index] = value
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():  # never leave a worker behind
                proc.kill()
                proc.join()
        with contextlib.suppress(Exception):
            jobs.close()
            results.close()
    return outcomes


def _settle_lost(
    outcomes: list[Any],
    contexts: list[str],
    started: dict[int, bool],
    not_swept: Callable[[str, str], Any],
) -> None:
    """Every worker is gone: what no worker reported on is failed (started) or not swept."""
    for index, outcome in enumerate(outcomes):
        if outcome is None:
            why = (
                "its worker process ended during the sweep"
                if started.get(index)
                else ("stopped before the sweep")
            )
            outcomes[index] = not_swept(contexts[index], why)
