"""Gatekeeper's Deployments shaped like the Helm chart's, for the tests that observe them: the
audit and controller-manager containers with the chart's default arguments, and builders to vary
them. Builders only: no tests here."""

from __future__ import annotations

from typing import Any

from sweeper.testing.objects import deployment_status

IMAGE = "openpolicyagent/gatekeeper:v3.20.1"
VAP, VAPB = "--default-create-vap-for-templates", "--default-create-vap-binding-for-constraints"
AUDIT_ARGS = [
    "--audit-interval=60",
    "--operation=generate",
    "--operation=audit",
    "--operation=status",
    "--logtostderr",
]
WEBHOOK_ARGS = [
    "--port=8443",
    "--logtostderr",
    "--operation=webhook",
    "--operation=mutation-webhook",
]


def container(
    args: list[str], *, name: str = "manager", image: str = IMAGE, command: list[str] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["/manager"] if command is None else command,
        "args": list(args),
    }


def deployment(
    name: str,
    *containers: dict[str, Any],
    replicas: int | None = 1,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment shaped like the Helm chart's, fully rolled out."""
    labels = {"gatekeeper.sh/system": "yes", **(labels or {})}
    spec: dict[str, Any] = {
        "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": list(containers)}}
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "gatekeeper-system",
            "labels": labels,
            "generation": 1,
        },
        "spec": spec,
        "status": deployment_status(1 if replicas is None else replicas),
    }


def chart(*audit_extra: str, webhook_extra: tuple[str, ...] = (), image: str = IMAGE) -> list:
    """The chart's defaults: generate runs in audit only (controllerManager disables it)."""
    return [
        deployment("gatekeeper-audit", container([*AUDIT_ARGS, *audit_extra], image=image)),
        deployment(
            "gatekeeper-controller-manager", container([*WEBHOOK_ARGS, *webhook_extra], image=image)
        ),
    ]
