"""A stateful Kubernetes API server emulator over real HTTP on 127.0.0.1, for tests and demos.

Contract: answers like kube-apiserver wherever the sweeper depends on it: discovery, paginated
LIST (limit, continue, 410 Expired, selectors), GET, POST, DELETE with preconditions, Status
bodies, bearer-token auth, HTTP/1.1 keep-alive. Custom kinds are served only while their CRD
is stored; nothing is ever garbage-collected. Faults and hooks let tests script failures and
races. It listens on 127.0.0.1 only, and never talks to anything else. Stdlib only.

This module is the object tests hold (lifecycle, state, scripting); the HTTP side is in
`handler`, the mapping of requests onto the store in `routing`, the state in `store`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sweeper.testing import routing
from sweeper.testing.faults import Fault, Hook
from sweeper.testing.handler import HttpServer
from sweeper.testing.paths import RecordedRequest
from sweeper.testing.routing import GroupVersionNotServed
from sweeper.testing.store import Store
from sweeper.testing.tls import TlsMaterial, generate_tls

# Re-exported: InProcessApi and older callers import them from here.
__all__ = ["FakeApiServer", "GroupVersionNotServed", "RecordedRequest"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FakeApiServer:
    """In-process kube-apiserver stand-in: real HTTP on 127.0.0.1, state in memory."""

    def __init__(
        self,
        *,
        vap_versions: tuple[str, ...] = ("v1", "v1beta1"),
        clock: Callable[[], datetime] | None = None,
        token: str | None = "test-token",
        tls: bool = True,
        cluster_uid: str | None = None,
    ) -> None:
        self.vap_versions = tuple(vap_versions)
        self.token = token
        self.tls = tls
        self.url = ""
        self._tls: TlsMaterial | None = None
        self.requests: list[RecordedRequest] = []
        self._store = Store(vap_versions=self.vap_versions, clock=clock or _utcnow)
        # Every cluster has kube-system; its uid is the cluster's identity (cluster_uid).
        self.cluster_uid = cluster_uid or str(uuid.uuid4())
        self._store.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "kube-system", "uid": self.cluster_uid},
            }
        )
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    def start(self) -> FakeApiServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("FakeApiServer already started")
        context = None
        if self.tls:
            self._tls = generate_tls()
            context = self._tls.server_context()
        self._httpd = HttpServer(self, context)
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-apiserver-{self.url}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every kept-alive connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with httpd.connections_lock:
            open_connections = list(httpd.connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_pem(self) -> bytes | None:
        """PEM of the CA that signed this server's certificate (None over plain HTTP)."""
        return self._tls.ca_pem if self._tls is not None else None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context that trusts this server's CA (None over plain HTTP)."""
        return self._tls.client_context() if self._tls is not None else None

    def write_kubeconfig(
        self, path: str | os.PathLike[str], *, context: str = "fake", token: str | None = None
    ) -> str:
        """Write a kubeconfig (JSON, valid YAML) pointing at this server, trusting its CA and
        carrying its bearer token; mode 0600 (it holds a credential); returns the path."""
        token = token if token is not None else self.token
        cluster: dict[str, Any] = {"server": self.url}
        if self._tls is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self._tls.ca_pem).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": {"token": token} if token else {}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # O_CREAT's mode applies to new files only
        with open(fd, "w", encoding="utf-8") as fh:
            json.dump(config, fh, indent=2)
        return os.fspath(path)

    # --- state ---
    def create(self, obj: dict[str, Any], *, force: bool = False) -> dict[str, Any]:
        """Store a copy, assigning uid, resourceVersion and creationTimestamp when absent.

        ValueError for an unknown apiVersion/kind (custom kinds need their CRD unless force)
        or a duplicate name."""
        return self._store.create(obj, force=force)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Overwrite a stored object (KeyError if absent); new resourceVersion, uid kept."""
        return self._store.replace(obj)

    def delete(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> None:
        """Remove an object with no preconditions (KeyError if absent)."""
        self._store.delete(api_version, kind, name, namespace=namespace)

    def get(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """A copy of the stored object (as stored, any version of the group) or None."""
        return self._store.get(api_version, kind, name, namespace=namespace)

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Copies of all stored objects of this kind, sorted by name."""
        return self._store.objects(kind)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._store.lock:
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._store.lock:
            self.requests.append(request)

    # --- scripting ---
    def inject(
        self,
        *,
        method: str = "*",
        path: str = ".*",
        status: int | None = None,
        retry_after: str | None = None,
        body: bytes | None = None,
        drop: bool = False,
        delay: float = 0.0,
        times: int | None = 1,
        query: str | None = None,
        applied: bool = False,
    ) -> Fault:
        """Make matching requests misbehave: delay, then drop, or answer `status` (with a
        Kubernetes Status, or with `body` when given), or answer `body` with 200. With
        `applied`, the request is served for real first (a write whose answer is lost)."""
        return self._store.add_fault(
            Fault(
                method=method,
                path=path,
                query=query,
                status=status,
                retry_after=retry_after,
                body=body,
                drop=drop,
                delay=delay,
                times=times,
                owner=self._store,
                applied=applied,
            )
        )

    def on_request(
        self,
        *,
        method: str,
        path: str,
        action: Callable[[FakeApiServer], None],
        times: int | None = 1,
    ) -> None:
        """Run action(self) before serving a matching request (state lock not held)."""
        with self._store.lock:
            self._store.hooks.append(Hook(method.upper(), path, action, times))

    def expire_continue_tokens(self) -> None:
        """Every continue token issued so far answers 410 Expired from now on."""
        self._store.expire_continue_tokens()

    # --- HTTP semantics ---
    def _serve(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        """Answer one request (the handler's and InProcessApi's entry point): see routing.serve."""
        return routing.serve(
            self._store,
            method,
            path=path,
            query=query,
            body=body,
            vap_versions=self.vap_versions,
            server_address=self.url.partition("://")[2],
        )
