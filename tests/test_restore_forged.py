"""Nothing forged: restore creates only what this sweeper could have deleted from this
cluster; every forged or foreign line is refused and nothing is created."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import CLUSTER_UID
from restore_helpers import BINDING, POLICY, delete, deleted_line, gatekeeper, posts, restore, write

from sweeper.core import ledger
from sweeper.core.reasons import RESTORE_ID_ANNOTATION, SKIP_ANNOTATION
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make

KIND = "K8sRequiredLabels"


def deny_everything() -> tuple[dict[str, Any], dict[str, Any]]:
    """The crafted pair: a Fail policy that denies every request, and its binding."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": POLICY,
        "metadata": {"name": "gatekeeper-deny-all", "uid": "p-1"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "resources": ["*"],
                        "operations": ["*"],
                    }
                ]
            },
            "validations": [{"expression": "false"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": BINDING,
        "metadata": {"name": "gatekeeper-deny-all", "uid": "b-1"},
        "spec": {"policyName": "gatekeeper-deny-all", "validationActions": ["Deny"]},
    }
    return policy, binding


def forged(change: str, binding: dict[str, Any]) -> dict[str, Any]:
    """A copy of a real deleted binding with one forged change."""
    obj = copy.deepcopy(binding)
    if change == "skip-annotation":
        obj["metadata"]["annotations"] = {SKIP_ANNOTATION: "true"}
    elif change == "unknown-top-level-field":
        obj["webhooks"] = [{"name": "x"}]
    elif change == "foreign-finalizer":
        obj["metadata"]["finalizers"] = ["example.com/never-done"]
    elif change == "restore-annotation":
        obj["metadata"]["annotations"] = {RESTORE_ID_ANNOTATION: "abc"}
    elif change == "binds-another-policy":
        obj["spec"]["policyName"] = "platform-critical"
    elif change == "name-its-owner-never-gives":
        obj["metadata"]["name"] = "gatekeeper-something-else"
    return obj


CHANGES = [
    "skip-annotation",
    "unknown-top-level-field",
    "foreign-finalizer",
    "restore-annotation",
    "binds-another-policy",
    "name-its-owner-never-gives",
]


def refused_and_nothing_created(server: FakeApiServer, run: Any, needle: str) -> None:
    assert run.code == 2, run.stderr
    assert needle in run.stderr, run.stderr
    assert posts(server) == []
    assert run.summary["restored"] == 0


def test_a_crafted_deny_all_pair_is_refused(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    lines = [deleted_line(obj) for obj in deny_everything()]
    run = restore(kubeconfig, write(tmp_path, *lines))
    refused_and_nothing_created(server, run, "not an object the sweeper deletes")
    assert run.stderr.count("sweeper: error: ") == 3  # one per line, then the verdict


@pytest.mark.parametrize("change", CHANGES)
def test_a_forged_line_is_refused(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path, change: str
) -> None:
    _, _, policy, binding = gatekeeper(server)
    delete(server, policy, binding)
    log = write(tmp_path, deleted_line(policy), deleted_line(forged(change, binding)))
    run = restore(kubeconfig, log)
    refused_and_nothing_created(server, run, f"{log}:2: ")


def test_a_line_larger_than_the_cap_is_refused_unread(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    big = copy.deepcopy(binding)
    big["spec"]["matchResources"] = {"note": "x" * ledger.MAX_LINE_CHARS}
    run = restore(kubeconfig, write(tmp_path, deleted_line(big)))
    refused_and_nothing_created(server, run, "line longer than")


def test_deeply_nested_json_is_bad_input(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    run = restore(kubeconfig, write(tmp_path, "[" * 200_000 + "]" * 200_000))
    refused_and_nothing_created(server, run, "nested too deeply")


def test_a_duplicate_dated_2099_does_not_beat_the_real_line(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    other = copy.deepcopy(binding)
    other["metadata"]["uid"] = "someone-elses"
    other["spec"]["validationActions"] = ["Warn"]
    log = write(
        tmp_path, deleted_line(binding), deleted_line(other, time="2099-01-01T00:00:00.000Z")
    )
    delete(server, binding)
    run = restore(kubeconfig, log)
    refused_and_nothing_created(server, run, "in the future")


def test_lines_of_another_cluster_are_refused_unless_named_on_purpose(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    objs = list(gatekeeper(server)[2:])
    for name in ("b", "c", "d", "e"):
        objs.append(server.create(make.binding(server.create(make.constraint(KIND, name)))))
    assert len(objs) == 6
    other = "another-cluster-uid"
    log = write(tmp_path, *(deleted_line(o, cluster_uid=other) for o in objs))
    delete(server, *objs)
    run = restore(kubeconfig, log)
    refused_and_nothing_created(server, run, f"deleted from cluster {other}, not this one")
    assert run.stderr.count(f"--cluster-uid {other}") == 6
    on_purpose = restore(kubeconfig, log, cluster_uid=other)
    assert on_purpose.code == 0 and on_purpose.summary["restored"] == 6
    assert {line["source_cluster_uid"] for line in on_purpose.events("restored")} == {other}
    assert {line["cluster_uid"] for line in on_purpose.lines} == {CLUSTER_UID}


def test_a_line_without_a_cluster_uid_is_refused(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    line = json.loads(deleted_line(binding))
    del line["cluster_uid"]
    delete(server, binding)
    run = restore(kubeconfig, write(tmp_path, json.dumps(line)))
    refused_and_nothing_created(server, run, "has no cluster_uid")


def test_dry_run_prints_exactly_what_would_be_created(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    delete(server, policy, binding)
    run = restore(
        kubeconfig, write(tmp_path, deleted_line(policy), deleted_line(binding)), dry_run=True
    )
    assert run.code == 0 and [line["event"] for line in run.lines] == [
        "would_restore",
        "would_restore",
        "restore_summary",
    ]
    sent = [json.loads(r.body) for r in posts(server)]
    assert [line["manifest"] for line in run.events("would_restore")] == sent
    assert server.objects(POLICY) == [] and server.objects(BINDING) == []
    assert "restored" not in {line["event"] for line in run.lines}


def test_a_lost_create_answer_is_recognised_as_ours(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    delete(server, binding)
    # The POST is stored, but its answer never arrives: the retry meets AlreadyExists.
    server.inject(method="POST", path="validatingadmissionpolicybindings$", drop=True, applied=True)
    run = restore(kubeconfig, write(tmp_path, deleted_line(binding)), restore_id="r00000000001")
    assert run.code == 0 and [line["event"] for line in run.lines[:-1]] == ["restored"]
    back = server.objects(BINDING)[0]
    assert run.lines[0]["object_uid"] == back["metadata"]["uid"]
    # Someone else's object of that name is another matter: exists.
    again = restore(kubeconfig, write(tmp_path, deleted_line(binding), name="b.log"))
    assert [line["event"] for line in again.lines[:-1]] == ["exists"]


def test_an_unreachable_cluster_fails_fast_once(tmp_path: Path) -> None:
    with FakeApiServer() as gone:
        kubeconfig = gone.write_kubeconfig(tmp_path / "k")
        _, _, policy, binding = gatekeeper(gone)
        lines = [deleted_line(o, cluster_uid=gone.cluster_uid) for o in (policy, binding)]
    run = restore(kubeconfig, write(tmp_path, *lines))
    assert run.code == 4
    assert run.stderr.count("sweeper: error: ") == 1 and "cannot read the cluster" in run.stderr
    assert run.summary["not_attempted"] == 2 and run.summary["failed"] == 0
    assert len(run.sleeps) <= 4  # one request's retries, not one set per object
