"""Builders of Gatekeeper's own objects: ConstraintTemplates, their CRDs, and constraints.

Contract: every builder returns a fresh plain dict shaped as Gatekeeper or a user creates
it; `metadata.uid` is left out unless given (the fake API server assigns one); builders of
dependents take the stored owner dict and copy its uid into their ownerReference
(`controller_ref`, shared with `builtin_objects`). Templates follow the public
gatekeeper-library CEL templates (k8srequiredlabels): a K8sNativeValidation code entry
beside a Rego one.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from sweeper.core import gatekeeper as gk

ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
# Gatekeeper's template controller sets owners from the v1beta1 ConstraintTemplate it reads.
TEMPLATE_OWNER_API_VERSION = f"{gk.TEMPLATES_GROUP}/v1beta1"
CONSTRAINT_API_VERSION = f"{gk.CONSTRAINTS_GROUP}/v1beta1"

_REGO = """package {package}

violation[{{"msg": msg, "details": {{"missing_labels": missing}}}}] {{
  provided := {{label | input.review.object.metadata.labels[label]}}
  required := {{label | label := input.parameters.labels[_].key}}
  missing := required - provided
  count(missing) > 0
  msg := sprintf("you must provide labels: %v", [missing])
}}
"""
_CEL_VALIDATIONS = [
    {
        "expression": "(has(variables.anyObject.metadata) && variables.params.labels.all(entry, "
        "has(variables.anyObject.metadata.labels) && "
        "entry.key in variables.anyObject.metadata.labels))",
        "messageExpression": '"missing required label, requires all of: " + '
        'variables.params.labels.map(entry, entry.key).join(", ")',
    },
]
_PARAMETERS_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "labels": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "allowedRegex": {"type": "string"}},
            },
        },
    },
}
_OPEN_SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def metadata(
    name: str,
    *,
    uid: str | None = None,
    created: str | None = None,
    annotations: dict | None = None,
) -> dict[str, Any]:
    """`metadata` with a name and, when given, annotations, uid and creationTimestamp."""
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = dict(annotations)
    if uid is not None:
        meta["uid"] = uid
    if created is not None:
        meta["creationTimestamp"] = created
    return meta


def controller_ref(owner: dict, *, api_version: str, kind: str) -> dict[str, Any]:
    """The ownerReference controllerutil.SetControllerReference writes."""
    meta = owner.get("metadata", {})
    uid = meta.get("uid")
    if not uid:
        raise ValueError(
            f"{kind} {meta.get('name')!r} has no metadata.uid: store it first, "
            "then pass the stored object"
        )
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta["name"],
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def kind_of(template: dict) -> str:
    """The constraint kind a ConstraintTemplate defines."""
    return template["spec"]["crd"]["spec"]["names"]["kind"]


def template(
    kind: str,
    *,
    cel: bool = True,
    rego: bool = True,
    generate_vap: bool | None = None,
    targets: int = 1,
    annotations: dict | None = None,
    uid: str | None = None,
    created: str | None = None,
    short_names: list[str] | None = None,
    api_version: str = f"{gk.TEMPLATES_GROUP}/v1",
) -> dict:
    """A ConstraintTemplate named lower(kind) with a CEL and/or a Rego code entry per target;
    `short_names` go to spec.crd.spec.names.shortNames (copied onto the constraint CRD)."""
    code: list[dict[str, Any]] = []
    if cel:
        source: dict[str, Any] = {"validations": _CEL_VALIDATIONS}
        if generate_vap is not None:
            source["generateVAP"] = generate_vap
        code.append({"engine": gk.CEL_ENGINE, "source": source})
    if rego:
        code.append({"engine": "Rego", "source": {"rego": _REGO.format(package=kind.lower())}})
    target_list = [
        {"target": ADMISSION_TARGET if i == 0 else f"target{i}.example.com", "code": deepcopy(code)}
        for i in range(targets)
    ]
    names: dict[str, Any] = {"kind": kind}
    if short_names:
        names["shortNames"] = list(short_names)
    return deepcopy(
        {
            "apiVersion": api_version,
            "kind": gk.TEMPLATE_KIND,
            "metadata": metadata(
                gk.template_name_for_kind(kind), uid=uid, created=created, annotations=annotations
            ),
            "spec": {
                "crd": {
                    "spec": {"names": names, "validation": {"openAPIV3Schema": _PARAMETERS_SCHEMA}}
                },
                "targets": target_list,
            },
        }
    )


def template_crd() -> dict:
    """The CRD constrainttemplates.templates.gatekeeper.sh that installing Gatekeeper creates
    (its manifest declares no shortNames and no categories)."""
    versions = [
        {
            "name": version,
            "served": True,
            "storage": version == "v1",
            "schema": deepcopy(_OPEN_SCHEMA),
            "subresources": {"status": {}},
        }
        for version in ("v1", "v1beta1", "v1alpha1")
    ]
    return deepcopy(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": gk.TEMPLATE_CRD_NAME},
            "spec": {
                "group": gk.TEMPLATES_GROUP,
                "names": {
                    "kind": gk.TEMPLATE_KIND,
                    "listKind": f"{gk.TEMPLATE_KIND}List",
                    "plural": "constrainttemplates",
                    "singular": "constrainttemplate",
                },
                "scope": "Cluster",
                "versions": versions,
            },
        }
    )


def constraint_crd(template: dict) -> dict:
    """The constraint CRD Gatekeeper creates for a stored template (needs its uid): names as
    frameworks' crds.CreateCRD sets them (categories constraint/constraints, the template's
    shortNames)."""
    kind = kind_of(template)
    plural = kind.lower()
    names: dict[str, Any] = {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": plural,
    }
    short_names = template["spec"]["crd"]["spec"]["names"].get("shortNames")
    if short_names:
        names["shortNames"] = list(short_names)
    names["categories"] = ["constraint", "constraints"]
    versions = [
        {
            "name": version,
            "served": True,
            "storage": version == "v1beta1",
            "schema": deepcopy(_OPEN_SCHEMA),
            "subresources": {"status": {}},
        }
        for version in ("v1beta1", "v1", "v1alpha1")
    ]
    return deepcopy(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {
                "name": gk.constraint_crd_name(kind),
                "labels": {gk.CONSTRAINT_CRD_LABEL: "yes"},
                "ownerReferences": [
                    controller_ref(
                        template, api_version=TEMPLATE_OWNER_API_VERSION, kind=gk.TEMPLATE_KIND
                    )
                ],
            },
            "spec": {
                "group": gk.CONSTRAINTS_GROUP,
                "names": names,
                "scope": "Cluster",
                "versions": versions,
            },
        }
    )


def constraint(
    kind: str,
    name: str,
    *,
    enforcement_action: str | None = None,
    scoped: list[dict] | None = None,
    uid: str | None = None,
    created: str | None = None,
    api_version: str = CONSTRAINT_API_VERSION,
) -> dict:
    """A constraint of `kind`; `scoped` entries imply enforcementAction "scoped" unless given."""
    spec: dict[str, Any] = {
        "match": {"kinds": [{"apiGroups": [""], "kinds": ["Namespace"]}]},
        "parameters": {"labels": [{"key": "owner"}]},
    }
    if scoped is not None and enforcement_action is None:
        enforcement_action = gk.SCOPED_ACTION
    if enforcement_action is not None:
        spec["enforcementAction"] = enforcement_action
    if scoped is not None:
        spec["scopedEnforcementActions"] = deepcopy(scoped)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata(name, uid=uid, created=created),
        "spec": spec,
    }
