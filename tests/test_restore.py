"""`sweeper restore` over HTTP against the fake API server: deleted lines in, objects back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from restore_helpers import (
    delete,
    deleted_line,
    gatekeeper,
    posts,
    restore,
    stored,
    unmarked,
    write,
)

from sweeper.core.manifests import clean_manifest
from sweeper.core.restore_lines import Filters
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make

# --- the round trip ---------------------------------------------------------------------------


def test_restore_recreates_policy_then_binding_as_they_were(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding), deleted_line(policy))
    delete(server, binding, policy)
    server.clear_requests()

    run = restore(kubeconfig, log)

    assert run.code == 0 and run.stderr == ""
    for original in (policy, binding):
        back = stored(server, original)
        assert back is not None and unmarked(back) == clean_manifest(original)
        assert back["metadata"]["uid"] != original["metadata"]["uid"]  # a new object
        assert run.by_name()[original["metadata"]["name"]]["object_uid"] == back["metadata"]["uid"]
    assert [line["event"] for line in run.lines] == ["restored", "restored", "restore_summary"]
    assert [r.resource for r in posts(server)] == [  # a binding is inert without its policy
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    ]
    assert all(r.query == {} for r in posts(server))
    gets = [r.path for r in server.requests if r.method == "GET" and r.name]
    assert "/apis/templates.gatekeeper.sh/v1/constrainttemplates/k8srequiredlabels" in gets
    assert "/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels/must-have-owner" in gets
    assert run.summary | {"duration_ms": 0} == {
        **run.summary,
        "exit_code": 0,
        "dry_run": False,
        "selected": 2,
        "restored": 2,
        "exists": 0,
        "failed": 0,
        "owner_references_dropped_count": 0,
        "not_attempted": 0,
        "duration_ms": 0,
    }
    assert run.lines[0]["source_sweep_id"] == "aaaaaaaaaaaa"
    assert run.lines[0]["deleted_at"] == "2026-01-01T01:00:00.000Z"


def test_a_second_restore_reports_exists_and_overwrites_nothing(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    assert restore(kubeconfig, log).code == 0
    changed = stored(server, binding)
    assert changed is not None
    changed["spec"]["validationActions"] = ["Warn"]  # someone changed it since
    server.replace(changed)
    before = [stored(server, policy), stored(server, binding)]

    again = restore(kubeconfig, log)

    assert again.code == 0
    assert [line["event"] for line in again.lines] == ["exists", "exists", "restore_summary"]
    assert again.summary["exists"] == 2 and again.summary["restored"] == 0
    assert [stored(server, policy), stored(server, binding)] == before  # untouched


def test_dry_run_sends_dry_run_all_and_creates_nothing(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    server.clear_requests()

    run = restore(kubeconfig, log, dry_run=True)

    assert run.code == 0
    assert stored(server, policy) is None and stored(server, binding) is None
    assert [r.query for r in posts(server)] == [{"dryRun": "All"}] * 2
    # A dry run never says "restored": nothing was stored.
    assert [(line["event"], line["dry_run"]) for line in run.lines[:2]] == [
        ("would_restore", True)
    ] * 2
    assert all(line["msg"].startswith("would be restored") for line in run.lines[:2])
    # Exactly what would be sent, restore annotations included.
    assert [line["manifest"] for line in run.lines[:2]] == [
        json.loads(r.body) for r in posts(server)
    ]
    assert run.summary["dry_run"] is True
    assert (run.summary["restored"], run.summary["would_restore"]) == (0, 2)
    assert not any("object_uid" in line for line in run.lines)  # nothing was created


# --- owner references -------------------------------------------------------------------------


def test_an_owner_that_is_gone_loses_its_reference_and_the_line_says_so(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, constraint, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding, constraint)

    run = restore(kubeconfig, log)

    assert run.code == 0
    back = stored(server, binding)
    assert back is not None and "ownerReferences" not in back["metadata"]
    (line,) = run.events("restored")
    assert line["owner_references_dropped"] == [
        "K8sRequiredLabels/must-have-owner: owner not found"
    ]
    assert line["level"] == "warning"
    assert run.summary["owner_references_dropped_count"] == 1
    expected = clean_manifest(binding)
    del expected["metadata"]["ownerReferences"]
    assert unmarked(back) == expected  # nothing else differs


def test_an_owner_recreated_with_another_uid_loses_its_reference(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, constraint, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding, constraint)
    fresh = server.create(make.constraint("K8sRequiredLabels", "must-have-owner"))

    run = restore(kubeconfig, log)

    back = stored(server, binding)
    assert back is not None and "ownerReferences" not in back["metadata"]
    (dropped,) = run.events("restored")[0]["owner_references_dropped"]
    assert dropped == (
        f"K8sRequiredLabels/must-have-owner: owner re-created with another uid "
        f"({fresh['metadata']['uid']})"
    )


def test_an_owner_whose_kind_is_no_longer_served_loses_its_reference(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    template, constraint, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding, constraint, make.constraint_crd(template))

    run = restore(kubeconfig, log)

    assert run.code == 0
    assert run.events("restored")[0]["owner_references_dropped"] == [
        "K8sRequiredLabels/must-have-owner: owner kind not served"
    ]
    assert "ownerReferences" not in stored(server, binding)["metadata"]  # type: ignore[index]


def test_an_owner_that_cannot_be_read_is_dropped_with_the_error(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding)
    server.inject(method="GET", path="/must-have-owner$", status=503, times=None)

    run = restore(kubeconfig, log)

    (dropped,) = run.events("restored")[0]["owner_references_dropped"]
    assert dropped.startswith("K8sRequiredLabels/must-have-owner: owner could not be read (")
    assert "HTTP 503" in dropped
    assert run.sleeps  # retried first, on the fake clock


def test_a_reference_to_a_non_gatekeeper_owner_is_dropped_without_a_request(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, _, binding = gatekeeper(server)
    binding["metadata"]["ownerReferences"].append(
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x", "uid": "d-1"}
    )
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding)
    server.clear_requests()

    run = restore(kubeconfig, log)

    assert run.events("restored")[0]["owner_references_dropped"] == [
        "Deployment/x: not a Gatekeeper owner, so it cannot be verified"
    ]
    back = stored(server, binding)
    assert back is not None
    assert [ref["kind"] for ref in back["metadata"]["ownerReferences"]] == ["K8sRequiredLabels"]
    assert not [r for r in server.requests if r.path.startswith("/apis/apps")]


# --- selection --------------------------------------------------------------------------------


def test_filters_choose_what_is_restored(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, first = gatekeeper(server)
    second = server.create(
        make.binding(server.create(make.constraint("K8sRequiredLabels", "must-have-app")))
    )
    log = write(
        tmp_path,
        deleted_line(policy, sweep_id="111111111111", time="2026-01-01T00:30:00.000Z"),
        deleted_line(first, sweep_id="222222222222", time="2026-01-01T01:00:00.000Z"),
        deleted_line(second, sweep_id="222222222222", time="2026-01-01T01:30:00.000Z"),
    )
    delete(server, policy, first, second)

    by_sweep = restore(kubeconfig, log, filters=Filters(sweep_ids=frozenset({"222222222222"})))
    assert set(by_sweep.by_name()) == {first["metadata"]["name"], second["metadata"]["name"]}
    by_name = restore(
        kubeconfig, log, filters=Filters(names=frozenset({"gatekeeper-k8srequiredlabels"}))
    )
    assert list(by_name.by_name()) == ["gatekeeper-k8srequiredlabels"]
    assert by_name.events("restored")  # the policy was not restored by the first run
    delete(server, policy, first, second)
    until = restore(kubeconfig, log, filters=Filters(until=datetime(2026, 1, 1, 1, 0, tzinfo=UTC)))
    assert set(until.by_name()) == {policy["metadata"]["name"], first["metadata"]["name"]}


def test_of_two_objects_deleted_under_one_name_the_latest_is_restored(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    older = json.loads(json.dumps(binding))
    older["spec"]["validationActions"] = ["Warn"]
    older["metadata"]["uid"] = "an-earlier-object-of-that-name"
    log = write(
        tmp_path,
        deleted_line(binding, time="2026-01-01T01:00:00.000Z"),
        deleted_line(older, time="2026-01-01T00:00:00.000Z"),
    )
    delete(server, binding)
    run = restore(kubeconfig, log)
    assert run.summary["selected"] == 1
    assert stored(server, binding)["spec"]["validationActions"] == ["Deny"]  # type: ignore[index]


def test_two_manifests_of_one_object_are_refused_and_nothing_is_created(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    forged = json.loads(json.dumps(binding))
    forged["spec"]["validationActions"] = ["Warn"]  # same uid, a later date, another spec
    log = write(
        tmp_path,
        deleted_line(policy),
        deleted_line(binding, time="2026-01-01T01:00:00.000Z"),
        deleted_line(forged, time="2026-01-01T01:30:00.000Z"),
    )
    delete(server, policy, binding)
    server.clear_requests()
    run = restore(kubeconfig, log)
    assert run.code == 2 and "different manifests in" in run.stderr
    assert posts(server) == [] and server.requests == []  # refused before the cluster is read


def test_a_logcli_jsonl_export_on_stdin_restores(server: FakeApiServer, kubeconfig: str) -> None:
    binding = gatekeeper(server)[3]
    export = json.dumps(
        {
            "labels": {"app": "gatekeeper-sweeper"},
            "line": deleted_line(binding),
            "timestamp": "2026-01-01T01:00:00.123Z",
        }
    )
    delete(server, binding)
    run = restore(kubeconfig, "-", stdin=export + "\n")
    assert run.code == 0 and stored(server, binding) is not None


def test_a_409_that_is_not_already_exists_is_a_failure_not_exists(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding)
    server.inject(method="POST", path="validatingadmissionpolicybindings$", status=409)
    run = restore(kubeconfig, log)
    assert run.code == 1
    assert "HTTP 409" in run.events("restore_failed")[0]["error"]
