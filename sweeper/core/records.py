"""Compact records of what the API server listed, and the pure parsing that builds them.

One record per listed object, holding only the fields decisions need (memory: see bench/), so
a 50,000-binding cluster is not kept as 50,000 JSON documents. Parsing never raises: a
malformed object becomes a record with a ``problem``, which the plan leaves undecided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sweeper.core import gatekeeper as gk
from sweeper.core.reasons import RESTORED_AT_ANNOTATION, SKIP_ANNOTATION

BINDING_KIND = "ValidatingAdmissionPolicyBinding"
POLICY_KIND = "ValidatingAdmissionPolicy"
TEMPLATE_KEY = gk.TEMPLATE_KIND.lower()  # the owner "kind" of a policy's fingerprint


class AdmissionObject(NamedTuple):
    """A VAP or VAPB reduced to what the plan needs.

    A NamedTuple, not a frozen dataclass: one is built per listed object, and a frozen
    dataclass costs about four times as much to construct.
    """

    kind: str
    name: str
    uid: str
    resource_version: str
    created: datetime | None
    owner: gk.OwnerRef | None  # the controller ownerReference
    has_owner_refs: bool
    skip: bool  # annotated sweeper.gatekeeper.sh/skip: "true"
    policy_name: str | None = None  # bindings only
    fingerprint: tuple[str, str] | None = (
        None  # (lower owner kind, owner name) of an unowned object
    )
    problem: str | None = None  # why this object cannot be decided on
    restored: str | None = None  # the sweeper.gatekeeper.sh/restored-at value, when set

    @property
    def is_binding(self) -> bool:
        return self.kind == BINDING_KIND


@dataclass(frozen=True, slots=True)
class ConstraintRecord:
    uid: str
    facts: gk.ConstraintFacts
    skip: bool
    # metadata.deletionTimestamp set: Gatekeeper treats the owner as deleted (row 6).
    # None when the field is there but malformed: the plan leaves its dependents undecided.
    terminating: bool | None = False


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    uid: str
    facts: gk.TemplateFacts
    skip: bool
    terminating: bool | None = False  # as ConstraintRecord.terminating


@dataclass(frozen=True, slots=True)
class ConstraintKind:
    kind: str
    plural: str
    version: str


def _metadata(obj: object) -> Mapping[str, Any]:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def terminating(obj: object) -> bool | None:
    """Whether metadata.deletionTimestamp is set; None when it is set but not a timestamp.

    Gatekeeper's controllers read a set deletionTimestamp as "deleted" (constrainttemplate
    controller: ``deleted || !ct.GetDeletionTimestamp().IsZero()``).
    """
    value = _metadata(obj).get("deletionTimestamp")
    if value is None:
        return False
    return True if parse_timestamp(value) is not None else None


def _is_skipped(metadata: Mapping[str, Any]) -> bool:
    annotations = metadata.get("annotations")
    return isinstance(annotations, dict) and annotations.get(SKIP_ANNOTATION) == "true"


def restored_at(metadata: Mapping[str, Any]) -> str | None:
    """The ``restored-at`` annotation's value (any string: its presence is the decision)."""
    annotations = metadata.get("annotations")
    value = annotations.get(RESTORED_AT_ANNOTATION) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else None


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 ``creationTimestamp``, or None when missing or malformed."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC from here on; a time that UTC cannot hold (year 1, east of Greenwich) fails.
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def admission_object(kind: str, obj: Mapping[str, Any]) -> AdmissionObject:
    """Reduce a listed VAP or VAPB to an ``AdmissionObject``; never raises."""
    metadata = _metadata(obj)
    name, uid, rv = (metadata.get(key) for key in ("name", "uid", "resourceVersion"))
    problems = [
        f"metadata.{key} is missing or not a string"
        for key, value in (("name", name), ("uid", uid), ("resourceVersion", rv))
        if not isinstance(value, str) or not value
    ]
    if isinstance(name, str) and len(name) > gk.MAX_NAME_LENGTH:
        problems.append(f"metadata.name is longer than {gk.MAX_NAME_LENGTH} characters")
    created = parse_timestamp(metadata.get("creationTimestamp"))
    if created is None:
        problems.append("metadata.creationTimestamp is missing or malformed")
    spec = obj.get("spec") if isinstance(obj, dict) else None
    policy_name = None
    if kind == BINDING_KIND:
        raw = spec.get("policyName") if isinstance(spec, dict) else None
        policy_name = raw if isinstance(raw, str) else None
    has_refs = gk.has_owner_references(obj)
    fingerprint = None
    if not has_refs:
        if kind == BINDING_KIND:
            fingerprint = gk.binding_fingerprint(obj)
        else:
            template_name = gk.policy_fingerprint(obj)
            fingerprint = (TEMPLATE_KEY, template_name) if template_name else None
    return AdmissionObject(
        kind=kind,
        name=name if isinstance(name, str) else "",
        uid=uid if isinstance(uid, str) else "",
        resource_version=rv if isinstance(rv, str) else "",
        created=created,
        owner=gk.controller_owner(obj),
        has_owner_refs=has_refs,
        skip=_is_skipped(metadata),
        policy_name=policy_name,
        fingerprint=fingerprint,
        problem="; ".join(problems) or None,
        restored=restored_at(metadata),
    )


def constraint_kind(crd: Mapping[str, Any]) -> ConstraintKind | None:
    """The kind, plural and best served version of a constraint CRD; None if malformed."""
    spec = crd.get("spec") if isinstance(crd, dict) else None
    if not isinstance(spec, dict) or spec.get("group") != gk.CONSTRAINTS_GROUP:
        return None
    names = spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    plural = names.get("plural") if isinstance(names, dict) else None
    version = served_version(crd, preferred=("v1beta1", "v1", "v1alpha1"))
    if not (isinstance(kind, str) and kind and isinstance(plural, str) and plural and version):
        return None
    return ConstraintKind(kind=kind, plural=plural, version=version)


def served_version(crd: Mapping[str, Any], *, preferred: tuple[str, ...]) -> str | None:
    """The first of ``preferred`` that the CRD serves; None when none is, or it is malformed."""
    spec = crd.get("spec") if isinstance(crd, dict) else None
    versions = spec.get("versions") if isinstance(spec, dict) else None
    if not isinstance(versions, list):
        return None
    # A name of any other type (a dict is unhashable) is not a version anyone can serve.
    served = {
        entry["name"]
        for entry in versions
        if isinstance(entry, dict)
        and entry.get("served") is True
        and isinstance(entry.get("name"), str)
    }
    return next((version for version in preferred if version in served), None)


def constraint_record(
    kind: str, obj: Mapping[str, Any]
) -> tuple[tuple[str, str], ConstraintRecord]:
    metadata = _metadata(obj)
    facts = gk.parse_constraint(obj)
    # Keyed on metadata.name read here: facts.name is empty when an earlier field is broken.
    name, uid = metadata.get("name"), metadata.get("uid")
    return (kind.lower(), name if isinstance(name, str) else ""), ConstraintRecord(
        uid=uid if isinstance(uid, str) else "",
        facts=facts,
        skip=_is_skipped(metadata),
        terminating=terminating(obj),
    )


def template_record(obj: Mapping[str, Any]) -> tuple[str, TemplateRecord]:
    metadata = _metadata(obj)
    facts = gk.parse_template(obj)
    uid = metadata.get("uid")
    return facts.name, TemplateRecord(
        uid=uid if isinstance(uid, str) else "",
        facts=facts,
        skip=_is_skipped(metadata),
        terminating=terminating(obj),
    )
