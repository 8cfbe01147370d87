"""A stateful Kubernetes API server emulator over real HTTP on 127.0.0.1, for tests and demos.

Contract: answers like kube-apiserver wherever the sweeper depends on it: discovery, paginated
LIST (limit, continue, 410 Expired, selectors), GET, POST, DELETE with preconditions, Status
bodies, bearer-token auth, HTTP/1.1 keep-alive. Custom kinds are served only while their CRD
is stored; nothing is ever garbage-collected. Faults and hooks let tests script failures and
races. It listens on 127.0.0.1 only, and never talks to anything else. Stdlib only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import ssl
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sweeper.testing import discovery
from sweeper.testing.api import (
    ApiError,
    RecordedRequest,
    builtin_types,
    parse_path,
    status_body,
)
from sweeper.testing.store import Fault, Hook, Store
from sweeper.testing.tls import TlsMaterial, generate_tls

_HANDSHAKE_TIMEOUT = 10.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeApiServer, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.context = context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection; with TLS, its handshake runs here, in the connection's own
        thread, so a slow or failing client never holds up the accept loop."""
        if self.context is None:
            super().finish_request(request, client_address)
            return
        try:
            request.settimeout(_HANDSHAKE_TIMEOUT)
            secure = self.context.wrap_socket(request, server_side=True)
            secure.settimeout(None)
        except (OSError, ssl.SSLError):
            return  # a client that does not trust the CA hangs up mid-handshake: normal here
        try:
            super().finish_request(secure, client_address)
        finally:
            with contextlib.suppress(OSError):
                secure.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, dropped faults) are normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without NODELAY, Nagle plus delayed ACKs
        # add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def _handle(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        fake._record(
            RecordedRequest(
                method=self.command,
                path=split.path,
                query=query,
                body=body,
                headers={k.lower(): v for k, v in self.headers.items()},
            )
        )
        try:
            for action in fake._store.take_hooks(self.command, split.path):
                action(fake)
            fault = fake._store.take_fault(self.command, split.path, split.query)
            if fault is not None and self._apply(fault):
                return
            if (
                fake.token is not None
                and self.headers.get("Authorization") != f"Bearer {fake.token}"
            ):
                raise ApiError(401, "Unauthorized")
            code, payload = fake._serve(self.command, split.path, query, body)
        except GroupVersionNotServed:
            # kube-apiserver's last handler for a group/version nobody serves: Go's plain
            # http.NotFound, not a Status (clients must not mistake it for "object absent").
            self._send(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")
            return
        except ApiError as exc:
            code, payload = exc.code, exc.status
        except Exception:
            code, payload = 500, status_body(500, traceback.format_exc())
        self._send(code, payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _apply(self, fault: Fault) -> bool:
        """Play a fault; True when the request was answered (or dropped) by it."""
        if fault.delay:
            threading.Event().wait(fault.delay)
        if fault.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.status is not None:
            message = f"injected fault: HTTP {fault.status}"
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            # A raw body goes out with the status when both are given (e.g. a proxy's 404).
            payload = fault.body if fault.body is not None else status_body(fault.status, message)
            self._send(fault.status, payload, headers)
            return True
        if fault.body is not None:
            self._send(200, fault.body)
            return True
        return False

    def _send(
        self,
        code: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        data = (
            payload
            if isinstance(payload, bytes)
            else json.dumps(payload, separators=(",", ":")).encode()
        )
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


_BUILTIN_GROUPS = frozenset(rt.group for rt in builtin_types(("v1", "v1beta1")))


class GroupVersionNotServed(Exception):
    """A path under an API group/version that nothing serves (answered in plain text)."""


class FakeApiServer:
    """In-process kube-apiserver stand-in: real HTTP on 127.0.0.1, state in memory."""

    def __init__(
        self,
        *,
        vap_versions: tuple[str, ...] = ("v1", "v1beta1"),
        clock: Callable[[], datetime] | None = None,
        token: str | None = "test-token",
        tls: bool = True,
    ) -> None:
        self.vap_versions = tuple(vap_versions)
        self.token = token
        self.tls = tls
        self.url = ""
        self._tls: TlsMaterial | None = None
        self.requests: list[RecordedRequest] = []
        self._store = Store(vap_versions=self.vap_versions, clock=clock or _utcnow)
        self._httpd: _HTTPServer | None = None
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
        self._httpd = _HTTPServer(self, context)
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
    ) -> Fault:
        """Make matching requests misbehave: delay, then drop, or answer `status` (with a
        Kubernetes Status, or with `body` when given), or answer `body` with 200."""
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
        info = parse_path(path)
        if info is None:
            raise ApiError(404, "the server could not find the requested resource")
        if info.discovery:
            if method != "GET":
                raise ApiError(
                    405, "the server does not allow this method on the requested resource"
                )
            try:
                return 200, discovery.document(
                    path,
                    types=self._store.served_types(),
                    vap_versions=self.vap_versions,
                    server_address=self.url.partition("://")[2],
                )
            except discovery.NotServed:
                raise GroupVersionNotServed from None
        served = {(rt.group, rt.version) for rt in self._store.served_types()}
        if (info.group or "", info.version or "") not in served:
            raise GroupVersionNotServed
        rt = self._store.resolve(info.group or "", info.version or "", info.resource or "")
        if rt is None and (info.group or "") not in _BUILTIN_GROUPS:
            # kube-apiserver's CRD handler hands an unknown custom resource to the same
            # plain-text not-found handler, even while other CRDs keep the group served.
            raise GroupVersionNotServed
        if (
            rt is None
            or info.subresource is not None
            or (info.namespace is not None and not rt.namespaced)
        ):
            raise ApiError(404, "the server could not find the requested resource")
        if info.name is None and method == "GET":
            return 200, self._store.list(rt, info.namespace, query)
        if info.name is None and method == "POST":
            dry_run = _dry_run(query.get("dryRun"), None, "CreateOptions")
            return 201, self._store.create_from_request(
                rt, info.namespace, _json(body), dry_run=dry_run
            )
        if info.name is not None and method == "GET":
            return 200, self._store.read(rt, info.namespace, info.name)
        if info.name is not None and method == "DELETE":
            options = _json(body) if body.strip() else {}
            if not isinstance(options, dict):
                raise ApiError(400, "DeleteOptions must be a JSON object")
            dry_run = _dry_run(query.get("dryRun"), options.get("dryRun"), "DeleteOptions")
            return 200, self._store.delete_from_request(
                rt, info.namespace, info.name, options, dry_run=dry_run
            )
        raise ApiError(405, "the server does not allow this method on the requested resource")


def _dry_run(in_query: str | None, in_body: Any, options_kind: str) -> bool:
    """Whether a write is a dry run: `dryRun=All` in the query (kubectl, client-go) or
    `dryRun: ["All"]` in the options body; any other value is a 422 as kube-apiserver
    validates it (only "All" exists)."""
    values = ([in_query] if in_query else []) + (
        list(in_body) if isinstance(in_body, list) else [in_body] if in_body else []
    )
    for value in values:
        if value != "All":
            raise ApiError(
                422,
                f'{options_kind}.meta.k8s.io "" is invalid: dryRun: '
                f'Unsupported value: "{value}": supported values: "All"',
                reason="Invalid",
                details={"group": "meta.k8s.io", "kind": options_kind},
            )
    return bool(values)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON body: {exc}") from exc
