"""SIGTERM (CronJob deadline, node drain): finish the request in flight, then summarise."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

from helpers import NOW

from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster


def test_sigterm_stops_after_the_request_in_flight(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    first_delete = threading.Event()
    server.on_request(method="DELETE", path=".*", action=lambda _: first_delete.set())
    server.inject(method="DELETE", delay=0.5, times=None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sweeper",
            "sweep",
            "--kubeconfig",
            kubeconfig,
            "--min-age",
            "0",
            "--concurrency",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        assert first_delete.wait(timeout=30), "the sweep never reached a DELETE"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr and len(stderr.splitlines()) == 1
    summary = lines[-1]
    assert summary["event"] == "sweep_summary" and summary["interrupted"] is True
    deleted = {line["object_name"] for line in lines if line["event"] == "deleted"}
    interrupted = {line["object_name"] for line in lines if line["event"] == "interrupted"}
    assert len(deleted) == 1  # the DELETE in flight completed, atomically
    assert len(interrupted) == 5
    sent = [r for r in server.requests if r.verb == "delete"]
    assert len(sent) == 1 and sent[0].name in deleted
