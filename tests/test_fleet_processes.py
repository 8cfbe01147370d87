"""A fleet in worker processes: each cluster's sweep in a process, its lines whole on the one
stream, the parent merging the summaries; a stop ends the workers cleanly."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from helpers import NOW, T0, settings_for
from test_fleet import LEFTOVERS

from sweeper.output import logschema
from sweeper.runs.fleet import run_fleet
from sweeper.runs.sweep import Runtime
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster


def _two_clusters(tmp_path: Path, clean: FakeApiServer, dirty: FakeApiServer) -> str:
    clean.create(make.template_crd())
    seed_sample_cluster(dirty, now=NOW)
    files = [
        server.write_kubeconfig(tmp_path / name, context=name)
        for name, server in (("clean", clean), ("dirty", dirty))
    ]
    return os.pathsep.join(files)


def test_worker_processes_write_whole_lines_and_the_parent_merges(tmp_path: Path) -> None:
    with FakeApiServer(clock=lambda: T0) as clean, FakeApiServer(clock=lambda: T0) as dirty:
        kubeconfig = _two_clusters(tmp_path, clean, dirty)
        stream = io.StringIO()
        result = run_fleet(
            settings_for(kubeconfig, dry_run=True),
            ["clean", "dirty", "dirty"],
            fleet_concurrency=2,
            runtime=Runtime(environ={}),  # crosses into the workers: no lambdas
            stream=stream,
            processes=True,
        )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        logschema.check(line)
    summaries = [line for line in lines if line["event"] == "sweep_summary"]
    fleet = lines[-1]
    assert result.exit_code == 0 and fleet["event"] == "fleet_summary"
    assert sorted(s["cluster"] for s in summaries) == ["clean", "dirty", "dirty"]
    assert fleet["would_delete"] == sum(s["would_delete"] for s in summaries) == 2 * LEFTOVERS
    assert fleet["listed_bindings"] == sum(s["listed_bindings"] for s in summaries)
    # Each cluster's lines arrive in order: its summary is its last line.
    for outcome in result.outcomes:
        assert outcome.summary is not None and outcome.exit_code == 0


def test_sigterm_stops_every_worker_and_the_fleet_exits_1(tmp_path: Path) -> None:
    with FakeApiServer(clock=lambda: T0) as clean, FakeApiServer(clock=lambda: T0) as dirty:
        kubeconfig = _two_clusters(tmp_path, clean, dirty)
        first_delete = threading.Event()
        dirty.on_request(method="DELETE", path=".*", action=lambda _: first_delete.set())
        dirty.inject(method="DELETE", delay=0.5, times=None)
        argv = ["sweep", "--kubeconfig", kubeconfig, "--min-age", "0", "--concurrency", "1"]
        argv += ["--context", "dirty", "--context", "clean", "--fleet-concurrency", "1"]
        process = subprocess.Popen(
            [sys.executable, "-m", "sweeper", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
            start_new_session=True,
        )
        try:
            assert first_delete.wait(timeout=60), "the fleet never reached a DELETE"
            process.send_signal(signal.SIGTERM)
            # communicate() returns only once every process holding stdout (the workers,
            # the forkserver) has ended.
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    fleet = lines[-1]
    assert fleet["event"] == "fleet_summary" and fleet["failed_clusters"] == ["dirty", "clean"]
    dirty_summary = next(x for x in lines if x["event"] == "sweep_summary")
    assert dirty_summary["cluster"] == "dirty" and dirty_summary["interrupted"] is True
    assert sum(1 for x in lines if x["event"] == "deleted") == 1  # the DELETE in flight
    assert "cluster clean: stopped before the sweep" in stderr  # never started
    sent = [r for r in dirty.requests if r.verb == "delete"]
    assert len(sent) == 1
