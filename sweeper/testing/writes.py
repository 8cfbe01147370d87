"""Write requests to the fake API server: the checks kube-apiserver makes before storage.

Contract: pure functions over the decoded request (no store, no lock, no I/O apart from the
random uid and generated name a create gets): `prepare_create` decodes, fills the system
fields and validates a POSTed object in kube-apiserver's order, mutating and returning it;
the others build the Status errors a write answers with. Stdlib only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sweeper.testing.api import ApiError, ResourceType


def prepare_create(
    rt: ResourceType, namespace: str | None, obj: Any, *, timestamp: Callable[[], str]
) -> dict[str, Any]:
    """A POSTed object ready for storage, in kube-apiserver's order: decode (400), fill the
    system fields (rest.BeforeCreate: uid and creationTimestamp always new), validate (422)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise ApiError(400, "the request body must be a JSON object")
    meta = obj.setdefault("metadata", {})
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    if rt.namespaced:
        if meta.get("namespace") not in (None, "", namespace):
            raise ApiError(
                400,
                "the namespace of the provided object does not match "
                "the namespace sent on the request",
            )
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = timestamp()
    for server_owned in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(server_owned, None)
    if not meta.get("name"):
        raise _name_required(rt)
    _check_policy_spec(rt, obj)
    return obj


_NEEDS_ONE = "Required value: validations or auditAnnotations must contain at least one item"


def _check_policy_spec(rt: ResourceType, obj: dict[str, Any]) -> None:
    """kube-apiserver refuses a ValidatingAdmissionPolicy with neither validations nor
    auditAnnotations (422); measured on v1.36."""
    spec = obj.get("spec")
    if rt.kind != "ValidatingAdmissionPolicy" or not isinstance(spec, dict):
        return
    if spec.get("validations") or spec.get("auditAnnotations"):
        return
    fields = ("spec.validations", "spec.auditAnnotations")
    messages = ", ".join(f"{field}: {_NEEDS_ONE}" for field in fields)
    name = obj["metadata"]["name"]
    raise ApiError(
        422,
        f'{rt.kind}.{rt.group} "{name}" is invalid: [{messages}]',
        reason="Invalid",
        details={
            "name": name,
            "group": rt.group,
            "kind": rt.kind,
            "causes": [
                {"reason": "FieldValueRequired", "message": _NEEDS_ONE, "field": field}
                for field in fields
            ],
        },
    )


def _name_required(rt: ResourceType) -> ApiError:
    """The 422 for an object with neither name nor generateName (ValidateObjectMeta)."""
    required = "Required value: name or generateName is required"
    qualified_kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    return ApiError(
        422,
        f'{qualified_kind} "" is invalid: metadata.name: {required}',
        reason="Invalid",
        details={
            "group": rt.group,
            "kind": rt.kind,
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": required,
                    "field": "metadata.name",
                }
            ],
        },
    )


def already_exists(rt: ResourceType, name: str) -> ApiError:
    """The 409 AlreadyExists for a create of a taken name."""
    return ApiError(
        409,
        f'{rt.qualified} "{name}" already exists',
        reason="AlreadyExists",
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


def check_preconditions(
    rt: ResourceType, name: str, meta: dict[str, Any], preconditions: dict[str, Any]
) -> None:
    """Raise the 409 Conflict kube-apiserver answers when a DELETE's precondition (uid, then
    resourceVersion) differs from the stored object's metadata."""
    for label, field_ in (("UID", "uid"), ("ResourceVersion", "resourceVersion")):
        wanted = preconditions.get(field_)
        if wanted is not None and wanted != meta.get(field_):
            raise ApiError(
                409,
                (
                    f'Operation cannot be fulfilled on {rt.qualified} "{name}": '
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {meta.get(field_)}"
                ),
                details={"name": name, "group": rt.group, "kind": rt.plural},
            )
