"""Builders of Gatekeeper-shaped objects, as Gatekeeper or a user would create them.

Used by the tests, `sweeper demo` and the benchmark. Every builder returns a fresh plain
dict. `metadata.uid` is left out unless given (the fake API server assigns one); builders
of dependents take the stored owner dict and copy its uid into their ownerReference.
Templates follow the public gatekeeper-library CEL templates (k8srequiredlabels): a
K8sNativeValidation code entry beside a Rego one.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from sweeper import gatekeeper as gk

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


def _metadata(
    name: str,
    *,
    uid: str | None = None,
    created: str | None = None,
    annotations: dict | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = dict(annotations)
    if uid is not None:
        meta["uid"] = uid
    if created is not None:
        meta["creationTimestamp"] = created
    return meta


def _controller_ref(owner: dict, *, api_version: str, kind: str) -> dict[str, Any]:
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


def _kind_of(template: dict) -> str:
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
            "metadata": _metadata(
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
    kind = _kind_of(template)
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
                    _controller_ref(
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
        "metadata": _metadata(name, uid=uid, created=created),
        "spec": spec,
    }


def _internal_match_condition(name: str, field: str) -> dict[str, str]:
    """A simplified form of Gatekeeper's gatekeeper_internal_* match conditions."""
    return {
        "name": f"gatekeeper_internal_match_{name}",
        "expression": f"!has(params.spec) ? true : (!has(params.spec.match) ? true : "
        f"!has(params.spec.match.{field}) ? true : true)",
    }


def policy(
    template: dict,
    *,
    api_version: str = "admissionregistration.k8s.io/v1",
    owned: bool = True,
    created: str | None = None,
) -> dict:
    """The VAP Gatekeeper generates for a stored template (TemplateToPolicyDefinition)."""
    name = template["metadata"]["name"]
    meta = _metadata(gk.policy_name(name), created=created)
    if owned:
        meta["ownerReferences"] = [
            _controller_ref(template, api_version=TEMPLATE_OWNER_API_VERSION, kind=gk.TEMPLATE_KIND)
        ]
    validations: list[dict] = []
    for target in template["spec"].get("targets", [])[:1]:
        for entry in target.get("code", []):
            if entry.get("engine") == gk.CEL_ENGINE:
                validations = deepcopy(entry["source"].get("validations", []))
                break
    return {
        "apiVersion": api_version,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": meta,
        "spec": {
            "paramKind": {"apiVersion": CONSTRAINT_API_VERSION, "kind": _kind_of(template)},
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "resources": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                    }
                ]
            },
            "matchConditions": [
                _internal_match_condition("excluded_namespaces", "excludedNamespaces"),
                _internal_match_condition("namespaces", "namespaces"),
                _internal_match_condition("name", "name"),
                _internal_match_condition("kinds", "kinds"),
            ],
            "validations": validations,
            "failurePolicy": "Fail",
            "variables": [
                {
                    "name": "anyObject",
                    "expression": "has(request.operation) && "
                    'request.operation == "DELETE" && object == null ? oldObject : object',
                },
                {
                    "name": "params",
                    "expression": "!has(params.spec) ? null : "
                    "!has(params.spec.parameters) ? null: params.spec.parameters",
                },
            ],
        },
    }


def binding(
    constraint: dict,
    *,
    legacy: bool = False,
    owned: bool = True,
    api_version: str = "admissionregistration.k8s.io/v1",
    created: str | None = None,
    action: str = "Deny",
) -> dict:
    """The VAPB Gatekeeper generates for a stored constraint (ConstraintToBinding)."""
    kind, name = constraint["kind"], constraint["metadata"]["name"]
    binding_name = gk.legacy_binding_name(name) if legacy else gk.binding_name(kind, name)
    meta = _metadata(binding_name, created=created)
    if owned:
        meta["ownerReferences"] = [
            _controller_ref(constraint, api_version=CONSTRAINT_API_VERSION, kind=kind)
        ]
    return {
        "apiVersion": api_version,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": meta,
        "spec": {
            "policyName": gk.policy_name(gk.template_name_for_kind(kind)),
            "paramRef": {"name": name, "parameterNotFoundAction": "Allow"},
            "matchResources": {},
            "validationActions": [action],
        },
    }


def gatekeeper_deployment(
    name: str = "gatekeeper-controller-manager",
    *,
    namespace: str = "gatekeeper-system",
    version: str = "v3.20.1",
    args: list[str] | None = None,
    replicas: int = 1,
) -> dict:
    """A Deployment shaped like the ones Gatekeeper's Helm chart installs (label
    gatekeeper.sh/system: "yes", one `manager` container); `args` default to a webhook-only
    manager (`--operation=webhook`: no generate operation)."""
    labels = {
        "gatekeeper.sh/system": "yes",
        "app": "gatekeeper",
        "app.kubernetes.io/version": version.lstrip("v"),
        "helm.sh/chart": f"gatekeeper-{version.lstrip('v')}",
    }
    if args is None:
        args = ["--port=8443", "--logtostderr", "--operation=webhook"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"gatekeeper.sh/system": "yes"}},
            "template": {
                "metadata": {"labels": {"gatekeeper.sh/system": "yes"}},
                "spec": {
                    "containers": [
                        {
                            "name": "manager",
                            "args": list(args),
                            "image": f"openpolicyagent/gatekeeper:{version}",
                        }
                    ]
                },
            },
        },
    }


def foreign_binding(
    name: str, *, policy_name: str, api_version: str = "admissionregistration.k8s.io/v1"
) -> dict:
    """A binding a user wrote by hand: no ownerReferences, its own selectors and params."""
    return {
        "apiVersion": api_version,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "platform-team"}},
        "spec": {
            "policyName": policy_name,
            "matchResources": {"namespaceSelector": {"matchLabels": {"environment": "prod"}}},
            "validationActions": ["Deny", "Audit"],
        },
    }
