"""Discovery documents of the fake API server, shaped as kube-apiserver serves them.

Contract: pure functions of the served resource types, no state and no I/O. Only the
legacy (unaggregated) documents exist: kube-apiserver answers those too when a client
(kubectl, client-go) lists them after the aggregated form in its Accept header. Stdlib only.
"""

from __future__ import annotations

from typing import Any

from sweeper.testing.api import CORE, ResourceType, api_group


class NotServed(LookupError):
    """The discovery path names a group or version nothing serves."""


def version_info(vap_versions: tuple[str, ...]) -> dict[str, Any]:
    """`/version`: the minor release that serves the configured VAP versions."""
    minor = "30" if "v1" in vap_versions else "28" if vap_versions else "27"
    return {
        "major": "1",
        "minor": minor,
        "gitVersion": f"v1.{minor}.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z",
        "goVersion": "go1.22.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def group_types(types: list[ResourceType]) -> dict[str, list[ResourceType]]:
    """Served types by group, groups in first-served order."""
    groups: dict[str, list[ResourceType]] = {}
    for rt in types:
        groups.setdefault(rt.group, []).append(rt)
    return groups


def root_paths(groups: dict[str, list[ResourceType]]) -> dict[str, Any]:
    """`/`: the paths kube-apiserver lists (the served group/versions and a few roots)."""
    paths = {"/api", "/api/v1", "/apis", "/version"}
    for group, types in groups.items():
        if group != CORE:
            paths.add(f"/apis/{group}")
            paths.update(f"/apis/{rt.api_version}" for rt in types)
    return {"paths": sorted(paths)}


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list(groups: dict[str, list[ResourceType]]) -> dict[str, Any]:
    """`/apis`: every served named group."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [api_group(group, types) for group, types in groups.items() if group != CORE],
    }


def resource_entry(rt: ResourceType) -> dict[str, Any]:
    """One APIResource; empty shortNames/categories are left out (omitempty)."""
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def resource_list(types: list[ResourceType], version: str) -> dict[str, Any]:
    """`/api/v1` or `/apis/GROUP/VERSION`: the resources of one group/version."""
    resources = sorted((rt for rt in types if rt.version == version), key=lambda r: r.plural)
    if not resources:
        raise NotServed(version)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": resources[0].api_version,
        "resources": [resource_entry(rt) for rt in resources],
    }


def document(
    path: str, *, types: list[ResourceType], vap_versions: tuple[str, ...], server_address: str
) -> dict[str, Any]:
    """The discovery document at `path`; NotServed for a group or version nobody serves."""
    parts = [p for p in path.split("/") if p]
    groups = group_types(types)
    if parts == ["version"]:
        return version_info(vap_versions)
    if not parts:
        return root_paths(groups)
    if parts == ["apis"]:
        return api_group_list(groups)
    if parts[0] == "api" and len(parts) <= 2:
        if len(parts) == 1:
            return api_versions(server_address)
        return resource_list(groups.get(CORE, []), parts[1])
    if parts[0] == "apis" and len(parts) in (2, 3) and parts[1] in groups:
        if len(parts) == 2:
            return api_group(parts[1], groups[parts[1]])
        return resource_list(groups[parts[1]], parts[2])
    raise NotServed(path)
