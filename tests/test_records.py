"""Nothing lost: the write-ahead record, the `deleting` line, and what later sweeps do with a
restored object (tests/test_kill_midway.py kills a real sweep mid-deletion)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import CLUSTER_UID, NOW, sweep
from restore_helpers import BINDING, POLICY, restore, write

from sweeper.core import ledger
from sweeper.core.reasons import RESTORED_AT_ANNOTATION
from sweeper.core.settings import Recording
from sweeper.runs.explain import explain_command
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

RECORDS = "/api/v1/namespaces/gatekeeper-sweeper/configmaps"


def admission(server: FakeApiServer) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for kind in (POLICY, BINDING) for o in server.objects(kind)}


def records(server: FakeApiServer) -> list[dict[str, Any]]:
    return [
        o for o in server.objects("ConfigMap") if ledger.RECORD_ID_LABEL in o["metadata"]["labels"]
    ]


def test_each_manifest_is_recorded_and_logged_before_its_delete(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig)
    deleted = run.names("deleted")
    assert run.exit_code == 0 and len(deleted) == 6
    # Per object: its record's POST, then its DELETE; its deleting line before its deleted one.
    writes = [r for r in server.requests if r.method in ("POST", "DELETE")]
    for name in deleted:
        deleted_at = next(
            i for i, r in enumerate(writes) if r.method == "DELETE" and r.name == name
        )
        recorded_at = next(
            i
            for i, r in enumerate(writes)
            if r.path == RECORDS
            and json.loads(r.body)["metadata"]["annotations"][ledger.OBJECT_ANNOTATION].endswith(
                f"/{name}"
            )
        )
        assert recorded_at < deleted_at
    events = [(line["event"], line.get("object_name")) for line in run.lines]
    for name in deleted:
        assert events.index(("deleting", name)) < events.index(("deleted", name))
    stored = ledger.assemble(records(server))
    assert stored.incomplete == ()
    entries = [json.loads(text) for _, text in stored.entries]
    assert {e["object_name"] for e in entries} == deleted
    deleting = {line["object_name"]: line for line in run.events("deleting")}
    for entry in entries:
        line = deleting[entry["object_name"]]
        assert entry["manifest"] == line["manifest"] and entry["cluster_uid"] == CLUSTER_UID
        assert line["record"] == [ledger.record_id(run.lines[0]["sweep_id"], *_key(entry))]
    # Every line carries the cluster's identity, sweep_started (still the first) too.
    assert run.lines[0]["event"] == "sweep_started"
    assert {line["cluster_uid"] for line in run.lines} == {CLUSTER_UID}


def _key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return entry["object_kind"], entry["object_name"], entry["object_uid"]


@pytest.mark.parametrize(("status", "code"), [(500, 1), (403, 2)])
def test_an_unwritable_record_keeps_its_object(
    server: FakeApiServer, kubeconfig: str, status: int, code: int
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = admission(server)
    server.inject(method="POST", path="/configmaps$", status=status, times=None)
    run = sweep(kubeconfig)
    assert run.exit_code == code
    assert admission(server).keys() == before.keys()  # nothing deleted
    assert not [r for r in server.requests if r.method == "DELETE"]
    assert run.summary["record_failed"] == 6 and run.summary["deleted"] == 0
    assert not run.events("deleting")


def test_a_manifest_too_large_to_restore_is_not_deleted(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    name = "gatekeeper-k8srequiredlabels-must-have-team"
    big = server.get("admissionregistration.k8s.io/v1", BINDING, name)
    assert big is not None
    big["metadata"]["annotations"] = {"note": "x" * (ledger.MAX_MANIFEST_CHARS + 1)}
    server.replace(big)
    run = sweep(kubeconfig)
    assert run.exit_code == 1 and run.names("record_failed") == {name}
    assert "more than restore accepts" in run.events("record_failed")[0]["error"]
    assert name in admission(server)


def test_a_large_manifest_is_split_and_restored_whole(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    seed_sample_cluster(server, now=NOW)
    name = "gatekeeper-k8srequiredlabels-must-have-team"
    big = server.get("admissionregistration.k8s.io/v1", BINDING, name)
    assert big is not None
    big["metadata"]["annotations"] = {"note": "x" * (ledger.CHUNK_CHARS + 1000)}
    server.replace(big)
    assert sweep(kubeconfig, min_age=timedelta(0)).exit_code == 0
    parts = [o for o in records(server) if o["data"][ledger.PARTS_KEY] == "2"]
    assert len(parts) == 2
    assert all(len(json.dumps(o["data"])) < 1024 * 1024 for o in parts)  # a ConfigMap's limit
    run = restore(server.write_kubeconfig(tmp_path / "k"), from_cluster=True)
    assert run.code == 0
    back = server.get("admissionregistration.k8s.io/v1", BINDING, name)
    assert back is not None and back["metadata"]["annotations"]["note"] == "x" * (
        ledger.CHUNK_CHARS + 1000
    )


def test_no_record_writes_no_configmap_and_dry_run_writes_nothing(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    dry = sweep(kubeconfig, dry_run=True)
    assert {r.method for r in server.requests} == {"GET"} and not dry.events("deleting")
    run = sweep(kubeconfig, recording=Recording(enabled=False))
    assert run.exit_code == 0 and len(run.events("deleting")) == 6
    assert all(line["record"] == [] for line in run.events("deleting"))
    assert not [r for r in server.requests if r.resource == "configmaps"]


def test_records_older_than_the_retention_are_pruned(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    sweep(kubeconfig)
    kept = {o["metadata"]["name"] for o in records(server)}
    assert len(kept) == 6
    # A day later (the records were created at T0 by the server's clock): 30d keeps them.
    later = NOW + timedelta(days=1)
    assert not sweep(kubeconfig, now=later).events("records_pruned")
    zero = sweep(
        kubeconfig, now=later + timedelta(days=400), recording=Recording(retention=timedelta(0))
    )
    assert not zero.events("records_pruned")  # 0 keeps them forever
    pruned = sweep(kubeconfig, now=NOW + timedelta(days=31))
    assert pruned.events("records_pruned")[0]["pruned"] == 6 and records(server) == []
    server.inject(method="GET", path="/configmaps$", status=403, times=None)
    failed = sweep(kubeconfig)
    assert failed.exit_code == 0 and failed.events("record_prune_failed")


def test_a_sweep_that_cannot_read_the_clusters_identity_deletes_nothing(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = admission(server)
    server.inject(method="GET", path="/namespaces/kube-system$", status=403, times=None)
    run = sweep(kubeconfig)
    assert run.exit_code == 2 and "cluster's identity" in run.summary["error"]
    assert admission(server).keys() == before.keys()
    assert not any("cluster_uid" in line for line in run.lines)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        {"status": 429, "retry_after": "1"},
        {"drop": True},
    ],
    ids=["503", "429", "lost-connection"],
)
def test_a_delete_applied_but_answered_badly_is_restorable_from_records_and_log(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path, fault: dict[str, Any]
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = admission(server)
    server.inject(method="DELETE", applied=True, times=None, **fault)
    run = sweep(kubeconfig)
    gone = before.keys() - admission(server).keys()
    assert len(gone) == 6
    assert {line["object_name"] for line in run.events("deleting")} == gone
    log = write(tmp_path, *(json.dumps(line) for line in run.lines))
    from_log = restore(kubeconfig, "--dry-run" and log, dry_run=True)
    assert (
        from_log.code == 0
        and {ln["object_name"] for ln in from_log.events("would_restore")} == gone
    )
    from_records = restore(kubeconfig, from_cluster=True)
    assert from_records.code == 0, from_records.stderr
    assert admission(server).keys() == before.keys()


def test_stdout_thrown_away_records_restore_all_and_three_sweeps_keep_them(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = admission(server)
    first = sweep(kubeconfig)  # its lines are not kept
    deleted = first.names("deleted")
    run = restore(kubeconfig, from_cluster=True)
    assert run.code == 0 and {line["object_name"] for line in run.events("restored")} == deleted
    assert admission(server).keys() == before.keys()
    for later in range(1, 4):
        again = sweep(kubeconfig, now=NOW + timedelta(hours=later))
        assert again.exit_code == 0 and not again.events("deleting")
        assert again.names("restored") == deleted and again.summary["restored"] == 6
    assert admission(server).keys() == before.keys()

    name = "gatekeeper-k8sallowedrepos-audit-only"  # not-wanted: its owner lives
    out = _explain(kubeconfig, name)
    assert "held: restored (not-wanted)" in out and "restored by sweeper restore at " in out
    assert f"kubectl annotate vapb {name} {RESTORED_AT_ANNOTATION}-" in out
    # Released by a person: the next sweep decides it as any other object.
    obj = admission(server)[name]
    del obj["metadata"]["annotations"][RESTORED_AT_ANNOTATION]
    server.replace(obj)
    assert name in sweep(kubeconfig).names("deleted")


def _explain(kubeconfig: str, *names: str) -> str:
    import io

    from sweeper.cli.options import decision_settings

    out, err = io.StringIO(), io.StringIO()
    settings = decision_settings(
        {
            "kubeconfig": kubeconfig,
            "context": None,
            "insecure_skip_tls_verify": False,
            "request_timeout": timedelta(seconds=5),
            "min_age": timedelta(0),
            "output": "text",
        }
    )
    code = explain_command(names, settings, out=out, err=err)
    return f"{code}\n{out.getvalue()}{err.getvalue()}"


def test_explain_of_a_deleted_object_reads_the_records(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig)
    name = "gatekeeper-k8srequiredlabels-must-have-team"
    sweep_id = run.lines[0]["sweep_id"]
    out = _explain(kubeconfig, name)
    assert out.startswith("0\n"), out
    assert "deleted: " in out and f"by sweep {sweep_id} (owner-deleted" in out
    assert f"sweeper restore --from-cluster --name {name} --sweep-id {sweep_id}" in out
    assert _explain(kubeconfig, "never-existed").startswith("2\n")


def test_a_record_denied_by_an_admission_policy_keeps_the_object(
    server: FakeApiServer, kubeconfig: str
) -> None:
    """A binding whose policy matches ConfigMaps (seen on a real API server: a leftover
    K8sRequiredLabels over every kind denies the record of its own deletion) keeps the
    object: fail closed, its line names the binding."""
    seed_sample_cluster(server, now=NOW)
    leftover = "gatekeeper-k8srequiredlabels-must-have-team"  # a candidate of the sweep
    message = (
        "configmaps \"x\" is forbidden: ValidatingAdmissionPolicy 'gatekeeper-k8srequiredlabels'"
        f" with binding '{leftover}' denied request: missing required label"
    )
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 422}
    body = json.dumps({**status, "message": message, "reason": "Invalid"}).encode()
    server.inject(method="POST", path="/configmaps$", status=422, body=body, times=None)
    run = sweep(kubeconfig)
    assert run.exit_code == 1 and run.summary["deleted"] == 0
    assert len(run.events("record_failed")) == 6
    assert all(leftover in line["error"] for line in run.events("record_failed"))
