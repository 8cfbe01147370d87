"""Kubernetes Events as an end-of-sweep notice: one per deletion in the sweeper's namespace,
warnings for failed deletions, none in a dry run or without the flag, and a failure to send
them changes nothing."""

from __future__ import annotations

from pathlib import Path

from helpers import NOW, sweep
from notifying import DELETED

from sweeper.output.notices import DEFAULT_EVENTS_NAMESPACE, events_namespace
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

# --- Kubernetes Events ---------------------------------------------------------------------


def test_events_one_per_deletion_in_the_sweeper_namespace(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    uids = {
        o["metadata"]["name"]: o["metadata"]["uid"]
        for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
        for o in server.objects(kind)
    }
    run = sweep(kubeconfig, events=True, events_namespace="ops")
    assert run.exit_code == 0
    events = server.objects("Event")
    assert len(events) == DELETED
    deleted = {line["object_name"]: line for line in run.events("deleted")}
    for event in events:
        involved = event["involvedObject"]
        line = deleted[involved["name"]]
        assert event["metadata"]["namespace"] == "ops"
        assert (event["type"], event["reason"]) == ("Normal", "DanglingDeleted")
        assert involved["kind"] == line["object_kind"]
        assert involved["uid"] == uids[involved["name"]]
        assert involved["apiVersion"] == "admissionregistration.k8s.io/v1"
        # The API server only accepts an Event about a cluster-scoped object outside
        # "default" when involvedObject.namespace names the Event's own namespace.
        assert involved["namespace"] == "ops"
        assert line["reason"] in event["message"] and line["owner_name"] in event["message"]
        assert event["reportingComponent"] == event["source"]["component"] == "gatekeeper-sweeper"
    posts = [r for r in server.requests if r.method == "POST" and r.resource != "configmaps"]
    assert {r.path for r in posts} == {"/api/v1/namespaces/ops/events"}


def test_failed_deletions_get_warning_events(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="DELETE", status=422, times=None)
    run = sweep(kubeconfig, events=True, events_namespace="ops")
    assert run.exit_code == 1
    events = server.objects("Event")
    assert {(e["type"], e["reason"]) for e in events} == {("Warning", "DanglingDeleteFailed")}
    assert {e["involvedObject"]["name"] for e in events} == run.names("delete_failed")


def test_no_events_in_a_dry_run_nor_without_the_flag(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    sweep(kubeconfig, events=True, dry_run=True)
    assert {r.method for r in server.requests} == {"GET"}
    sweep(kubeconfig)
    assert not [r for r in server.requests if r.resource == "events"]


def test_an_event_failure_is_logged_and_changes_nothing(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="POST", path=".*/events$", status=403, times=None)
    run = sweep(kubeconfig, events=True, events_namespace="ops")
    assert run.exit_code == 0 and run.summary["deleted"] == DELETED
    [line] = run.events("kube_events_failed")
    assert (line["events_sent"], line["events_not_sent"]) == (0, DELETED)
    assert "403" in line["error"]
    assert len([r for r in server.requests if r.resource == "events"]) == 1  # stops at the first


def test_events_namespace_option_then_pod_namespace_then_default(tmp_path: Path) -> None:
    pod = tmp_path / "namespace"
    assert events_namespace(None, str(pod)) == DEFAULT_EVENTS_NAMESPACE
    pod.write_text("platform-ops\n")
    assert events_namespace(None, str(pod)) == "platform-ops"
    assert events_namespace("explicit", str(pod)) == "explicit"


def test_an_event_refused_by_a_just_deleted_binding_is_retried(
    server: FakeApiServer, kubeconfig: str
) -> None:
    """kube-apiserver keeps enforcing a deleted binding for about a second: a leftover that
    fails closed refuses the sweep's first Event (seen on a real API server)."""
    seed_sample_cluster(server, now=NOW)
    denial = (
        b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":422,"reason":"Invalid",'
        b'"message":"events \\"x\\" is forbidden: ValidatingAdmissionPolicy \'gatekeeper-p\' '
        b"with binding 'gatekeeper-b' denied request: failed to configure policy\"}"
    )
    server.inject(method="POST", path=".*/events$", status=422, body=denial, times=2)
    run = sweep(kubeconfig, events=True, events_namespace="ops")
    assert not run.events("kube_events_failed")
    assert len(server.objects("Event")) == DELETED
    assert len(run.time.sleeps) >= 2
