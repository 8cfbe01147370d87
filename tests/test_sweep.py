"""End-to-end sweeps against the fake API server over HTTP: state in, state and logs out."""

from __future__ import annotations

import uuid
from datetime import timedelta

from helpers import NOW, sweep
from sweeping import BINDING, POLICY, SAMPLE_LEFTOVERS, everything, names

from sweeper.core import gatekeeper as gk
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster

VAPB_V1 = "admissionregistration.k8s.io/v1"


def test_sweep_deletes_exactly_the_leftovers_and_a_second_sweep_finds_nothing(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = everything(server)
    run = sweep(kubeconfig)
    assert run.exit_code == 0
    assert run.names("deleted") == SAMPLE_LEFTOVERS
    assert everything(server) == before - SAMPLE_LEFTOVERS
    assert "gatekeeper-team-policy" in names(server, BINDING)  # a user's, not Gatekeeper's
    assert run.names("reported") == {"gatekeeper-k8srequiredlabels-must-have-cost-center"}
    summary = run.summary
    assert summary["deleted"] == 6
    assert summary["candidates_owner_deleted"] == 2
    assert summary["candidates_legacy_duplicate"] == 1
    assert summary["foreign"] == 1
    assert summary["exit_code"] == 0
    assert {line["reason"] for line in run.events("deleted")} == {
        "owner-deleted",
        "owner-kind-gone",
        "not-wanted",
        "legacy-duplicate",
    }

    again = sweep(kubeconfig)
    assert again.exit_code == 0
    assert again.summary["deleted"] == 0
    assert again.summary["candidates"] == 1  # the unowned one, reported only
    assert everything(server) == before - SAMPLE_LEFTOVERS


def test_every_delete_carries_uid_and_resource_version_preconditions(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    listed = {
        obj["metadata"]["name"]: obj["metadata"]
        for obj in server.objects(BINDING) + server.objects(POLICY)
    }
    sweep(kubeconfig)
    deletes = [r for r in server.requests if r.verb == "delete"]
    assert {r.name for r in deletes} == SAMPLE_LEFTOVERS
    for request in deletes:
        import json

        preconditions = json.loads(request.body)["preconditions"]
        assert preconditions == {
            "uid": listed[request.name]["uid"],
            "resourceVersion": listed[request.name]["resourceVersion"],
        }


def test_dry_run_sends_no_write_request(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    before = everything(server)
    run = sweep(kubeconfig, dry_run=True)
    assert run.exit_code == 0
    assert run.names("would_delete") == SAMPLE_LEFTOVERS
    assert {r.method for r in server.requests} == {"GET"}
    assert everything(server) == before
    assert run.summary["dry_run"] is True and run.summary["would_delete"] == 6


def test_min_age_leaves_young_objects_for_a_later_sweep(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, min_age=timedelta(hours=2))
    # Every candidate is held, the unowned one too (min-age is checked first).
    assert run.names("too_young") == SAMPLE_LEFTOVERS | {
        "gatekeeper-k8srequiredlabels-must-have-cost-center"
    }
    assert run.summary["deleted"] == 0 and run.exit_code == 0


def test_reads_happen_before_owners_and_bindings_first(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    sweep(kubeconfig)
    lists = [r.resource for r in server.requests if r.verb == "list"]
    assert lists[:2] == ["validatingadmissionpolicybindings", "validatingadmissionpolicies"]
    deletes = [r.resource for r in server.requests if r.verb == "delete"]
    first_policy = deletes.index("validatingadmissionpolicies")
    assert set(deletes[first_policy:]) == {"validatingadmissionpolicies"}


def test_gatekeeper_uninstalled(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    for crd in server.objects("CustomResourceDefinition"):
        server.delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"]
        )
    run = sweep(kubeconfig, max_deletions=0, max_deletion_percent=0)
    assert run.exit_code == 0
    assert everything(server) == {
        "gatekeeper-team-policy",
        "gatekeeper-k8srequiredlabels-must-have-cost-center",
    }
    assert run.summary["candidates_gatekeeper_uninstalled"] == 13


def test_guard_aborts_before_any_delete(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, max_deletions=3)
    assert run.exit_code == 3
    (trip,) = run.events("guard_tripped")
    assert trip["limit"] == "max_deletions" and trip["candidate_count"] == 6
    assert not [r for r in server.requests if r.method == "DELETE"]


def test_a_dry_run_that_trips_a_guard_lists_every_candidate(
    server: FakeApiServer, kubeconfig: str
) -> None:
    """Review with --dry-run, then raise the limit: the review shows all a real sweep would
    delete, and says where a real sweep would stop; exit 3 stays."""
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, max_deletions=2, dry_run=True)
    assert run.exit_code == 3
    (trip,) = run.events("guard_tripped")
    assert "a real sweep would stop here" in trip["msg"] and trip["candidate_count"] == 6
    assert len(run.events("would_delete")) == 6
    assert all("manifest" in line for line in run.events("would_delete"))
    assert run.summary["would_delete"] == 6
    assert {r.method for r in server.requests} == {"GET"}


def test_percent_guard(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, max_deletion_percent=20)
    assert run.exit_code == 3
    assert run.events("guard_tripped")[0]["limit"] == "max_deletion_percent"


def _one_gone_binding(server: FakeApiServer) -> dict:
    server.create(make.template_crd())
    template = server.create(make.template("K8sRequiredLabels"))
    server.create(make.constraint_crd(template))
    server.create(make.policy(template))
    gone = make.constraint("K8sRequiredLabels", "gone", uid=str(uuid.uuid4()))
    return server.create(make.binding(gone))


def test_owner_recreated_between_list_and_delete_keeps_the_binding(
    server: FakeApiServer, kubeconfig: str
) -> None:
    binding = _one_gone_binding(server)
    server.on_request(
        method="GET",
        path=r"/constraints\.gatekeeper\.sh/v1beta1/k8srequiredlabels/gone$",
        action=lambda s: s.create(make.constraint("K8sRequiredLabels", "gone")),
    )
    run = sweep(kubeconfig)
    assert run.names("owner_back") == {binding["metadata"]["name"]}
    assert binding["metadata"]["name"] in names(server, BINDING)
    assert run.exit_code == 0


def test_binding_changed_between_list_and_delete_is_left_alone(
    server: FakeApiServer, kubeconfig: str
) -> None:
    binding = _one_gone_binding(server)
    name = binding["metadata"]["name"]

    def touch(s: FakeApiServer) -> None:
        current = s.get(VAPB_V1, BINDING, name)
        current["metadata"].setdefault("labels", {})["touched"] = "yes"
        s.replace(current)

    server.on_request(method="DELETE", path=name, action=touch)
    run = sweep(kubeconfig)
    assert run.names("conflict") == {name}
    assert name in names(server, BINDING)
    assert run.exit_code == 0


def test_binding_recreated_with_new_uid_is_left_alone(
    server: FakeApiServer, kubeconfig: str
) -> None:
    binding = _one_gone_binding(server)
    name = binding["metadata"]["name"]

    def recreate(s: FakeApiServer) -> None:
        s.delete(VAPB_V1, BINDING, name)
        fresh = make.binding(make.constraint("K8sRequiredLabels", "gone", uid="new"))
        s.create(fresh)

    server.on_request(method="DELETE", path=name, action=recreate)
    run = sweep(kubeconfig)
    assert run.names("conflict") == {name}
    assert server.get(VAPB_V1, BINDING, name)["metadata"]["uid"] != binding["metadata"]["uid"]


def test_binding_deleted_by_someone_else_is_already_gone(
    server: FakeApiServer, kubeconfig: str
) -> None:
    name = _one_gone_binding(server)["metadata"]["name"]
    server.on_request(method="DELETE", path=name, action=lambda s: s.delete(VAPB_V1, BINDING, name))
    run = sweep(kubeconfig)
    assert run.names("already_gone") == {name}
    assert run.exit_code == 0 and run.summary["failed"] == 0


def test_failed_delete_exits_1(server: FakeApiServer, kubeconfig: str) -> None:
    name = _one_gone_binding(server)["metadata"]["name"]
    server.inject(method="DELETE", path=name, status=500, times=None)
    run = sweep(kubeconfig)
    assert run.exit_code == 1
    assert run.names("delete_failed") == {name}
    assert len(run.time.sleeps) == 4  # five attempts in all, no real waiting


def test_failed_constraint_list_leaves_its_kind_undecided_and_exits_4(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(
        method="GET",
        path=r"/constraints\.gatekeeper\.sh/v1beta1/k8srequiredlabels$",
        status=503,
        times=None,
    )
    run = sweep(kubeconfig)
    assert run.exit_code == 4
    assert "gatekeeper-k8srequiredlabels-must-have-team" in run.names("undecided")
    assert "gatekeeper-k8srequiredlabels-must-have-team" in names(server, BINDING)
    # What could be decided was still acted on.
    assert "gatekeeper-k8sdisallowedtags-no-latest" in run.names("deleted")
    assert len(run.events("list_failed")) == 1


def test_unreachable_server_exits_4_with_one_summary(tmp_path) -> None:
    with FakeApiServer() as gone:
        path = gone.write_kubeconfig(tmp_path / "kc")
    run = sweep(path)
    assert run.exit_code == 4
    assert "connection error" in run.summary["error"]


def test_forbidden_exits_2_naming_verb_and_resource(server: FakeApiServer, kubeconfig: str) -> None:
    server.inject(path=r"^/apis/admissionregistration", status=403, times=None)
    run = sweep(kubeconfig)
    assert run.exit_code == 2
    assert run.result.error.startswith("get /apis/admissionregistration.k8s.io/v1: HTTP 403")
    assert "forbidden" in run.result.error


def test_cluster_name_is_on_every_line(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, cluster_name="prod-eu-1")
    assert {line["cluster"] for line in run.lines} == {"prod-eu-1"}
    assert all(line["sweep_id"] == run.lines[0]["sweep_id"] for line in run.lines)


def test_large_constraint_name_truncated_binding_is_kept(
    server: FakeApiServer, kubeconfig: str
) -> None:
    server.create(make.template_crd())
    template = server.create(make.template("K8sRequiredLabels"))
    server.create(make.constraint_crd(template))
    server.create(make.policy(template))
    long_name = "team-" + "a" * 240
    c = server.create(make.constraint("K8sRequiredLabels", long_name))
    server.create(make.binding(c))
    run = sweep(kubeconfig)
    assert run.summary["candidates"] == 0
    assert gk.binding_name("K8sRequiredLabels", long_name) in names(server, BINDING)


def test_no_rate_limit_wait_falls_between_a_recheck_and_its_delete(
    server: FakeApiServer, kubeconfig: str
) -> None:
    """An owner back during such a wait would go unseen; both tokens are taken up front."""
    import io

    from helpers import FakeTime, fake_runtime, settings_for

    from sweeper.output.report import Reporter
    from sweeper.runs.sweep import run_sweep

    seed_sample_cluster(server, now=NOW)
    fake = FakeTime()
    waited_after: list[str] = []

    def sleep(seconds: float) -> None:
        waited_after.append(server.requests[-1].verb)
        fake.sleep(seconds)

    runtime = fake_runtime(fake)
    runtime.sleep = sleep
    settings = settings_for(kubeconfig, qps=1.0, burst=1, concurrency=1)
    result = run_sweep(settings, reporter=Reporter(stream=io.StringIO()), runtime=runtime)
    assert result.exit_code == 0
    assert len(waited_after) >= 5  # the limit was felt
    assert set(waited_after) <= {"list", "delete", "discovery"}, waited_after


def test_a_retried_delete_looks_at_the_owner_again_first(
    server: FakeApiServer, kubeconfig: str
) -> None:
    """The owner comes back while the first DELETE fails: the retry must see it."""
    binding = _one_gone_binding(server)
    name = binding["metadata"]["name"]
    server.inject(method="DELETE", path=name, status=503, times=1)
    server.on_request(
        method="DELETE",
        path=name,
        action=lambda s: s.create(make.constraint("K8sRequiredLabels", "gone")),
    )
    run = sweep(kubeconfig)
    assert run.names("owner_back") == {name}
    assert name in names(server, BINDING)
    deletes = [r for r in server.requests if r.verb == "delete"]
    rechecks = [r for r in server.requests if r.verb == "get" and r.path.endswith("/gone")]
    assert len(deletes) == 1 and len(rechecks) == 2
