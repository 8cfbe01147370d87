"""What ``sweeper restore`` may create, and exactly what it sends: pure functions, no I/O.

Contract: restore puts back only what the sweeper could have deleted, a VAP or VAPB that
carries Gatekeeper's controller ownerReference (a ConstraintTemplate, a constraint) under one
of that owner's own names, or Gatekeeper's fingerprint, and nothing a manifest the sweeper
logs never carries (unknown top-level fields, server-owned metadata, finalizers, a
``sweeper.gatekeeper.sh/`` annotation); ``refusal`` says why anything else is refused.
What is created carries only what Gatekeeper's object had (``creation_body``):
``apiVersion``, ``kind``, ``spec`` and the metadata name, labels, annotations and verified
ownerReferences; never finalizers, managed fields, unknown top-level fields or any
``sweeper.gatekeeper.sh/`` annotation (a skip annotation would shield it from every sweep),
and always the ``restored-at`` and ``restore-id`` annotations that hold it from later sweeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sweeper.core import gatekeeper as gk
from sweeper.core.manifests import SERVER_OWNED_METADATA, clean_manifest
from sweeper.core.reasons import ANNOTATION_PREFIX, RESTORE_ID_ANNOTATION, RESTORED_AT_ANNOTATION

POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec")  # "status" is never logged
METADATA = ("name", "labels", "annotations", "ownerReferences")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_VERSION = re.compile(r"v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?")
_NOT_GATEKEEPERS = (
    "not an object the sweeper deletes: {what} (restore creates only Gatekeeper's VAPs and "
    "VAPBs: a controller ownerReference to their ConstraintTemplate or constraint and one of "
    "its names, or Gatekeeper's fingerprint)"
)


def refusal(manifest: Mapping[str, Any]) -> str | None:
    """Why the sweeper could not have deleted ``manifest`` (so restore refuses it); None
    when it is Gatekeeper-shaped."""
    forged = _not_as_logged(manifest)
    if forged is not None:
        return f"not a manifest the sweeper logs: {forged}"
    return _not_gatekeepers(manifest)


def _not_as_logged(manifest: Mapping[str, Any]) -> str | None:
    """What no manifest the sweeper wrote carries: fields the API server does not serve,
    what ``clean_manifest`` removed, finalizers (Gatekeeper sets none), or an annotation of
    the sweeper's (it never deletes an object annotated skip or restored-at)."""
    unknown = sorted(set(manifest) - set(TOP_LEVEL))
    if unknown:
        return f"unknown top-level fields {unknown}"
    metadata = manifest.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    owned = sorted(set(metadata) & set(SERVER_OWNED_METADATA))
    if owned:
        return f"server-owned metadata {owned}"
    if metadata.get("finalizers"):
        return "finalizers (Gatekeeper sets none)"
    annotations = metadata.get("annotations")
    ours = sorted(
        key
        for key in (annotations if isinstance(annotations, dict) else {})
        if str(key).startswith(ANNOTATION_PREFIX)
    )
    if ours:
        return f"the sweeper's own annotations {ours} (it never deletes such an object)"
    return None


def _not_gatekeepers(manifest: Mapping[str, Any]) -> str | None:
    """Why ``manifest`` is not a VAP or VAPB Gatekeeper generated; None when it is."""
    kind = manifest.get("kind")
    metadata = manifest.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    owner = gk.controller_owner(manifest)
    if kind == POLICY_KIND:
        if owner is not None and (owner.group, owner.kind) == (
            gk.TEMPLATES_GROUP,
            gk.TEMPLATE_KIND,
        ):
            if name == gk.policy_name(owner.name):
                return None
            return _NOT_GATEKEEPERS.format(
                what=f"its template names it {gk.policy_name(owner.name)}"
            )
        if owner is None and gk.policy_fingerprint(manifest) is not None:
            return None
        return _NOT_GATEKEEPERS.format(what="no template owner, no fingerprint")
    if owner is not None and owner.group == gk.CONSTRAINTS_GROUP:
        spec = manifest.get("spec")
        policy = spec.get("policyName") if isinstance(spec, dict) else None
        wanted = gk.policy_name(gk.template_name_for_kind(owner.kind))
        if name not in gk.binding_names(owner.kind, owner.name):
            return _NOT_GATEKEEPERS.format(what=f"not a name {owner.kind}/{owner.name} gives")
        if policy != wanted:
            return _NOT_GATEKEEPERS.format(what=f"binds {policy!r}, not {wanted}")
        return None
    if owner is None and gk.binding_fingerprint(manifest) is not None:
        return None
    return _NOT_GATEKEEPERS.format(what="no constraint owner, no fingerprint")


def creation_body(
    manifest: Mapping[str, Any],
    *,
    drop: Iterable[int] = (),
    restored_at: str,
    restore_id: str,
) -> dict[str, Any]:
    """The create request's body: Gatekeeper's fields of the cleaned manifest, minus the
    dropped ownerReferences, plus the annotations of a restore."""
    clean = clean_manifest(manifest)
    body = {key: clean[key] for key in TOP_LEVEL if key in clean}
    source = clean.get("metadata")
    source = source if isinstance(source, dict) else {}
    metadata = {key: source[key] for key in METADATA if key in source}
    annotations = metadata.get("annotations")
    kept = {
        key: value
        for key, value in (annotations.items() if isinstance(annotations, dict) else ())
        if not str(key).startswith(ANNOTATION_PREFIX)
    }
    kept[RESTORED_AT_ANNOTATION] = restored_at
    kept[RESTORE_ID_ANNOTATION] = restore_id
    metadata["annotations"] = kept
    dropped = set(drop)
    refs = metadata.get("ownerReferences")
    if isinstance(refs, list) and dropped:
        remaining = [ref for index, ref in enumerate(refs) if index not in dropped]
        if remaining:
            metadata["ownerReferences"] = remaining
        else:
            del metadata["ownerReferences"]
    body["metadata"] = metadata
    return body


def restored_by(current: Mapping[str, Any] | None, restore_id: str) -> bool:
    """Whether an existing object is the one this restore created (a lost POST answer)."""
    metadata = current.get("metadata") if isinstance(current, Mapping) else None
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return isinstance(annotations, Mapping) and annotations.get(RESTORE_ID_ANNOTATION) == restore_id


# --- owner references ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnerCheck:
    """One ownerReference of a manifest: where to read its owner, or why it cannot be kept."""

    index: int
    label: str  # "Kind/name"
    uid: str | None
    path: str | None  # the owner's GET path; None when the reference is dropped unread
    drop_reason: str | None


def owner_checks(manifest: Mapping[str, Any]) -> list[OwnerCheck]:
    """What to verify for each ownerReference before the manifest is created again.

    Only Gatekeeper owners can be verified: a constraint (its plural is lower(kind), as
    Gatekeeper names constraint CRDs) or a ConstraintTemplate. Any other owner is dropped.
    """
    metadata = manifest.get("metadata")
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    checks = []
    for index, ref in enumerate(refs if isinstance(refs, list) else []):
        ref = ref if isinstance(ref, dict) else {}
        kind, name, uid = ref.get("kind"), ref.get("name"), ref.get("uid")
        label = f"{kind}/{name}"
        group, _, version = str(ref.get("apiVersion")).rpartition("/")
        path, reason = None, None
        if not (isinstance(kind, str) and _KIND.fullmatch(kind)) or not (
            isinstance(name, str) and _NAME.fullmatch(name) and isinstance(uid, str)
        ):
            reason = "malformed ownerReference"
        elif group == gk.TEMPLATES_GROUP and kind == gk.TEMPLATE_KIND:
            path = f"/apis/{gk.TEMPLATES_GROUP}/v1/constrainttemplates/{name}"
        elif group == gk.CONSTRAINTS_GROUP and _VERSION.fullmatch(version):
            path = f"/apis/{gk.CONSTRAINTS_GROUP}/{version}/{kind.lower()}/{name}"
        else:
            reason = "not a Gatekeeper owner, so it cannot be verified"
        checks.append(OwnerCheck(index, label, uid if isinstance(uid, str) else None, path, reason))
    return checks


def owner_drop_reason(check: OwnerCheck, current: Mapping[str, Any] | None) -> str | None:
    """Why a reference must go, given its owner as read now (None: absent); None keeps it.

    A reference to an owner that is gone, or that was re-created with another uid, would
    have the garbage collector delete the restored object again.
    """
    if current is None:
        return "owner not found"
    metadata = current.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    if uid != check.uid:
        return f"owner re-created with another uid ({uid})"
    return None
