"""Templates and constraints for running the real Gatekeeper: CEL and CEL+Rego
ConstraintTemplates in Gatekeeper's own shape (a required-labels policy, as in its policy
library) and their constraints. Every constraint matches only a kind nobody creates
(``gkloop.test/Widget``), so the policies Gatekeeper generates never judge a real request.
Used by the Gatekeeper-in-the-loop tests and ``bench/flap.py``. Imports nothing."""

from __future__ import annotations

from typing import Any

TARGET = "admission.k8s.gatekeeper.sh"
NOBODY = {"kinds": [{"apiGroups": ["gkloop.test"], "kinds": ["Widget"]}]}

# CEL of a required-labels policy (the library's k8srequiredlabels, reduced to one list).
REQUIRED_LABELS_CEL = {
    "engine": "K8sNativeValidation",
    "source": {
        "validations": [
            {
                "expression": (
                    "!has(variables.params.labels) || variables.params.labels.all(l, "
                    "has(object.metadata.labels) && l in object.metadata.labels)"
                ),
                "messageExpression": '"missing one of the labels " + '
                'variables.params.labels.join(", ")',
            }
        ]
    },
}
REQUIRED_LABELS_REGO = """package {package}

violation[{{"msg": msg}}] {{
  required := {{label | label := input.parameters.labels[_]}}
  provided := {{label | input.review.object.metadata.labels[label]}}
  missing := required - provided
  count(missing) > 0
  msg := sprintf("missing labels: %v", [missing])
}}
"""
LABELS_SCHEMA = {
    "openAPIV3Schema": {
        "type": "object",
        "properties": {"labels": {"type": "array", "items": {"type": "string"}}},
    }
}


def template(
    kind: str, *, cel: bool = True, rego: bool = False, generate_vap: bool | None = None
) -> dict:
    """A required-labels ConstraintTemplate of ``kind``: CEL, Rego, or both (CEL+Rego);
    ``generate_vap`` None leaves ``generateVAP`` unset (Gatekeeper's flag decides)."""
    target: dict[str, Any] = {"target": TARGET}
    if rego:
        target["rego"] = REQUIRED_LABELS_REGO.format(package=kind.lower())
    if cel:
        code = {**REQUIRED_LABELS_CEL, "source": dict(REQUIRED_LABELS_CEL["source"])}
        if generate_vap is not None:
            code["source"]["generateVAP"] = generate_vap
        target["code"] = [code]
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower()},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}, "validation": LABELS_SCHEMA}},
            "targets": [target],
        },
    }


def constraint(
    kind: str, name: str, *, action: str | None = None, scoped: list | None = None
) -> dict:
    """A constraint of ``kind``; ``action`` None leaves enforcementAction unset (deny);
    ``scoped`` is the scopedEnforcementActions list (action ``scoped``)."""
    spec: dict[str, Any] = {"match": NOBODY, "parameters": {"labels": ["owner"]}}
    if action is not None:
        spec["enforcementAction"] = action
    if scoped is not None:
        spec["scopedEnforcementActions"] = scoped
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def scoped_action(action: str, *points: str) -> dict:
    """One scopedEnforcementActions entry: ``action`` at the named enforcement points."""
    return {"action": action, "enforcementPoints": [{"name": p} for p in points]}
