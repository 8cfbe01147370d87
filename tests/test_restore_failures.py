"""`sweeper restore` when things go wrong: refused creates, bad input, a stop signal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from restore_helpers import (
    RESTORE_TIME,
    check_line,
    delete,
    deleted_line,
    gatekeeper,
    restore,
    stored,
    write,
)

from sweeper.core.restore_lines import Filters
from sweeper.core.settings import ClusterAccess
from sweeper.runs.restore import RestoreRequest, run_restore
from sweeper.testing import FakeApiServer

# --- failures -----------------------------------------------------------------------------------


def test_a_refused_create_is_restore_failed_and_exit_1_while_the_rest_is_restored(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    server.inject(method="POST", path="validatingadmissionpolicybindings$", status=403)

    run = restore(kubeconfig, log)

    assert run.code == 1
    assert stored(server, policy) is not None and stored(server, binding) is None
    (failed,) = run.events("restore_failed")
    assert failed["object_name"] == binding["metadata"]["name"] and failed["level"] == "error"
    assert "HTTP 403" in failed["error"] and "operator's credentials" in failed["error"]
    assert run.summary["failed"] == 1 and run.summary["restored"] == 1
    assert run.summary["exit_code"] == 1 and run.summary["level"] == "error"
    assert run.stderr == (
        "sweeper: error: some objects could not be restored; see the restore_failed lines\n"
    )
    assert run.summary["error"] in run.stderr


def test_lines_that_are_not_the_sweepers_exit_2_with_one_error_each_and_nothing_sent(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "uid": "s"}}
    log = write(
        tmp_path,
        deleted_line(policy),
        "I0101 00:00:00 some other program",
        '{"level": "info", "msg": "another app"}',
        deleted_line(secret),
        "",
        "sweeper: error: some deletions failed; see the delete_failed lines",
    )
    delete(server, policy, binding)
    server.clear_requests()

    run = restore(kubeconfig, log)

    assert run.code == 2
    assert run.stderr.splitlines() == [
        f"sweeper: error: {log}:2: not a JSON log line",
        f"sweeper: error: {log}:3: not a sweeper log line "
        "(needs schema_version, sweep_id and event)",
        f"sweeper: error: {log}:4: refusing to create v1 Secret: only ValidatingAdmissionPolicy "
        "and ValidatingAdmissionPolicyBinding of admissionregistration.k8s.io/v1 or v1beta1",
        "sweeper: error: 3 input lines refused; nothing restored",
    ]
    assert server.requests == []  # not even a connection
    assert run.summary["exit_code"] == 2 and run.summary["selected"] == 0


def test_a_flood_of_bad_lines_is_cut_short_on_stderr(kubeconfig: str, tmp_path: Path) -> None:
    log = write(tmp_path, *(["not json"] * 50))
    run = restore(kubeconfig, log)
    assert run.code == 2
    assert len(run.stderr.splitlines()) == 22
    assert "... and 30 more lines like these" in run.stderr


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unreadable_file_is_one_line_naming_it(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path, kind: str
) -> None:
    good = write(tmp_path, deleted_line(gatekeeper(server)[3]))
    bad = str(tmp_path / "nope.log") if kind == "missing" else str(tmp_path)
    server.clear_requests()
    run = restore(kubeconfig, good, bad)
    assert run.code == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"sweeper: error: cannot read {bad}: ")
    assert server.requests == []


def test_no_matching_deleted_lines_exit_2(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    started = json.dumps(
        {
            "time": "2026-01-01T01:00:00.000Z",
            "level": "info",
            "msg": "x",
            "sweep_id": "a",
            "schema_version": 1,
            "event": "sweep_started",
        }
    )
    log = write(tmp_path, started, deleted_line(binding))
    run = restore(kubeconfig, log, filters=Filters(names=frozenset({"other"})))
    assert run.code == 2
    assert run.stderr == (
        "sweeper: error: no deleting or deleted lines matched (2 sweeper lines read, "
        "1 of them deleting or deleted lines before the filters)\n"
    )
    assert restore(kubeconfig, write(tmp_path, started, name="empty.log")).code == 2


def test_a_stop_signal_ends_the_restore_and_counts_what_was_not_attempted(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    import threading

    from sweeper.cluster.kube import KubeClient
    from sweeper.cluster.kubeconfig import load_configuration
    from sweeper.cluster.retry import Retrier, RetryPolicy

    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    access = ClusterAccess(kubeconfig=kubeconfig)
    stop = threading.Event()
    stop.set()  # as SIGTERM would

    def stopped_client() -> KubeClient:
        from kubernetes.client import ApiClient

        api = ApiClient(load_configuration(access, {}))
        return KubeClient(api, access=access, retrier=Retrier(RetryPolicy(), stop=stop))

    out, err = io.StringIO(), io.StringIO()
    request = RestoreRequest((log,), Filters())
    code = run_restore(
        request,
        connect=stopped_client,
        out=out,
        err=err,
        stdin=io.StringIO(),
        now=lambda: RESTORE_TIME,
    )
    assert code == 1
    (summary,) = [json.loads(text) for text in out.getvalue().splitlines()]
    check_line(summary)
    assert (summary["selected"], summary["not_attempted"], summary["restored"]) == (2, 2, 0)
    assert err.getvalue().startswith("sweeper: error: stopped by a signal")
    assert stored(server, policy) is None
