"""A real sweep process killed mid-deletion (SIGKILL, or SIGTERM while the DELETE's answer is
lost): what it deleted is restorable from its records and from its log alone.

The fake API server's hook holds the DELETE in flight, so the signal lands exactly there.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import NOW
from restore_helpers import BINDING, POLICY, restore, write

from sweeper.core import ledger
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster


def admission(server: FakeApiServer) -> set[str]:
    return {o["metadata"]["name"] for kind in (POLICY, BINDING) for o in server.objects(kind)}


def until(check: Callable[[], bool], *, seconds: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail after ``seconds`` (a real process is waited on)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        threading.Event().wait(0.01)


def start_sweep(kubeconfig: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "sweeper", "sweep", "--kubeconfig", kubeconfig),
            *("--min-age", "0", "--concurrency", "1"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )


def hold_first_delete(server: FakeApiServer) -> tuple[threading.Event, threading.Event]:
    """(reached, release): the first DELETE waits in the server until ``release`` is set."""
    reached, release = threading.Event(), threading.Event()

    def hold(_: Any) -> None:
        reached.set()
        release.wait(60)

    server.on_request(method="DELETE", path=".*", action=hold, times=1)
    return reached, release


def assert_restorable(server: FakeApiServer, kubeconfig: str, tmp_path: Path, stdout: str) -> None:
    """What the killed sweep deleted comes back from its log, and again from its records."""
    lines = [json.loads(text) for text in stdout.splitlines()]
    deleting = {line["object_name"] for line in lines if line["event"] == "deleting"}
    gone = deleting - admission(server)
    assert gone, "the DELETE in flight took effect"
    from_log = restore(kubeconfig, write(tmp_path, *stdout.splitlines()))
    assert from_log.code == 0, from_log.stderr
    assert gone <= {line["object_name"] for line in from_log.events("restored")}
    assert gone <= admission(server)
    for name in gone:  # gone again: now the records alone
        server.delete("admissionregistration.k8s.io/v1", BINDING, name)
    from_records = restore(kubeconfig, from_cluster=True, filters=None)
    assert from_records.code == 0, from_records.stderr
    assert gone <= {line["object_name"] for line in from_records.events("restored")}
    assert gone <= admission(server)


def test_sigkill_mid_deletion(server: FakeApiServer, kubeconfig: str, tmp_path: Path) -> None:
    seed_sample_cluster(server, now=NOW)
    before = admission(server)
    reached, release = hold_first_delete(server)
    process = start_sweep(kubeconfig)
    try:
        assert reached.wait(60), "the sweep never reached a DELETE"
        process.kill()  # SIGKILL: no handler, no summary, no flush after this
        stdout, _ = process.communicate(timeout=30)
    finally:
        release.set()
        process.kill()
    assert process.returncode == -signal.SIGKILL
    until(lambda: len(admission(server)) == len(before) - 1)  # the held DELETE is served
    lines = [json.loads(text) for text in stdout.splitlines()]
    assert lines[-1]["event"] == "deleting"  # flushed before the DELETE was sent
    assert len(ledger.assemble(server.objects("ConfigMap")).entries) == 1
    assert_restorable(server, kubeconfig, tmp_path, stdout)


def test_sigterm_while_the_deletes_answer_is_lost(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = admission(server)
    reached, release = hold_first_delete(server)
    server.inject(method="DELETE", drop=True, applied=True, times=1)  # applied, answer lost
    process = start_sweep(kubeconfig)
    try:
        assert reached.wait(60), "the sweep never reached a DELETE"
        process.send_signal(signal.SIGTERM)
        release.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        release.set()
        process.kill()
    assert process.returncode == 1, stderr
    lines = [json.loads(text) for text in stdout.splitlines()]
    assert lines[-1]["event"] == "sweep_summary" and lines[-1]["interrupted"] is True
    assert len(admission(server)) == len(before) - 1
    assert_restorable(server, kubeconfig, tmp_path, stdout)
