"""The fault suite: each API fault injected into a sweep of the sample cluster.

Every test asserts zero wrong deletions (only the sample's known leftovers may go) and
the documented exit code. The README's fault table points at these tests by name.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from helpers import NOW, T0, SweepRun, sweep

from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster

LEFTOVERS = {
    "gatekeeper-k8srequiredlabels-must-have-team",
    "gatekeeper-k8sdisallowedtags-no-latest",
    "gatekeeper-k8sdisallowedtags",
    "gatekeeper-k8sblocknodeport",
    "gatekeeper-k8sallowedrepos-audit-only",
    "gatekeeper-prod-repos",
}
BINDINGS_LIST = r"/validatingadmissionpolicybindings$"
KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


@pytest.fixture
def cluster(server: FakeApiServer) -> FakeApiServer:
    seed_sample_cluster(server, now=NOW)
    return server


def names(server: FakeApiServer) -> set[str]:
    return {o["metadata"]["name"] for kind in KINDS for o in server.objects(kind)}


def swept(server: FakeApiServer, kubeconfig: str, **changes: object) -> tuple[SweepRun, set]:
    """Sweep; assert nothing but known leftovers went; return the run and what went."""
    before = names(server)
    run = sweep(kubeconfig, **changes)
    gone = before - names(server)
    assert gone <= LEFTOVERS, f"wrongly deleted: {gone - LEFTOVERS}"
    assert gone == run.names("deleted") | run.names("already_gone")
    return run, gone


@pytest.mark.parametrize("retry_after", ["4", None], ids=["with-retry-after", "without"])
def test_429_is_retried(cluster: FakeApiServer, kubeconfig: str, retry_after: str | None) -> None:
    cluster.inject(path=BINDINGS_LIST, status=429, retry_after=retry_after, times=2)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 0 and gone == LEFTOVERS
    if retry_after:
        assert run.time.sleeps[:2] == [4.0, 4.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_bursts_on_every_verb_are_retried(
    cluster: FakeApiServer, kubeconfig: str, status: int
) -> None:
    for method in ("GET", "DELETE"):
        cluster.inject(method=method, status=status, times=3)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 0 and gone == LEFTOVERS


def test_dropped_connections_are_retried(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(method="GET", drop=True, times=2)
    cluster.inject(method="DELETE", drop=True, times=2)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 0 and gone == LEFTOVERS


def test_slow_response_past_request_timeout_is_retried(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    cluster.inject(path=BINDINGS_LIST, delay=0.4, times=1)
    run, gone = swept(cluster, kubeconfig, request_timeout=0.1)
    assert run.exit_code == 0 and gone == LEFTOVERS


def test_always_slow_list_fails_closed(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(path=r"/constrainttemplates$", delay=0.2, times=None)
    run, gone = swept(cluster, kubeconfig, request_timeout=0.05)
    assert run.exit_code == 4
    # Policies need the templates list: all undecided. Bindings whose owner is provably
    # gone without templates still go; "not-wanted" needs the templates: undecided.
    assert "gatekeeper-k8sdisallowedtags" in run.names("undecided")
    assert "gatekeeper-k8sallowedrepos-audit-only" in run.names("undecided")
    assert gone == {
        "gatekeeper-k8srequiredlabels-must-have-team",
        "gatekeeper-k8sdisallowedtags-no-latest",
    }


def test_410_mid_pagination_restarts_the_list(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.on_request(
        method="GET", path=BINDINGS_LIST, action=lambda s: s.expire_continue_tokens(), times=2
    )
    run, gone = swept(cluster, kubeconfig, page_size=2)
    assert run.exit_code == 0 and gone == LEFTOVERS


def _page(resource_version: str) -> bytes:
    return json.dumps(
        {
            "kind": "ValidatingAdmissionPolicyBindingList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": resource_version},
            "items": [],
        }
    ).encode()


@pytest.mark.parametrize(("times", "code"), [(1, 0), (None, 4)], ids=["once", "always"])
def test_inconsistent_page_sequence_restarts_then_fails_closed(
    cluster: FakeApiServer, kubeconfig: str, times: int | None, code: int
) -> None:
    cluster.inject(path=BINDINGS_LIST, query="continue=", body=_page("999999"), times=times)
    run, gone = swept(cluster, kubeconfig, page_size=3)
    assert run.exit_code == code
    if code == 4:  # no binding is touched; policies are decided without the bindings list
        assert gone == {"gatekeeper-k8sdisallowedtags", "gatekeeper-k8sblocknodeport"}
        assert "list failed 3 times" in run.events("list_failed")[0]["error"]
    else:
        assert gone == LEFTOVERS


def test_403_names_verb_and_resource_and_exits_2(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(path=r"/k8srequiredlabels$", status=403, times=None)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 2
    error = run.result.error
    assert error.startswith("list /apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels:")
    assert "HTTP 403" in error and "forbidden" in error and "\n" not in error
    assert "gatekeeper-k8srequiredlabels-must-have-team" not in gone
    assert "gatekeeper-k8sdisallowedtags-no-latest" in gone  # decidable without that list


def test_401_exits_2_and_deletes_nothing(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(status=401, times=None)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 2 and gone == set()
    assert "unauthorized" in run.result.error


def test_malformed_json_fails_the_list_closed(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(path=r"/constrainttemplates$", body=b'{"items": [{"metadata": ', times=None)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 4
    assert "not valid JSON" in run.events("list_failed")[0]["error"]
    assert "gatekeeper-k8sblocknodeport" not in gone


def test_objects_missing_fields_are_undecided(cluster: FakeApiServer, kubeconfig: str) -> None:
    gone_owner = make.constraint("K8sRequiredLabels", "ghost", uid="ghost-uid")
    broken = [make.binding(gone_owner) for _ in range(4)]
    broken[0]["metadata"].update(
        name="no-uid", resourceVersion="1", creationTimestamp="2026-01-01T00:00:00Z"
    )
    broken[1]["metadata"].update(
        name="bad-time", uid="u1", resourceVersion="1", creationTimestamp="yesterday"
    )
    broken[2]["metadata"].update(name=12, uid="u2", resourceVersion="1")
    broken[3] = {"kind": "ValidatingAdmissionPolicyBinding", "metadata": "not an object"}
    listed = cluster.objects("ValidatingAdmissionPolicyBinding") + broken
    body = {
        "kind": "ValidatingAdmissionPolicyBindingList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "5"},
        "items": listed,
    }
    cluster.inject(path=BINDINGS_LIST, body=json.dumps(body).encode(), times=1)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 4
    assert {"no-uid", "bad-time"} <= run.names("undecided")
    assert gone == LEFTOVERS  # the well-formed leftovers still go
    assert not [r for r in cluster.requests if r.verb == "delete" and r.name == "no-uid"]


def test_tls_failure_is_one_line_and_exit_4(cluster: FakeApiServer, tmp_path) -> None:
    cluster.write_kubeconfig(tmp_path / "kc")
    config = json.loads((tmp_path / "kc").read_text())
    # The server's certificate is signed by its own CA: without that CA, verification fails.
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    (tmp_path / "kc").write_text(json.dumps(config))
    run, gone = swept(cluster, str(tmp_path / "kc"))
    assert run.exit_code == 4 and gone == set()
    assert "TLS" in run.result.error and "\n" not in run.result.error


def test_sweep_timeout_ends_cleanly_with_a_summary(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(path=BINDINGS_LIST, status=429, retry_after="5", times=None)
    run, gone = swept(cluster, kubeconfig, timeout=timedelta(seconds=8))
    assert run.exit_code == 4 and gone == set()
    assert run.summary["interrupted"] is True
    assert "timeout" in run.summary["error"]


def test_timeout_while_deleting_stops_the_rest(cluster: FakeApiServer, kubeconfig: str) -> None:
    cluster.inject(method="DELETE", status=429, retry_after="5", times=None)
    run, gone = swept(cluster, kubeconfig, timeout=timedelta(seconds=12), concurrency=1)
    assert run.exit_code == 1 and gone == set()
    assert run.summary["interrupted"] is True
    assert len(run.events("interrupted")) + len(run.events("delete_failed")) == 6


def test_secrets_never_reach_the_logs(tmp_path) -> None:
    secret = "s3cr3t-token-0123456789"
    with FakeApiServer(clock=lambda: T0, token=secret) as server:
        seed_sample_cluster(server, now=NOW)
        good = sweep(server.write_kubeconfig(tmp_path / "good"))
        bad = sweep(server.write_kubeconfig(tmp_path / "bad", token="wrong-" + secret))
    assert good.exit_code == 0 and bad.exit_code == 2
    text = json.dumps(good.lines + bad.lines) + (bad.result.error or "")
    assert secret not in text and str(tmp_path) not in json.dumps(good.lines)


@pytest.mark.parametrize("method", ["DELETE", "GET"], ids=["on-delete", "on-recheck"])
def test_403_while_deleting_is_a_configuration_error(
    cluster: FakeApiServer, kubeconfig: str, method: str
) -> None:
    # The DELETE of a binding, or the re-check GET of a named constraint (not its list).
    path = r"/validatingadmissionpolicybindings/.+" if method == "DELETE" else r"/v1beta1/k8s\w+/.+"
    cluster.inject(method=method, path=path, status=403, times=None)
    run, _ = swept(cluster, kubeconfig)
    assert run.exit_code == 2
    assert "HTTP 403" in run.result.error
    failed = run.events("delete_failed")
    assert failed and all("403" in line["error"] for line in failed)
    if method == "GET":
        assert {line["msg"] for line in failed} == {
            "re-check before the DELETE failed; not deleted"
        }


def test_log_level_never_hides_the_first_and_last_lines(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    before = names(cluster)
    run = sweep(kubeconfig, log_level="error")
    assert run.exit_code == 0 and before - names(cluster) == LEFTOVERS
    assert [line["event"] for line in run.lines] == ["sweep_started", "sweep_summary"]
    assert run.summary["deleted"] == len(LEFTOVERS)


def test_a_server_answering_404_to_everything_is_not_an_empty_cluster(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    """A wrong proxy path must not read as 'no VAP API, nothing to do'."""
    cluster.inject(status=404, body=b"<html>not found</html>", times=None)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 4 and gone == set()
    assert not run.events("nothing_to_do")


def _gone_binding(server: FakeApiServer) -> str:
    return next(
        o["metadata"]["name"]
        for o in server.objects("ValidatingAdmissionPolicyBinding")
        if o["metadata"]["name"].endswith("must-have-team")
    )


def test_a_delete_whose_answer_was_lost_is_reported_deleted(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    name = _gone_binding(cluster)

    def delete_then_owner_returns(s: FakeApiServer) -> None:
        s.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", name)
        s.create(make.constraint("K8sRequiredLabels", "must-have-team"))

    cluster.on_request(method="DELETE", path=name, action=delete_then_owner_returns)
    cluster.inject(method="DELETE", path=name, status=504, times=1)
    run, gone = swept(cluster, kubeconfig)
    assert name in gone
    (line,) = [line for line in run.events("deleted") if line["object_name"] == name]
    assert "answer was lost" in line["msg"]
    assert not run.events("owner_back")


def test_delete_retries_keep_to_their_time_budget(cluster: FakeApiServer, kubeconfig: str) -> None:
    name = _gone_binding(cluster)
    cluster.inject(method="DELETE", path=name, status=503, retry_after="30", times=None)
    run, _ = swept(cluster, kubeconfig)
    assert run.exit_code == 1 and run.names("delete_failed") == {name}
    assert len([r for r in cluster.requests if r.verb == "delete" and r.name == name]) == 3
    assert run.time.sleeps == [30.0, 30.0]  # 60 s of retries, then it gives up


def test_owner_crd_gone_between_gather_and_recheck_still_proves_the_owner_gone(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    """The group stops being served (plain-text 404); the CRD's own 404 is the proof."""
    name = _gone_binding(cluster)

    def remove_kind(s: FakeApiServer) -> None:
        s.delete(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "k8srequiredlabels.constraints.gatekeeper.sh",
        )

    cluster.on_request(method="GET", path=r"/k8srequiredlabels/must-have-team$", action=remove_kind)
    run, gone = swept(cluster, kubeconfig)
    assert name in gone and run.exit_code == 0


def test_a_refused_delete_then_gone_is_already_gone_not_ours(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    """A 429 was never processed: if the object is gone afterwards, someone else did it."""
    name = _gone_binding(cluster)
    cluster.on_request(
        method="DELETE",
        path=name,
        action=lambda s: s.delete(
            "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", name
        ),
    )
    cluster.inject(method="DELETE", path=name, status=429, times=1)
    run, gone = swept(cluster, kubeconfig)
    assert name in gone and name in run.names("already_gone")


def test_when_the_look_after_a_failed_delete_fails_the_delete_error_is_reported(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    name = _gone_binding(cluster)
    cluster.inject(method="DELETE", path=name, status=504, times=1)
    # Once the DELETE has failed, the next read of the object (the look) fails too.
    cluster.on_request(
        method="DELETE",
        path=name,
        action=lambda fake: fake.inject(method="GET", path=f"/{name}$", status=503, times=1),
    )
    run, _ = swept(cluster, kubeconfig)
    (line,) = [x for x in run.events("delete_failed") if x["object_name"] == name]
    assert line["msg"] == "delete failed" and "HTTP 504" in line["error"]


def test_a_json_not_found_for_the_admission_api_is_still_an_error(
    cluster: FakeApiServer, kubeconfig: str
) -> None:
    body = b'{"kind": "Status", "apiVersion": "v1", "reason": "NotFound", "code": 404}'
    cluster.inject(status=404, body=body, times=None)
    run, gone = swept(cluster, kubeconfig)
    assert run.exit_code == 4 and gone == set() and not run.events("nothing_to_do")
