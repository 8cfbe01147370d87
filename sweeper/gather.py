"""Gather: read the cluster into an ``Inventory``.

Bindings and policies are listed FIRST, then the CRDs, templates and constraints, so an
owner created while the sweep runs is seen (safety invariant 3). Every read records
whether it completed; a failed list never reads as "absent". Objects are kept as compact
records holding only the fields decisions need. Gather reads; it never deletes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sweeper import gatekeeper as gk
from sweeper import paths
from sweeper.inventory import Inventory, ListKey, ListStatus, Presence, Source
from sweeper.kube import ApiError, KubeClient
from sweeper.records import (
    BINDING_KIND,
    POLICY_KIND,
    AdmissionObject,
    ConstraintKind,
    ConstraintRecord,
    admission_object,
    constraint_kind,
    constraint_record,
    served_version,
    template_record,
)

T = TypeVar("T")
TEMPLATE_VERSIONS = ("v1", "v1beta1", "v1alpha1")
CONSTRAINT_VERSIONS = ("v1beta1", "v1", "v1alpha1")


def discover_vap_version(client: KubeClient) -> str | None:
    """``v1`` if the cluster serves VAP bindings there, else ``v1beta1``, else None.

    Discovery may only tell what is served; it never proves that an object is absent.
    """
    for version in ("v1", "v1beta1"):
        path = paths.admission_group(version)
        # admissionregistration.k8s.io/v1 (webhooks) is served by every supported
        # Kubernetes: a 404 there means this is not the API server (a wrong proxy path),
        # an error, not "nothing to do".
        document = client.get(path) if version == "v1" else client.discover(path)
        resources = document.get("resources") if document else None
        if isinstance(resources, list) and any(
            isinstance(entry, dict) and entry.get("name") == paths.BINDINGS for entry in resources
        ):
            return version
    return None


class _Reads:
    """Runs reads, recording each one's outcome in ``lists`` instead of raising."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.lists: dict[ListKey, ListStatus] = {}

    def failed(self, key: ListKey, path: str, error: ApiError) -> None:
        self.lists[key] = ListStatus(path=path, error=str(error), status=error.status)

    def list(
        self,
        key: ListKey,
        path: str,
        transform: Callable[[dict[str, Any]], T],
        *,
        label_selector: str | None = None,
    ) -> list[T]:
        try:
            items = self.client.list(path, label_selector=label_selector, transform=transform)
        except ApiError as error:
            self.failed(key, path, error)
            return []
        self.lists[key] = ListStatus(path=path, count=len(items))
        return items

    def presence(self, key: ListKey, path: str) -> tuple[Presence, dict[str, Any] | None]:
        """Whether the object at ``path`` exists, proven by GET (404 = absent)."""
        try:
            obj = self.client.get(path)
        except ApiError as error:
            self.failed(key, path, error)
            return Presence.UNKNOWN, None
        self.lists[key] = ListStatus(path=path, count=0 if obj is None else 1)
        return (Presence.ABSENT, None) if obj is None else (Presence.PRESENT, obj)

    def served_constraint_kinds(self) -> dict[str, ConstraintKind] | None:
        """Constraint kinds the API serves, by lower kind, from discovery; None on failure.

        Used only to prove a kind PRESENT: discovery never proves one absent on its own.
        """
        key, group_path = ListKey(Source.DISCOVERY), paths.constraints_group()
        found: dict[str, ConstraintKind] = {}
        try:
            group = self.client.discover(group_path)
            for version in _versions_by_preference(group):
                document = self.client.discover(paths.constraints_group(version)) or {}
                resources = document.get("resources")
                for entry in resources if isinstance(resources, list) else []:
                    kind, plural = (
                        entry.get(k) if isinstance(entry, dict) else None for k in ("kind", "name")
                    )
                    if isinstance(kind, str) and isinstance(plural, str) and "/" not in plural:
                        found.setdefault(kind.lower(), ConstraintKind(kind, plural, version))
        except ApiError as error:
            self.failed(key, group_path, error)
            return None
        self.lists[key] = ListStatus(path=group_path, count=len(found))
        return found


def _versions_by_preference(group: dict[str, Any] | None) -> list[str]:
    """The versions a discovery group document lists, in the order gather lists kinds."""
    versions = group.get("versions") if group else []
    names = [v.get("version") for v in versions if isinstance(v, dict)]
    order = CONSTRAINT_VERSIONS
    return sorted(
        (n for n in names if isinstance(n, str)),
        key=lambda v: order.index(v) if v in order else len(order),
    )


def gather(client: KubeClient, *, vap_version: str) -> Inventory:
    """List bindings, policies, CRDs, templates and constraints, in that order."""
    reads = _Reads(client)
    bindings = reads.list(
        ListKey(Source.BINDINGS),
        paths.admission(vap_version, paths.BINDINGS),
        lambda obj: admission_object(BINDING_KIND, obj),
    )
    policies = reads.list(
        ListKey(Source.POLICIES),
        paths.admission(vap_version, paths.POLICIES),
        lambda obj: admission_object(POLICY_KIND, obj),
    )
    labelled = reads.list(
        ListKey(Source.CRDS),
        paths.crd(),
        constraint_kind,
        label_selector=f"{gk.CONSTRAINT_CRD_LABEL}=yes",
    )
    served = {entry.kind.lower(): entry for entry in labelled if entry is not None}
    kinds = dict.fromkeys(served, Presence.PRESENT)
    template_crd, template_version, templates = _templates(reads)
    constraints: dict[tuple[str, str], ConstraintRecord] = {}
    for entry in served.values():
        constraints.update(_constraints(reads, entry))
    for kind, presence, entry in _unlisted_kinds(reads, bindings, known=kinds.keys()):
        kinds[kind] = presence
        if entry is not None:  # present but unlabelled: list its constraints as well
            served[kind] = entry
            constraints.update(_constraints(reads, entry))
    return Inventory(
        vap_version=vap_version,
        bindings=tuple(bindings),
        policies=tuple(policies),
        lists=reads.lists,
        template_crd=template_crd,
        kinds=kinds,
        templates=templates,
        constraints=constraints,
        template_version=template_version,
        constraint_kinds=served,
    )


def _templates(reads: _Reads) -> tuple[Presence, str | None, dict[str, Any]]:
    """The template CRD's presence, its served version, and the templates it serves."""
    key = ListKey(Source.TEMPLATES)
    presence, crd = reads.presence(ListKey(Source.TEMPLATE_CRD), paths.crd(gk.TEMPLATE_CRD_NAME))
    if presence is not Presence.PRESENT or crd is None:
        return presence, None, {}
    version = served_version(crd, preferred=TEMPLATE_VERSIONS)
    if version is None:
        reads.lists[key] = ListStatus(
            path=gk.TEMPLATE_CRD_NAME, error="template CRD serves no known version"
        )
        return presence, None, {}
    return presence, version, dict(reads.list(key, paths.templates(version), template_record))


def _constraints(reads: _Reads, entry: ConstraintKind) -> list[tuple[tuple[str, str], Any]]:
    return reads.list(
        ListKey.constraints(entry.kind),
        paths.constraints(entry.version, entry.plural),
        lambda obj: constraint_record(entry.kind, obj),
    )


def _unlisted_kinds(
    reads: _Reads, bindings: list[AdmissionObject], *, known: Any
) -> list[tuple[str, Presence, ConstraintKind | None]]:
    """Kinds bindings point at that the labelled CRD list lacks: present, absent or unknown.

    Such a kind is only gone once a GET of its CRD answers 404 AND discovery does not serve
    it: a CRD is named after its plural, so an unlabelled CRD with an unusual plural
    escapes the GET by name.
    """
    referenced = {
        obj.owner.kind.lower()
        for obj in bindings
        if obj.owner is not None and obj.owner.group == gk.CONSTRAINTS_GROUP
    }
    referenced |= {obj.fingerprint[0] for obj in bindings if obj.fingerprint}
    served: dict[str, ConstraintKind] | None = None
    discovered = False
    found = []
    for kind in sorted(referenced - set(known)):
        presence, crd = reads.presence(ListKey.crd(kind), paths.crd(gk.constraint_crd_name(kind)))
        entry = constraint_kind(crd) if crd is not None else None
        if presence is Presence.ABSENT:
            if not discovered:
                served, discovered = reads.served_constraint_kinds(), True
            entry = served.get(kind) if served is not None else None
            if entry is not None:
                presence = Presence.PRESENT
            elif served is None:
                presence = Presence.UNKNOWN
        elif presence is Presence.PRESENT and entry is None:
            reads.lists[ListKey.constraints(kind)] = ListStatus(
                path=gk.constraint_crd_name(kind), error="constraint CRD is malformed"
            )
        found.append((kind, presence, entry))
    return found
