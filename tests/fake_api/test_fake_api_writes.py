"""The fake API server's GET, DELETE and POST answer like kube-apiserver: Status shapes, delete
preconditions, 409 on duplicates, namespaced Events, dry runs that change nothing, server-filled
fields on create, and Deployments."""

from __future__ import annotations

from api_calls import ADM, VAPB_PATH, binding, call

from sweeper.testing import FakeApiServer


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


# --- writes as kube-apiserver answers them, Deployments ---
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


def test_a_policy_without_validations_is_refused_like_kube_apiserver(server) -> None:
    """Found by the parity test on a real API server (v1.36): a VAP needs a validation or an
    audit annotation; the fake stored one with neither."""
    path = f"/apis/{ADM}/v1/validatingadmissionpolicies"
    empty = {"metadata": {"name": "p"}, "spec": {"validations": [], "failurePolicy": "Fail"}}
    status, _, body = call(server, "POST", path, empty)
    assert (status, body["reason"]) == (422, "Invalid")
    assert [c["field"] for c in body["details"]["causes"]] == [
        "spec.validations",
        "spec.auditAnnotations",
    ]
    audited = {**empty, "spec": {"auditAnnotations": [{"key": "k", "valueExpression": "'v'"}]}}
    assert call(server, "POST", path, audited)[0] == 201
