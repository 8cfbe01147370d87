"""Builders of the Kubernetes built-in objects around Gatekeeper: the ValidatingAdmissionPolicies
and bindings it generates, a binding a user wrote, and Gatekeeper's own Deployments.

Contract: every builder returns a fresh plain dict; generated objects take their stored
owner (a template or a constraint from `gatekeeper_objects`) and carry its uid in a
controller ownerReference, as Gatekeeper's VAP generation writes them.
"""

from __future__ import annotations

from copy import deepcopy

from sweeper.core import gatekeeper as gk
from sweeper.testing.gatekeeper_objects import (
    CONSTRAINT_API_VERSION,
    TEMPLATE_OWNER_API_VERSION,
    controller_ref,
    kind_of,
    metadata,
)
from sweeper.testing.workload_objects import deployment_status


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
    meta = metadata(gk.policy_name(name), created=created)
    if owned:
        meta["ownerReferences"] = [
            controller_ref(template, api_version=TEMPLATE_OWNER_API_VERSION, kind=gk.TEMPLATE_KIND)
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
            "paramKind": {"apiVersion": CONSTRAINT_API_VERSION, "kind": kind_of(template)},
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
    meta = metadata(binding_name, created=created)
    if owned:
        meta["ownerReferences"] = [
            controller_ref(constraint, api_version=CONSTRAINT_API_VERSION, kind=kind)
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
    image: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict:
    """A Deployment shaped like the ones Gatekeeper's Helm chart installs (label
    gatekeeper.sh/system: "yes", one `manager` container), fully rolled out; `args` default
    to a webhook-only manager (`--operation=webhook`: no generate operation); `labels`
    replace the chart's version labels."""
    if labels is None:
        labels = {
            "app.kubernetes.io/version": version.lstrip("v"),
            "helm.sh/chart": f"gatekeeper-{version.lstrip('v')}",
        }
    labels = {"gatekeeper.sh/system": "yes", "app": "gatekeeper", **labels}
    if args is None:
        args = ["--port=8443", "--logtostderr", "--operation=webhook"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "generation": 1},
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
                            "image": image or f"openpolicyagent/gatekeeper:{version}",
                        }
                    ]
                },
            },
        },
        "status": deployment_status(replicas),
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
