"""The fake API server's auth, injected faults (statuses, drops, delays, raw bodies), keep-alive,
the on-request hook and the request log."""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest
from api_calls import ADM, VAPB_PATH, binding, call, connect

from sweeper.testing import FakeApiServer, RecordedRequest


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
