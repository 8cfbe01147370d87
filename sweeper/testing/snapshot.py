"""Build an ``Inventory`` from plain objects without HTTP, as ``gather`` would see them.

For table and property tests of the pure planner: a cluster is a list of dicts, and
``failed`` names the lists (``bindings``, ``policies``, ``crds``, ``template-crd``,
``templates``, ``constraints/<lower kind>``, ``crd/<lower kind>``,
``discovery/constraints``) that should read as cut short.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sweeper import gatekeeper as gk
from sweeper.inventory import Inventory, ListStatus, Presence, constraints_list_name
from sweeper.records import (
    BINDING_KIND,
    POLICY_KIND,
    ConstraintRecord,
    TemplateRecord,
    admission_object,
    constraint_kind,
    constraint_record,
    template_record,
)


def snapshot(
    objects: Iterable[dict[str, Any]], *, vap_version: str = "v1", failed: Iterable[str] = ()
) -> Inventory:
    """The inventory a complete gather of ``objects`` would produce, less ``failed`` lists."""
    failed = set(failed)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    crds = {
        crd["metadata"].get("name"): crd
        for crd in by_kind.get("CustomResourceDefinition", [])
        if isinstance(crd.get("metadata"), dict)
    }
    lists: dict[str, ListStatus] = {}

    def status(name: str, count: int) -> bool:
        ok = name not in failed
        lists[name] = ListStatus(
            path=name, count=count if ok else 0, error=None if ok else "injected failure"
        )
        return ok

    bindings = [admission_object(BINDING_KIND, o) for o in by_kind.get(BINDING_KIND, [])]
    policies = [admission_object(POLICY_KIND, o) for o in by_kind.get(POLICY_KIND, [])]
    if not status("bindings", len(bindings)):
        bindings = []
    if not status("policies", len(policies)):
        policies = []

    # As gather: the labelled CRD list first; then, for a kind a binding points at but
    # that list lacks, the CRD by name, then discovery (any CRD serving that kind).
    def labelled(crd: dict[str, Any]) -> bool:
        labels = crd["metadata"].get("labels")
        return isinstance(labels, dict) and labels.get(gk.CONSTRAINT_CRD_LABEL) == "yes"

    listed = {
        entry.kind.lower(): entry
        for entry in (constraint_kind(crd) for crd in crds.values() if labelled(crd))
        if entry is not None
    }
    served = {
        entry.kind.lower(): entry
        for entry in (constraint_kind(crd) for crd in crds.values())
        if entry is not None
    }
    if not status("crds", len(listed)):
        listed = {}
    kinds = {kind: Presence.PRESENT for kind in listed}
    entries = dict(listed)
    template_crd = Presence.PRESENT if gk.TEMPLATE_CRD_NAME in crds else Presence.ABSENT
    if not status("template-crd", 1):
        template_crd = Presence.UNKNOWN
    templates: dict[str, TemplateRecord] = {}
    if template_crd is Presence.PRESENT:
        found = dict(template_record(o) for o in by_kind.get(gk.TEMPLATE_KIND, []))
        templates = found if status("templates", len(found)) else {}
    referenced = {
        o.owner.kind.lower() for o in bindings if o.owner and o.owner.group == gk.CONSTRAINTS_GROUP
    }
    referenced |= {o.fingerprint[0] for o in bindings if o.fingerprint}
    malformed: set[str] = set()
    discovered: bool | None = None  # whether discovery answered, once asked
    for kind in sorted(referenced - kinds.keys()):
        by_name = crds.get(gk.constraint_crd_name(kind))
        if not status(f"crd/{kind}", 0 if by_name is None else 1):
            kinds[kind] = Presence.UNKNOWN
        elif by_name is not None:
            kinds[kind] = Presence.PRESENT
            entry = constraint_kind(by_name)
            if entry is None:
                malformed.add(kind)
            else:
                entries[kind] = entry
        else:
            if discovered is None:
                discovered = status("discovery/constraints", len(served))
            if not discovered:
                kinds[kind] = Presence.UNKNOWN
            elif kind in served:
                kinds[kind], entries[kind] = Presence.PRESENT, served[kind]
            else:
                kinds[kind] = Presence.ABSENT
    constraints: dict[tuple[str, str], ConstraintRecord] = {}
    for kind in sorted(malformed):
        lists[constraints_list_name(kind)] = ListStatus(path=kind, error="CRD is malformed")
    for kind, entry in entries.items():
        found_constraints = dict(
            constraint_record(entry.kind, o) for o in by_kind.get(entry.kind, [])
        )
        if status(constraints_list_name(kind), len(found_constraints)):
            constraints.update(found_constraints)
    return Inventory(
        vap_version=vap_version,
        bindings=tuple(bindings),
        policies=tuple(policies),
        lists=lists,
        template_crd=template_crd,
        kinds=kinds,
        templates=templates,
        constraints=constraints,
        template_version="v1" if template_crd is Presence.PRESENT else None,
        constraint_paths={kind: entry.path for kind, entry in entries.items()},
    )


def stamp(obj: dict[str, Any], *, created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    """Give ``obj`` the uid, resourceVersion and creationTimestamp a server would."""
    import uuid

    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("uid", str(uuid.uuid4()))
    metadata.setdefault("resourceVersion", "1")
    metadata.setdefault("creationTimestamp", created)
    return obj
