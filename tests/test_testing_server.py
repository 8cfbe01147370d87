"""The fake API server answers like kube-apiserver where the sweeper depends on it."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeper.testing import FakeApiServer, RecordedRequest
from sweeper.testing.api import builtin_types
from sweeper.testing.store import Store

ADM = "admissionregistration.k8s.io"
VAPB_PATH = f"/apis/{ADM}/v1/validatingadmissionpolicybindings"
CT_CRD = "constrainttemplates.templates.gatekeeper.sh"
FIXED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def connect(server: FakeApiServer, timeout: float = 2.0) -> http.client.HTTPConnection:
    """A connection to the server that trusts only its CA (plain HTTP when TLS is off)."""
    scheme, _, address = server.url.partition("://")
    if scheme == "https":
        return http.client.HTTPSConnection(address, timeout=timeout, context=server.ssl_context())
    return http.client.HTTPConnection(address, timeout=timeout)


def call(
    server: FakeApiServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = "test-token",
    timeout: float = 2.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request with http.client; (status, headers, parsed JSON body or plain text)."""
    conn = connect(server, timeout)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        headers_ = {k.lower(): v for k, v in resp.getheaders()}
        if headers_.get("content-type", "").startswith("text/plain"):
            return resp.status, headers_, raw.decode()  # an unserved group/version
        return resp.status, headers_, json.loads(raw)
    finally:
        conn.close()


def binding(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{ADM}/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels},
        "spec": {"policyName": "p"},
    }


def crd(group: str, kind: str, versions: tuple[str, ...], **labels: str) -> dict[str, Any]:
    plural = kind.lower() + ("s" if group.startswith("templates") else "")
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": labels},
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": {
                "plural": plural,
                "kind": kind,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
            },
            "versions": [
                {"name": v, "served": True, "storage": i == 0} for i, v in enumerate(versions)
            ],
        },
    }


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=lambda: FIXED) as srv:
        yield srv


# --- discovery ---
@pytest.mark.parametrize(
    ("vap_versions", "served", "minor"),
    [
        (("v1", "v1beta1"), ["v1", "v1beta1"], "30"),
        (("v1beta1",), ["v1beta1"], "28"),
        ((), [], "27"),
    ],
)
def test_discovery_follows_vap_versions(
    vap_versions: tuple[str, ...], served: list[str], minor: str
) -> None:
    with FakeApiServer(vap_versions=vap_versions) as srv:
        _, _, groups = call(srv, "GET", "/apis")
        adm = next(g for g in groups["groups"] if g["name"] == ADM)
        assert adm["preferredVersion"]["version"] == "v1"
        for version in ("v1", "v1beta1"):
            status, _, doc = call(srv, "GET", f"/apis/{ADM}/{version}")
            resources = doc.get("resources", []) if isinstance(doc, dict) else []
            names = {r["name"] for r in resources}
            has_vap = "validatingadmissionpolicybindings" in names
            assert has_vap == (version in served)
            if version == "v1beta1" and version not in served:
                assert status == 404
        status, _, _ = call(srv, "GET", f"/apis/{ADM}/v1beta1/validatingadmissionpolicies")
        assert status == (200 if "v1beta1" in served else 404)
        assert call(srv, "GET", "/version")[2]["minor"] == minor


def test_core_and_group_discovery(server: FakeApiServer) -> None:
    assert call(server, "GET", "/api")[2]["versions"] == ["v1"]
    core = call(server, "GET", "/api/v1")[2]
    assert core["kind"] == "APIResourceList"
    assert {"name": "events", "namespaced": True, "kind": "Event"}.items() <= next(
        r for r in core["resources"] if r["name"] == "events"
    ).items()
    group = call(server, "GET", "/apis/apiextensions.k8s.io")[2]
    assert group["kind"] == "APIGroup"
    assert group["preferredVersion"]["groupVersion"] == "apiextensions.k8s.io/v1"
    assert call(server, "GET", "/apis/nope.example.com")[0] == 404
    assert call(server, "GET", "/apis/nope.example.com/v1")[0] == 404


# --- direct state API ---
def test_create_assigns_metadata_and_keeps_given_values(server: FakeApiServer) -> None:
    first = server.create(binding("a"))
    meta = first["metadata"]
    assert meta["creationTimestamp"] == "2024-05-06T07:08:09Z"
    assert len(meta["uid"]) == 36
    kept = server.create(
        {
            **binding("b"),
            "metadata": {"name": "b", "uid": "u-1", "creationTimestamp": "2020-01-01T00:00:00Z"},
        }
    )
    assert kept["metadata"]["uid"] == "u-1"
    assert kept["metadata"]["creationTimestamp"] == "2020-01-01T00:00:00Z"
    assert int(kept["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    with pytest.raises(ValueError):
        server.create(binding("a"))
    with pytest.raises(ValueError):
        server.create({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}})


def test_store_returns_copies_and_replace_keeps_uid(server: FakeApiServer) -> None:
    created = server.create(binding("a"))
    created["spec"]["policyName"] = "mutated"
    stored = server.get(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "a")
    assert stored is not None and stored["spec"]["policyName"] == "p"
    stored["spec"]["policyName"] = "q"
    del stored["metadata"]["uid"]
    replaced = server.replace(stored)
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(replaced["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    with pytest.raises(KeyError):
        server.replace(binding("missing"))
    server.create(binding("0-first"))
    names = [o["metadata"]["name"] for o in server.objects("ValidatingAdmissionPolicyBinding")]
    assert names == ["0-first", "a"]
    server.delete(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "a")
    assert server.get(f"{ADM}/v1beta1", "ValidatingAdmissionPolicyBinding", "a") is None
    with pytest.raises(KeyError):
        server.delete(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "a")


# --- LIST ---
def test_list_paginates_with_continue_and_remaining_count(server: FakeApiServer) -> None:
    for name in ["g", "c", "a", "e", "b", "f", "d"]:
        server.create(binding(name))
    pages, token = [], None
    while True:
        query = "?limit=3" + (f"&continue={token}" if token else "")
        status, _, page = call(server, "GET", VAPB_PATH + query)
        assert status == 200
        pages.append(page)
        token = page["metadata"].get("continue")
        if not token:
            break
    assert [[i["metadata"]["name"] for i in p["items"]] for p in pages] == [
        ["a", "b", "c"],
        ["d", "e", "f"],
        ["g"],
    ]
    assert [p["metadata"].get("remainingItemCount") for p in pages] == [4, 1, None]
    assert pages[0]["kind"] == "ValidatingAdmissionPolicyBindingList"
    assert all(
        i["apiVersion"] == f"{ADM}/v1" and i["kind"] == "ValidatingAdmissionPolicyBinding"
        for i in pages[0]["items"]
    )
    everything = call(server, "GET", VAPB_PATH)[2]
    assert len(everything["items"]) == 7 and "continue" not in everything["metadata"]
    beta = call(server, "GET", f"/apis/{ADM}/v1beta1/validatingadmissionpolicybindings")[2]
    assert beta["apiVersion"] == f"{ADM}/v1beta1"
    assert {i["apiVersion"] for i in beta["items"]} == {f"{ADM}/v1beta1"}


def test_expired_and_malformed_continue_answer_410(server: FakeApiServer) -> None:
    for name in "abcde":
        server.create(binding(name))
    token = call(server, "GET", VAPB_PATH + "?limit=2")[2]["metadata"]["continue"]
    assert call(server, "GET", f"{VAPB_PATH}?limit=2&continue={token}")[0] == 200
    server.expire_continue_tokens()
    status, _, body = call(server, "GET", f"{VAPB_PATH}?limit=2&continue={token}")
    assert status == 410
    assert body["reason"] == "Expired" and body["code"] == 410
    assert "too old to display a consistent list result" in body["message"]
    assert call(server, "GET", f"{VAPB_PATH}?limit=2&continue=garbage!")[0] == 410
    fresh = call(server, "GET", VAPB_PATH + "?limit=2")[2]["metadata"]["continue"]
    assert call(server, "GET", f"{VAPB_PATH}?limit=2&continue={fresh}")[0] == 200


@settings(max_examples=60, deadline=None)
@given(
    names=st.sets(
        st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,8}[a-z0-9])?", fullmatch=True), max_size=25
    ),
    limit=st.integers(min_value=1, max_value=8),
)
def test_pages_cover_every_name_once_in_order(names: set[str], limit: int) -> None:
    store = Store(vap_versions=("v1",), clock=lambda: FIXED)
    rt = next(t for t in builtin_types(("v1",)) if t.kind == "ValidatingAdmissionPolicyBinding")
    for name in names:
        store.create(binding(name))
    seen: list[str] = []
    query = {"limit": str(limit)}
    while True:
        page = store.list(rt, None, query)
        assert len(page["items"]) <= limit
        seen += [i["metadata"]["name"] for i in page["items"]]
        if "continue" not in page["metadata"]:
            break
        assert page["metadata"]["remainingItemCount"] == len(names) - len(seen)
        query = {"limit": str(limit), "continue": page["metadata"]["continue"]}
    assert seen == sorted(names)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=x", ["one", "two"]),
        ("app==x,tier=web", ["one"]),
        ("gatekeeper.sh/system=yes", ["three"]),
        ("app=x,app=y", []),
        ("tier=", ["two"]),
    ],
)
def test_equality_label_selectors(
    server: FakeApiServer, selector: str, expected: list[str]
) -> None:
    server.create(binding("one", app="x", tier="web"))
    server.create(binding("two", app="x", tier=""))
    server.create(binding("three", app="y", **{"gatekeeper.sh/system": "yes"}))
    server.create(binding("four"))
    status, _, body = call(server, "GET", VAPB_PATH + "?labelSelector=" + quote(selector))
    assert status == 200
    assert [i["metadata"]["name"] for i in body["items"]] == expected


@pytest.mark.parametrize(
    "query",
    [
        "labelSelector=" + quote("app!=x"),
        "labelSelector=" + quote("app in (x)"),
        "labelSelector=" + quote("!tier"),
        "fieldSelector=" + quote("metadata.name=one"),
    ],
)
def test_selectors_nothing_uses_are_refused_not_ignored(server: FakeApiServer, query: str) -> None:
    server.create(binding("one", app="x"))
    status, _, body = call(server, "GET", f"{VAPB_PATH}?{query}")
    assert (status, body["reason"]) == (400, "BadRequest")
    assert "not supported" in body["message"] or "key=value" in body["message"]


def test_label_selector_with_limit_pages_over_matches(server: FakeApiServer) -> None:
    for i in range(6):
        server.create(binding(f"b{i}", keep="yes" if i % 2 else "no"))
    body = call(server, "GET", VAPB_PATH + "?labelSelector=keep%3Dyes&limit=2")[2]
    assert [i["metadata"]["name"] for i in body["items"]] == ["b1", "b3"]
    assert "remainingItemCount" not in body["metadata"]  # kube omits it with a selector
    rest = call(
        server,
        "GET",
        VAPB_PATH + "?labelSelector=keep%3Dyes&limit=2&continue=" + body["metadata"]["continue"],
    )[2]
    assert [i["metadata"]["name"] for i in rest["items"]] == ["b5"]
    assert call(server, "GET", VAPB_PATH + "?labelSelector=%3D%3D")[0] == 400


# --- GET / DELETE / POST ---
def test_get_named_and_404_status_shape(server: FakeApiServer) -> None:
    server.create(binding("present"))
    status, _, body = call(server, "GET", VAPB_PATH + "/present")
    assert status == 200 and body["metadata"]["name"] == "present"
    status, headers, body = call(server, "GET", VAPB_PATH + "/absent")
    assert status == 404 and headers["content-type"] == "application/json"
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'validatingadmissionpolicybindings.{ADM} "absent" not found',
        "reason": "NotFound",
        "details": {"name": "absent", "group": ADM, "kind": "validatingadmissionpolicybindings"},
        "code": 404,
    }


def test_delete_preconditions(server: FakeApiServer) -> None:
    obj = server.create(binding("x"))
    uid, rv = obj["metadata"]["uid"], obj["metadata"]["resourceVersion"]
    status, _, body = call(server, "DELETE", VAPB_PATH + "/x", {"preconditions": {"uid": "other"}})
    assert status == 409 and body["reason"] == "Conflict"
    assert f"UID in precondition: other, UID in object meta: {uid}" in body["message"]
    status, _, body = call(
        server, "DELETE", VAPB_PATH + "/x", {"preconditions": {"uid": uid, "resourceVersion": "1"}}
    )
    assert status == 409
    assert (
        f"ResourceVersion in precondition: 1, ResourceVersion in object meta: {rv}"
        in (body["message"])
    )
    status, _, body = call(
        server, "DELETE", VAPB_PATH + "/x", {"preconditions": {"uid": uid, "resourceVersion": rv}}
    )
    # The VAPB store does not set ReturnDeletedObject: a Status Success names the object.
    assert status == 200 and body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": "x",
            "group": ADM,
            "kind": "validatingadmissionpolicybindings",
            "uid": uid,
        },
    }
    assert server.objects("ValidatingAdmissionPolicyBinding") == []
    assert call(server, "DELETE", VAPB_PATH + "/x")[0] == 404
    listed_rv = call(server, "GET", VAPB_PATH)[2]["metadata"]["resourceVersion"]
    assert int(listed_rv) > int(rv)


def test_post_creates_and_409_on_duplicate(server: FakeApiServer) -> None:
    status, _, body = call(server, "POST", VAPB_PATH, binding("new"))
    assert status == 201 and body["metadata"]["uid"]
    status, _, body = call(server, "POST", VAPB_PATH, binding("new"))
    assert status == 409 and body["reason"] == "AlreadyExists"
    assert call(server, "PUT", VAPB_PATH + "/new", binding("new"))[0] == 405
    assert call(server, "GET", "/not/an/api")[0] == 404


def test_events_are_namespaced(server: FakeApiServer) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "reason": "Deleted",
        "message": "gone",
    }
    status, _, body = call(server, "POST", "/api/v1/namespaces/ops/events", event)
    assert status == 201 and body["metadata"]["namespace"] == "ops"
    call(server, "POST", "/api/v1/namespaces/other/events", event)
    listed = call(server, "GET", "/api/v1/namespaces/ops/events")[2]
    assert [(i["metadata"]["namespace"], i["kind"]) for i in listed["items"]] == [("ops", "Event")]
    assert len(call(server, "GET", "/api/v1/events")[2]["items"]) == 2
    assert len(server.objects("Event")) == 2


# --- custom resources follow their CRD ---
def test_custom_kinds_served_only_while_their_crd_exists(server: FakeApiServer) -> None:
    constraint = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "K8sFoo",
        "metadata": {"name": "c1"},
        "spec": {},
    }
    with pytest.raises(ValueError):
        server.create(constraint)
    server.create(crd("templates.gatekeeper.sh", "ConstraintTemplate", ("v1", "v1beta1")))
    server.create(
        crd(
            "constraints.gatekeeper.sh",
            "K8sFoo",
            ("v1beta1", "v1"),
            **{"gatekeeper.sh/constraint": "yes"},
        )
    )
    server.create(constraint)
    path = "/apis/constraints.gatekeeper.sh/v1/k8sfoo"
    items = call(server, "GET", path)[2]["items"]
    assert [(i["metadata"]["name"], i["apiVersion"]) for i in items] == [
        ("c1", "constraints.gatekeeper.sh/v1")
    ]
    group = call(server, "GET", "/apis/constraints.gatekeeper.sh")[2]
    assert group["preferredVersion"]["version"] == "v1"
    assert call(server, "GET", "/apis/templates.gatekeeper.sh/v1/constrainttemplates")[0] == 200

    server.delete(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "k8sfoo.constraints.gatekeeper.sh"
    )
    assert call(server, "GET", path)[0] == 404
    assert call(server, "GET", path + "/c1")[0] == 404
    assert call(server, "GET", "/apis/constraints.gatekeeper.sh")[0] == 404
    assert [o["metadata"]["name"] for o in server.objects("K8sFoo")] == ["c1"]
    orphan = {**constraint, "metadata": {"name": "c2"}}
    with pytest.raises(ValueError):
        server.create(orphan)
    server.create(orphan, force=True)
    assert len(server.objects("K8sFoo")) == 2
    crds = call(server, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")[2]
    assert [i["metadata"]["name"] for i in crds["items"]] == [CT_CRD]


# --- auth ---
def test_auth_required_unless_token_is_none(server: FakeApiServer) -> None:
    status, _, body = call(server, "GET", VAPB_PATH, token=None)
    assert status == 401 and body["reason"] == "Unauthorized"
    assert call(server, "GET", VAPB_PATH, token="wrong")[0] == 401
    with FakeApiServer(token=None) as open_server:
        assert call(open_server, "GET", VAPB_PATH, token=None)[0] == 200


# --- faults ---
def test_status_fault_with_retry_after_applies_times(server: FakeApiServer) -> None:
    fault = server.inject(method="GET", path="bindings$", status=429, retry_after="7", times=2)
    for _ in range(2):
        status, headers, body = call(server, "GET", VAPB_PATH)
        assert (status, headers["retry-after"], body["reason"]) == (429, "7", "TooManyRequests")
    assert call(server, "GET", VAPB_PATH)[0] == 200
    assert fault.hits == 2
    server.inject(method="DELETE", status=503)
    assert call(server, "GET", VAPB_PATH)[0] == 200  # method does not match
    status, _, body = call(server, "DELETE", VAPB_PATH + "/x")
    assert (status, body["reason"]) == (503, "ServiceUnavailable")


def test_forever_fault_query_match_and_remove(server: FakeApiServer) -> None:
    fault = server.inject(path="bindings", query="continue=", status=500, times=None)
    assert call(server, "GET", VAPB_PATH + "?limit=1")[0] == 200
    for _ in range(3):
        assert call(server, "GET", VAPB_PATH + "?limit=1&continue=x")[0] == 500
    fault.remove()
    assert call(server, "GET", VAPB_PATH + "?limit=1&continue=x")[0] == 410
    assert fault.hits == 3


def test_drop_fault_closes_socket_and_server_survives(server: FakeApiServer) -> None:
    server.inject(path="bindings", drop=True)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(server, "GET", VAPB_PATH)
    assert call(server, "GET", VAPB_PATH)[0] == 200
    assert [r.verb for r in server.requests] == ["list", "list"]


def test_delay_fault_times_out_client_then_serves(server: FakeApiServer) -> None:
    server.inject(path="bindings", delay=0.3)
    with pytest.raises((TimeoutError, socket.timeout)):
        call(server, "GET", VAPB_PATH, timeout=0.1)
    server.inject(path="bindings", delay=0.05)
    started = time.monotonic()
    assert call(server, "GET", VAPB_PATH)[0] == 200
    assert time.monotonic() - started >= 0.05


def test_raw_body_fault(server: FakeApiServer) -> None:
    server.inject(path="bindings", body=b'{"items": [')
    conn = connect(server)
    conn.request("GET", VAPB_PATH, headers={"Authorization": "Bearer test-token"})
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("Content-Type"), resp.read()) == (
        200,
        "application/json",
        b'{"items": [',
    )
    conn.close()


def test_keep_alive_reuses_one_connection(server: FakeApiServer) -> None:
    conn = connect(server)
    headers = {"Authorization": "Bearer test-token"}
    for _ in range(3):
        conn.request("GET", VAPB_PATH, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200 and not resp.will_close
    conn.close()


# --- hooks and the request log ---
def test_on_request_hook_races_a_delete(server: FakeApiServer) -> None:
    old = server.create(binding("x"))

    def recreate(srv: FakeApiServer) -> None:
        srv.delete(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "x")
        srv.create(binding("x"))

    server.on_request(method="DELETE", path="/x$", action=recreate)
    status, _, _ = call(
        server, "DELETE", VAPB_PATH + "/x", {"preconditions": {"uid": old["metadata"]["uid"]}}
    )
    assert status == 409
    assert call(server, "DELETE", VAPB_PATH + "/x")[0] == 200  # hook ran once only
    assert server.objects("ValidatingAdmissionPolicyBinding") == []


def test_request_log_verbs_and_resources(server: FakeApiServer) -> None:
    server.create(binding("x"))
    call(server, "GET", "/apis")
    call(server, "GET", f"/apis/{ADM}/v1")
    call(server, "GET", VAPB_PATH + "?limit=5")
    call(server, "GET", VAPB_PATH + "/x")
    call(server, "POST", "/api/v1/namespaces/ns/events", {"metadata": {"name": "e"}})
    call(server, "DELETE", VAPB_PATH + "/x", {"preconditions": {"uid": "u"}})
    log = server.requests
    assert [r.verb for r in log] == ["discovery", "discovery", "list", "get", "create", "delete"]
    assert [r.resource for r in log] == [
        None,
        None,
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybindings",
        "events",
        "validatingadmissionpolicybindings",
    ]
    assert (log[2].group, log[2].version, log[2].query) == (ADM, "v1", {"limit": "5"})
    assert (log[4].group, log[4].namespace, log[3].name) == ("", "ns", "x")
    assert json.loads(log[5].body) == {"preconditions": {"uid": "u"}}
    assert log[5].headers["authorization"] == "Bearer test-token"
    assert isinstance(log[0], RecordedRequest)
    server.clear_requests()
    assert server.requests == []


# --- the official client ---
def test_official_kubernetes_client_list_and_delete(server: FakeApiServer, tmp_path: Any) -> None:
    from kubernetes import client, config

    kept = server.create(binding("keep"))
    gone = server.create(binding("gone"))
    cfg = client.Configuration()
    cfg.host, cfg.api_key, cfg.retries = server.url, {"authorization": "Bearer test-token"}, False
    assert server.ca_pem is not None
    (tmp_path / "ca.crt").write_bytes(server.ca_pem)
    cfg.ssl_ca_cert = str(tmp_path / "ca.crt")
    with client.ApiClient(cfg) as api:
        custom = client.CustomObjectsApi(api)
        resp = custom.list_cluster_custom_object(
            ADM, "v1", "validatingadmissionpolicybindings", limit=1, _preload_content=False
        )
        page = json.loads(resp.data)
        assert [i["metadata"]["name"] for i in page["items"]] == ["gone"]
        assert page["metadata"]["remainingItemCount"] == 1
        with pytest.raises(client.exceptions.ApiException) as conflict:
            custom.delete_cluster_custom_object(
                ADM,
                "v1",
                "validatingadmissionpolicybindings",
                "keep",
                body={"preconditions": {"uid": gone["metadata"]["uid"]}},
                _preload_content=False,
            )
        assert conflict.value.status == 409
        resp = custom.delete_cluster_custom_object(
            ADM,
            "v1",
            "validatingadmissionpolicybindings",
            "gone",
            body={"preconditions": {"uid": gone["metadata"]["uid"]}},
            _preload_content=False,
        )
        assert resp.status == 200
    delete = server.requests[-1]
    assert delete.verb == "delete" and "content-type" not in delete.headers
    remaining = [o["metadata"]["uid"] for o in server.objects("ValidatingAdmissionPolicyBinding")]
    assert remaining == [kept["metadata"]["uid"]]

    path = server.write_kubeconfig(tmp_path / "kubeconfig", context="ctx")
    loaded = client.Configuration()
    config.load_kube_config(config_file=path, context="ctx", client_configuration=loaded)
    assert loaded.host == server.url
    assert "Bearer test-token" in loaded.api_key.values()


def test_unserved_group_or_version_is_a_plain_text_404_like_kube_apiserver(
    server: FakeApiServer,
) -> None:
    for path in (
        "/apis/constraints.gatekeeper.sh",
        "/apis/constraints.gatekeeper.sh/v1beta1",
        "/apis/constraints.gatekeeper.sh/v1beta1/k8sfoo/x",
        "/apis/nope.example.com/v1",
    ):
        status, headers, body = call(server, "GET", path)
        assert (status, body) == (404, "404 page not found\n"), path
        assert headers["content-type"].startswith("text/plain")
    # A served group/version with an unknown resource or object: a JSON Status.
    status, _, body = call(server, "GET", "/apis/apiextensions.k8s.io/v1/nothing")
    assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"


# --- TLS, writes as kube-apiserver answers them, Deployments, discovery names ---
def test_https_with_a_fresh_ca_and_a_0600_kubeconfig(server: FakeApiServer, tmp_path) -> None:
    import base64
    import os
    import ssl

    assert server.url.startswith("https://127.0.0.1:") and server.ca_pem is not None
    path = server.write_kubeconfig(tmp_path / "kc")
    assert os.stat(path).st_mode & 0o777 == 0o600
    cluster = json.loads((tmp_path / "kc").read_text())["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == server.ca_pem
    with FakeApiServer() as other:
        assert other.ca_pem != server.ca_pem
        with pytest.raises(ssl.SSLCertVerificationError):
            conn = http.client.HTTPSConnection(
                server.url.partition("://")[2], timeout=2, context=other.ssl_context()
            )
            conn.request("GET", "/version")
    with FakeApiServer(tls=False) as plain:
        assert plain.url.startswith("http://") and plain.ca_pem is None
        assert call(plain, "GET", VAPB_PATH)[0] == 200


def test_dry_run_delete_and_create_change_nothing(server: FakeApiServer) -> None:
    obj = server.create(binding("x"))
    for query, options in (("?dryRun=All", None), ("", {"dryRun": ["All"]})):
        status, _, body = call(server, "DELETE", VAPB_PATH + "/x" + query, options)
        assert status == 200 and body["status"] == "Success"
        assert body["details"]["uid"] == obj["metadata"]["uid"]
    assert server.get(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "x") == obj
    status, _, body = call(server, "POST", VAPB_PATH + "?dryRun=All", binding("y"))
    assert status == 201 and body["metadata"]["uid"] and "resourceVersion" not in body["metadata"]
    assert call(server, "POST", VAPB_PATH + "?dryRun=All", binding("x"))[0] == 409
    status, _, body = call(server, "DELETE", VAPB_PATH + "/x?dryRun=Some")
    assert (status, body["reason"]) == (422, "Invalid")
    assert [o["metadata"]["name"] for o in server.objects("ValidatingAdmissionPolicyBinding")] == [
        "x"
    ]


def test_create_fills_server_fields_like_kube_apiserver(server: FakeApiServer) -> None:
    sent = {
        **binding("new"),
        "metadata": {"name": "new", "uid": "mine", "creationTimestamp": "2001-01-01T00:00:00Z"},
    }
    status, _, body = call(server, "POST", VAPB_PATH, sent)
    assert status == 201 and body["metadata"]["uid"] not in ("mine", "")
    assert body["metadata"]["creationTimestamp"] == "2024-05-06T07:08:09Z"
    with_rv = {**binding("rv"), "metadata": {"name": "rv", "resourceVersion": "7"}}
    status, _, body = call(server, "POST", VAPB_PATH, with_rv)
    assert status == 500 and "reason" not in body
    assert body["message"] == "resourceVersion should not be set on objects to be created"
    status, _, body = call(server, "POST", VAPB_PATH, {**binding(""), "metadata": {}})
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    status, _, body = call(server, "POST", VAPB_PATH, binding("new"))
    assert status == 409 and body["details"] == {
        "name": "new",
        "group": ADM,
        "kind": "validatingadmissionpolicybindings",
    }
    event = {"metadata": {"name": "e", "namespace": "elsewhere"}}
    assert call(server, "POST", "/api/v1/namespaces/ops/events", event)[0] == 400


def test_deployments_are_stored_listed_by_label_and_read(server: FakeApiServer) -> None:
    from sweeper.testing import objects as make

    server.create(make.gatekeeper_deployment())
    server.create(make.gatekeeper_deployment("gatekeeper-audit"))
    other = make.gatekeeper_deployment("unrelated", namespace="gatekeeper-system")
    other["metadata"]["labels"] = {"app": "other"}
    server.create(other)
    path = "/apis/apps/v1/namespaces/gatekeeper-system/deployments"
    listed = call(server, "GET", path + "?labelSelector=gatekeeper.sh%2Fsystem%3Dyes")[2]
    assert listed["kind"] == "DeploymentList"
    assert [i["metadata"]["name"] for i in listed["items"]] == [
        "gatekeeper-audit",
        "gatekeeper-controller-manager",
    ]
    status, _, body = call(server, "GET", path + "/gatekeeper-audit")
    assert status == 200 and body["spec"]["template"]["spec"]["containers"][0]["name"] == "manager"
    assert call(server, "GET", "/apis/apps/v1/namespaces/other/deployments")[2]["items"] == []


def test_discovery_carries_short_names_categories_and_verbs(server: FakeApiServer) -> None:
    from sweeper.testing import objects as make

    server.create(make.template_crd())
    template = server.create(make.template("K8sFoo", short_names=["foo"]))
    server.create(make.constraint_crd(template))
    constraints = call(server, "GET", "/apis/constraints.gatekeeper.sh/v1beta1")[2]
    assert constraints["resources"] == [
        {
            "name": "k8sfoo",
            "singularName": "k8sfoo",
            "namespaced": False,
            "kind": "K8sFoo",
            "verbs": [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ],
            "shortNames": ["foo"],
            "categories": ["constraint", "constraints"],
        }
    ]
    templates = call(server, "GET", "/apis/templates.gatekeeper.sh/v1")[2]["resources"][0]
    assert "shortNames" not in templates and "categories" not in templates
    apiext = call(server, "GET", "/apis/apiextensions.k8s.io/v1")[2]["resources"][0]
    assert (apiext["shortNames"], apiext["categories"]) == (["crd", "crds"], ["api-extensions"])
    assert "/apis/apps/v1" in call(server, "GET", "/")[2]["paths"]
    # kubectl asks for aggregated discovery first; the legacy document is its fallback.
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    status, headers, body = call(
        server, "GET", "/apis", headers={"Accept": aggregated + ",application/json"}
    )
    assert (status, headers["content-type"], body["kind"]) == (
        200,
        "application/json",
        "APIGroupList",
    )
    assert call(server, "GET", "/openapi/v2")[0] == 404


def test_demo_serve_seeds_prints_and_stops(tmp_path) -> None:
    import io
    import os
    import threading

    from helpers import sweep

    from sweeper import demo

    stop, out = threading.Event(), io.StringIO()
    kubeconfig = tmp_path / "demo.kubeconfig"
    runner = threading.Thread(
        target=demo.serve, args=(kubeconfig,), kwargs={"out": out, "stop": stop}, daemon=True
    )
    runner.start()
    try:
        for _ in range(500):
            if "Ctrl-C" in out.getvalue():
                break
            threading.Event().wait(0.01)
        text = out.getvalue()
        assert f"sweeper sweep --kubeconfig {kubeconfig} --dry-run -o table" in text
        assert "kubectl --kubeconfig" in text and "get constraints" in text
        assert os.stat(kubeconfig).st_mode & 0o777 == 0o600
        # The default --min-age (5m) lets a sweep act: the sample is an hour old.
        from datetime import timedelta

        run = sweep(str(kubeconfig), now=datetime.now(UTC), min_age=timedelta(minutes=5))
        assert run.exit_code == 0 and run.summary["deleted"] == 6
    finally:
        stop.set()
        runner.join(timeout=5)
    assert not runner.is_alive()
