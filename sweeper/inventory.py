"""Gather: one immutable snapshot of everything a sweep decides on.

Bindings and policies are listed FIRST, then the CRDs, templates and constraints, so an
owner created while the sweep runs is seen (safety invariant 3). Every list records
whether it completed; a failed list never reads as "absent". Objects are kept as compact
records holding only the fields decisions need. Gather reads; it never deletes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeper import gatekeeper as gk
from sweeper.kube import ApiError, KubeClient
from sweeper.records import (
    BINDING_KIND,
    POLICY_KIND,
    AdmissionObject,
    ConstraintKind,
    ConstraintRecord,
    TemplateRecord,
    admission_object,
    constraint_kind,
    constraint_record,
    served_version,
    template_record,
)

ADMISSION_GROUP = "admissionregistration.k8s.io"
BINDINGS = "validatingadmissionpolicybindings"
POLICIES = "validatingadmissionpolicies"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class Presence(enum.Enum):
    """Whether a CRD is served: proven present, proven absent (404), or not known."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ListStatus:
    """How one list went: items seen, complete or not, and the error that cut it short."""

    path: str
    count: int = 0
    error: str | None = None
    status: int | None = None  # the HTTP status that failed it, if one did

    @property
    def complete(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Inventory:
    """What the cluster holds, and how sure we are of it."""

    vap_version: str
    bindings: tuple[AdmissionObject, ...] = ()
    policies: tuple[AdmissionObject, ...] = ()
    lists: Mapping[str, ListStatus] = field(default_factory=dict)
    template_crd: Presence = Presence.UNKNOWN
    kinds: Mapping[str, Presence] = field(default_factory=dict)  # lower kind -> its CRD
    templates: Mapping[str, TemplateRecord] = field(default_factory=dict)
    constraints: Mapping[tuple[str, str], ConstraintRecord] = field(default_factory=dict)
    template_version: str | None = None  # served version of the template CRD
    constraint_paths: Mapping[str, str] = field(default_factory=dict)  # lower kind -> list path

    def complete(self, name: str) -> bool:
        """True only when the named list ran and finished."""
        status = self.lists.get(name)
        return status is not None and status.complete

    @property
    def failed_lists(self) -> tuple[ListStatus, ...]:
        return tuple(status for status in self.lists.values() if not status.complete)


def admission_path(version: str, resource: str, name: str | None = None) -> str:
    base = f"/apis/{ADMISSION_GROUP}/{version}/{resource}"
    return f"{base}/{name}" if name else base


def constraints_list_name(kind: str) -> str:
    """The key of a constraint kind's list in ``Inventory.lists``."""
    return f"constraints/{kind.lower()}"


# --- gathering (I/O) -------------------------------------------------------------------


def discover_vap_version(client: KubeClient) -> str | None:
    """``v1`` if the cluster serves VAP bindings there, else ``v1beta1``, else None.

    Discovery may only tell what is served; it never proves that an object is absent.
    """
    for version in ("v1", "v1beta1"):
        path = f"/apis/{ADMISSION_GROUP}/{version}"
        # admissionregistration.k8s.io/v1 (webhooks) is served by every supported
        # Kubernetes: a 404 there means this is not the API server (a wrong proxy path),
        # an error, not "nothing to do".
        document = client.get(path) if version == "v1" else client.discover(path)
        resources = document.get("resources") if document else None
        if isinstance(resources, list) and any(
            isinstance(entry, dict) and entry.get("name") == BINDINGS for entry in resources
        ):
            return version
    return None


def served_constraint_kinds(lister: _Lister) -> dict[str, ConstraintKind]:
    """Constraint kinds the API serves, by lower kind, from discovery of their group.

    Used only to prove a kind PRESENT; on any failure it records ``discovery/constraints``
    as incomplete and returns what it found, and the caller keeps the kind undecided.
    """
    name, group_path = "discovery/constraints", f"/apis/{gk.CONSTRAINTS_GROUP}"
    found: dict[str, ConstraintKind] = {}
    try:
        group = lister.client.discover(group_path)
        versions = group.get("versions") if group else []
        names = (
            [v.get("version") for v in versions if isinstance(v, dict)]
            if isinstance(versions, list)
            else []
        )
        preference = ("v1beta1", "v1", "v1alpha1")  # as gather lists labelled kinds
        for version in sorted(
            (n for n in names if isinstance(n, str)),
            key=lambda v: preference.index(v) if v in preference else len(preference),
        ):
            document = lister.client.discover(f"{group_path}/{version}") or {}
            resources = document.get("resources")
            for entry in resources if isinstance(resources, list) else []:
                kind, plural = (
                    entry.get(k) if isinstance(entry, dict) else None for k in ("kind", "name")
                )
                if isinstance(kind, str) and isinstance(plural, str) and "/" not in plural:
                    found.setdefault(kind.lower(), ConstraintKind(kind, plural, version))
    except ApiError as error:
        lister.lists[name] = ListStatus(path=group_path, error=str(error), status=error.status)
        return found
    lister.lists[name] = ListStatus(path=group_path, count=len(found))
    return found


class _Lister:
    """Runs lists, recording each one's outcome instead of raising."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.lists: dict[str, ListStatus] = {}

    def run(
        self,
        name: str,
        path: str,
        transform: Callable[[dict[str, Any]], Any],
        *,
        label_selector: str | None = None,
    ) -> list[Any]:
        try:
            items = self.client.list(path, label_selector=label_selector, transform=transform)
        except ApiError as error:
            self.lists[name] = ListStatus(path=path, error=str(error), status=error.status)
            return []
        self.lists[name] = ListStatus(path=path, count=len(items))
        return items

    def presence(self, name: str, path: str) -> tuple[Presence, dict[str, Any] | None]:
        """Whether the object at ``path`` exists, proven by GET (404 = absent)."""
        try:
            obj = self.client.get(path)
        except ApiError as error:
            self.lists[name] = ListStatus(path=path, error=str(error), status=error.status)
            return Presence.UNKNOWN, None
        self.lists[name] = ListStatus(path=path, count=0 if obj is None else 1)
        return (Presence.ABSENT, None) if obj is None else (Presence.PRESENT, obj)


def gather(client: KubeClient, *, vap_version: str) -> Inventory:
    """List bindings, policies, CRDs, templates and constraints, in that order."""
    lister = _Lister(client)
    bindings = lister.run(
        "bindings",
        admission_path(vap_version, BINDINGS),
        lambda obj: admission_object(BINDING_KIND, obj),
    )
    policies = lister.run(
        "policies",
        admission_path(vap_version, POLICIES),
        lambda obj: admission_object(POLICY_KIND, obj),
    )
    constraint_kinds = lister.run(
        "crds",
        CRD_PATH,
        constraint_kind,
        label_selector=f"{gk.CONSTRAINT_CRD_LABEL}=yes",
    )
    kinds: dict[str, Presence] = {}
    present = [entry for entry in constraint_kinds if entry is not None]
    for entry in present:
        kinds[entry.kind.lower()] = Presence.PRESENT
    template_crd, crd_object = lister.presence("template-crd", f"{CRD_PATH}/{gk.TEMPLATE_CRD_NAME}")
    templates: dict[str, TemplateRecord] = {}
    version = None
    if template_crd is Presence.PRESENT and crd_object is not None:
        version = served_version(crd_object, preferred=("v1", "v1beta1", "v1alpha1"))
        if version is None:
            lister.lists["templates"] = ListStatus(
                path=gk.TEMPLATE_CRD_NAME, error="template CRD serves no known version"
            )
        else:
            path = f"/apis/{gk.TEMPLATES_GROUP}/{version}/constrainttemplates"
            templates = dict(lister.run("templates", path, template_record))
    constraints: dict[tuple[str, str], ConstraintRecord] = {}
    paths = {entry.kind.lower(): entry.path for entry in present}
    for entry in present:
        constraints.update(
            lister.run(
                constraints_list_name(entry.kind),
                entry.path,
                lambda obj, kind=entry.kind: constraint_record(kind, obj),
            )
        )
    # A kind a binding points at but the labelled CRD list lacks is only gone once a GET
    # of its CRD answers 404 AND discovery does not serve it: a CRD is named after its
    # plural, so an unlabelled CRD with an unusual plural escapes the GET by name.
    referenced = {obj.owner.kind.lower() for obj in bindings if _constraint_owned(obj)}
    referenced |= {obj.fingerprint[0] for obj in bindings if obj.fingerprint}
    served: dict[str, ConstraintKind] | None = None
    for kind in sorted(referenced - kinds.keys()):
        presence, crd = lister.presence(f"crd/{kind}", f"{CRD_PATH}/{gk.constraint_crd_name(kind)}")
        described = constraint_kind(crd) if crd is not None else None
        if presence is Presence.ABSENT:
            if served is None:
                served = served_constraint_kinds(lister)
            described = served.get(kind)
            if described is not None:
                presence = Presence.PRESENT
            elif (
                "discovery/constraints" in lister.lists
                and not lister.lists["discovery/constraints"].complete
            ):
                presence = Presence.UNKNOWN
        kinds[kind] = presence
        if described is not None:  # present but unlabelled: list its constraints as well
            paths[kind] = described.path
            constraints.update(
                lister.run(
                    constraints_list_name(kind),
                    described.path,
                    lambda obj, kind=described.kind: constraint_record(kind, obj),
                )
            )
        elif presence is Presence.PRESENT:
            lister.lists[constraints_list_name(kind)] = ListStatus(
                path=gk.constraint_crd_name(kind), error="constraint CRD is malformed"
            )
    return Inventory(
        vap_version=vap_version,
        bindings=tuple(bindings),
        policies=tuple(policies),
        lists=lister.lists,
        template_crd=template_crd,
        kinds=kinds,
        templates=templates,
        constraints=constraints,
        template_version=version,
        constraint_paths=paths,
    )


def _constraint_owned(obj: AdmissionObject) -> bool:
    return obj.owner is not None and obj.owner.group == gk.CONSTRAINTS_GROUP
