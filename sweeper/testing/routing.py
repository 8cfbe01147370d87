"""Request routing of the fake API server: which handler answers a method on a path.

Contract: `serve` maps (method, path, query, body) onto discovery or a `Store` verb and
returns (HTTP code, JSON-like payload), or raises `ApiError` (answered as a Status) or
`GroupVersionNotServed` (answered as Go's plain-text 404, as kube-apiserver's last handler
does). It holds no state of its own; the store's lock guards everything it reads. Stdlib only.
"""

from __future__ import annotations

import json
from typing import Any

from sweeper.testing import discovery
from sweeper.testing.api import ApiError, ResourceType, builtin_types
from sweeper.testing.paths import PathInfo, parse_path
from sweeper.testing.store import Store

_BUILTIN_GROUPS = frozenset(rt.group for rt in builtin_types(("v1", "v1beta1")))


class GroupVersionNotServed(Exception):
    """A path under an API group/version that nothing serves (answered in plain text)."""


_NOT_FOUND = "the server could not find the requested resource"
_NOT_ALLOWED = "the server does not allow this method on the requested resource"


def serve(
    store: Store,
    method: str,
    *,
    path: str,
    query: dict[str, str],
    body: bytes,
    vap_versions: tuple[str, ...],
    server_address: str,
) -> tuple[int, Any]:
    """Answer one request: (HTTP code, payload), or raise ApiError / GroupVersionNotServed."""
    info = parse_path(path)
    if info is None:
        raise ApiError(404, _NOT_FOUND)
    if info.discovery:
        if method != "GET":
            raise ApiError(405, _NOT_ALLOWED)
        try:
            return 200, discovery.document(
                path,
                types=store.served_types(),
                vap_versions=vap_versions,
                server_address=server_address,
            )
        except discovery.NotServed:
            raise GroupVersionNotServed from None
    rt = _resource_type(store, info)
    if info.name is None and method == "GET":
        return 200, store.list(rt, info.namespace, query)
    if info.name is None and method == "POST":
        dry_run = _dry_run(query.get("dryRun"), None, "CreateOptions")
        return 201, store.create_from_request(rt, info.namespace, _json(body), dry_run=dry_run)
    if info.name is not None and method == "GET":
        return 200, store.read(rt, info.namespace, info.name)
    if info.name is not None and method == "DELETE":
        options = _json(body) if body.strip() else {}
        if not isinstance(options, dict):
            raise ApiError(400, "DeleteOptions must be a JSON object")
        dry_run = _dry_run(query.get("dryRun"), options.get("dryRun"), "DeleteOptions")
        return 200, store.delete_from_request(
            rt, info.namespace, info.name, options, dry_run=dry_run
        )
    raise ApiError(405, _NOT_ALLOWED)


def _resource_type(store: Store, info: PathInfo) -> ResourceType:
    """The served type a resource path names; GroupVersionNotServed or a 404 ApiError if none."""
    served = {(rt.group, rt.version) for rt in store.served_types()}
    if (info.group or "", info.version or "") not in served:
        raise GroupVersionNotServed
    rt = store.resolve(info.group or "", info.version or "", info.resource or "")
    if rt is None and (info.group or "") not in _BUILTIN_GROUPS:
        # kube-apiserver's CRD handler hands an unknown custom resource to the same
        # plain-text not-found handler, even while other CRDs keep the group served.
        raise GroupVersionNotServed
    if (
        rt is None
        or info.subresource is not None
        or (info.namespace is not None and not rt.namespaced)
    ):
        raise ApiError(404, _NOT_FOUND)
    return rt


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
    """The decoded request body; a 400 ApiError when it is no JSON."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON body: {exc}") from exc
