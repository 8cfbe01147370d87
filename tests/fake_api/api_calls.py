"""Raw HTTP calls against the fake API server, and the objects they send.

The fake server's tests talk to it with http.client, not through the sweeper's client, so they
see exactly what kube-apiserver would answer: status, headers and the parsed body. Also the
fixed clock the `server` fixture of this directory runs on. Helpers only: no tests here.
"""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime
from typing import Any

from sweeper.testing import FakeApiServer

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
