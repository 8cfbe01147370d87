"""The fake API server's handler, reached in-process instead of over HTTP.

``InProcessApi`` answers the two ``ApiClient`` calls ``KubeClient`` makes
(``param_serialize`` and ``call_api``) with a ``FakeApiServer``'s own request handling:
same state, same Status bodies, same faults and hooks, no socket. It lets the pure tests
run the real ``gather`` thousands of times a second. A fault's ``drop`` raises what
urllib3 raises for a dropped connection; its ``delay`` is ignored (nothing waits here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import urllib3

from sweeper.testing.api import ApiError, status_body
from sweeper.testing.paths import RecordedRequest
from sweeper.testing.server import GroupVersionNotServed

if TYPE_CHECKING:
    from sweeper.testing.server import FakeApiServer


@dataclass
class _Response:
    """What ``call_api`` returns: the parts of urllib3's response KubeClient reads."""

    status: int
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def read(self) -> bytes:
        return self.data


class InProcessApi:
    """An ``ApiClient`` stand-in that serves every request from ``fake`` directly."""

    def __init__(self, fake: FakeApiServer, *, extra_items: Mapping[str, list[Any]] | None = None):
        self.fake = fake
        # Items appended to the last page of a LIST of ``<group>/<Kind>``: objects no real
        # store would hold (no name, wrong types), as a broken server might still list them.
        self.extra_items = dict(extra_items or {})

    def param_serialize(
        self,
        *,
        method: str,
        resource_path: str,
        query_params: list[tuple[str, str]] | None = None,
        header_params: Mapping[str, str] | None = None,
        body: Any = None,
        auth_settings: list[str] | None = None,
    ) -> tuple[str, str, dict[str, str], bytes | None, None]:
        url = resource_path + (f"?{urlencode(query_params)}" if query_params else "")
        headers = dict(header_params or {})
        if self.fake.token:
            headers["Authorization"] = f"Bearer {self.fake.token}"
        payload = json.dumps(body).encode() if body is not None else None
        return method, url, headers, payload, None

    def call_api(
        self,
        method: str,
        url: str,
        *,
        header_params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        _request_timeout: Any = None,
    ) -> _Response:
        fake, split = self.fake, urlsplit(url)
        path, raw = split.path, body or b""
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in (header_params or {}).items()}
        fake._record(RecordedRequest(method, path, query, raw, headers))
        for action in fake._store.take_hooks(method, path):
            action(fake)
        fault = fake._store.take_fault(method, path, split.query)
        if fault is not None and fault.drop:
            raise urllib3.exceptions.ProtocolError("connection dropped (injected fault)")
        if fault is not None and fault.status is not None:
            answer = fault.body or _json(status_body(fault.status, "injected fault"))
            retry = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return _Response(fault.status, answer, retry)
        if fault is not None and fault.body is not None:
            return _Response(200, fault.body)
        if fake.token is not None and headers.get("authorization") != f"Bearer {fake.token}":
            return _Response(401, _json(status_body(401, "Unauthorized")))
        try:
            code, payload = fake._serve(method, path, query, raw)
        except GroupVersionNotServed:
            return _Response(404, b"404 page not found\n")
        except ApiError as error:
            code, payload = error.code, error.status
        return _Response(code, _json(self._with_extras(payload, query)))

    def _with_extras(self, payload: Any, query: Mapping[str, str]) -> Any:
        """A LIST's last page, with the extra items of its collection appended."""
        if not (isinstance(payload, dict) and isinstance(payload.get("items"), list)):
            return payload
        if payload.get("metadata", {}).get("continue"):
            return payload
        group = str(payload.get("apiVersion", "")).rpartition("/")[0]
        kind = str(payload.get("kind", "")).removesuffix("List")
        extras = self.extra_items.get(f"{group}/{kind}", [])
        selector = query.get("labelSelector")
        if selector:
            extras = [item for item in extras if _has_labels(item, selector)]
        return {**payload, "items": [*payload["items"], *extras]} if extras else payload


def _has_labels(item: Any, selector: str) -> bool:
    """Whether ``item`` carries every ``key=value`` of a simple equality selector."""
    meta = item.get("metadata") if isinstance(item, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    wanted = dict(term.split("=", 1) for term in selector.split(",") if "=" in term)
    return isinstance(labels, dict) and all(labels.get(k) == v for k, v in wanted.items())


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
