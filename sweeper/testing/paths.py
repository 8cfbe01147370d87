"""Request paths of the Kubernetes API as kube-apiserver lays them out, and the request log.

Contract: pure parsing, no state and no I/O. `parse_path` names what a path addresses (a
discovery document, a collection, an object, a subresource) or refuses it (None);
`RecordedRequest` is one logged request and derives its Kubernetes verb from method, path
and query the way kube-apiserver's request-info resolver does. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sweeper.testing.api import CORE

_DISCOVERY_ROOTS = frozenset({"version", "openapi", "healthz", "livez", "readyz"})


@dataclass(frozen=True)
class PathInfo:
    """What a request path names: a discovery document or a resource (collection or object)."""

    discovery: bool
    group: str | None = None
    version: str | None = None
    namespace: str | None = None
    resource: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_path(path: str) -> PathInfo | None:
    """Split an API path into its parts; None when it is not an API path."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] in _DISCOVERY_ROOTS:
        return PathInfo(discovery=True)
    if parts[0] == "api":
        if len(parts) <= 2:
            version = parts[1] if len(parts) > 1 else None
            return PathInfo(discovery=True, group=CORE, version=version)
        group, version, rest = CORE, parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) <= 3:
            return PathInfo(
                discovery=True,
                group=parts[1] if len(parts) > 1 else None,
                version=parts[2] if len(parts) > 2 else None,
            )
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return PathInfo(
        discovery=False,
        group=group,
        version=version,
        namespace=namespace,
        resource=rest[0],
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
    )


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it (faulted ones included)."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]

    @property
    def _info(self) -> PathInfo | None:
        return parse_path(self.path)

    @property
    def verb(self) -> str:
        """Kubernetes verb: list, get, create, delete, watch, update, patch, discovery..."""
        info = self._info
        if info is None:
            return "unknown"
        if info.discovery:
            return "discovery"
        if info.name is None:
            if self.method == "GET":
                return "watch" if self.query.get("watch") in ("1", "true") else "list"
            return {"POST": "create", "DELETE": "deletecollection"}.get(self.method, "unknown")
        return {
            "GET": "get",
            "DELETE": "delete",
            "PUT": "update",
            "PATCH": "patch",
            "POST": "create",
        }.get(self.method, "unknown")

    @property
    def group(self) -> str | None:
        """API group ("" for core), None for root discovery paths."""
        info = self._info
        return info.group if info else None

    @property
    def version(self) -> str | None:
        """API version, when the path has one."""
        info = self._info
        return info.version if info else None

    @property
    def resource(self) -> str | None:
        """Plural resource name; None for discovery."""
        info = self._info
        return info.resource if info else None

    @property
    def namespace(self) -> str | None:
        """Namespace of a namespaced path, else None."""
        info = self._info
        return info.namespace if info else None

    @property
    def name(self) -> str | None:
        """Object name of a named path, else None."""
        info = self._info
        return info.name if info else None
