"""Clients against the fake API server: the official Kubernetes client lists and deletes through
it, it serves HTTPS with a fresh CA and writes a 0600 kubeconfig, and the demo serves a sample
cluster a sweep can act on."""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from api_calls import ADM, VAPB_PATH, binding, call

from sweeper.testing import FakeApiServer


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


# --- TLS ---
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


# --- the demo ---
def test_demo_serve_seeds_prints_and_stops(tmp_path) -> None:
    import io
    import os
    import threading

    from helpers import sweep

    from sweeper.cli import demo

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
        assert f"sweeper sweep --kubeconfig {kubeconfig} --dry-run" in text
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
