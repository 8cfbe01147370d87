"""The HTTP side of the fake API server: a threading HTTP/1.1 server on 127.0.0.1 and its
request handler.

Contract: each request is logged, then its hooks run, then a matching fault plays (delay,
drop, status or raw body; an ``applied`` fault serves the request for real first), then
the bearer token is checked, then `FakeApiServer._serve` answers it; an `ApiError` becomes
its Status body, `GroupVersionNotServed` Go's plain-text 404, anything else a 500 Status
carrying the traceback. TLS handshakes run in the
connection's own thread. Open connections are tracked so `stop()` can close them. Stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sweeper.testing.api import ApiError, status_body
from sweeper.testing.faults import Fault
from sweeper.testing.paths import RecordedRequest
from sweeper.testing.routing import GroupVersionNotServed

if TYPE_CHECKING:
    from sweeper.testing.server import FakeApiServer

_HANDSHAKE_TIMEOUT = 10.0


class HttpServer(ThreadingHTTPServer):
    """The listening socket of one FakeApiServer: a thread per connection, on 127.0.0.1."""

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
    """One connection's requests, answered through the owning FakeApiServer."""

    protocol_version = "HTTP/1.1"
    server: HttpServer

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
            if fault is not None and fault.applied:
                with contextlib.suppress(ApiError, GroupVersionNotServed):
                    fake._serve(self.command, split.path, query, body)
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
