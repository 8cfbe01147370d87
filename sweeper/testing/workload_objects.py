"""Builders of Gatekeeper's workloads as the API server holds them: a Deployment's status
(rolled out, or a rollout stuck half-way) and the ReplicaSets a Deployment controls."""

from __future__ import annotations

from copy import deepcopy
from typing import Any


def deployment_status(
    replicas: int = 1,
    *,
    generation: int = 1,
    updated: int | None = None,
    running: int | None = None,
    progressing: str = "NewReplicaSetAvailable",
) -> dict[str, Any]:
    """``status`` of a Deployment as the deployment controller writes it: rolled out by
    default; ``updated`` < ``running`` (or another ``progressing`` reason) is a rollout."""
    updated = replicas if updated is None else updated
    running = replicas if running is None else running
    return {
        "observedGeneration": generation,
        "replicas": running,
        "updatedReplicas": updated,
        "readyReplicas": running,
        "availableReplicas": running,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": progressing},
        ],
    }


def stuck_rollout(deployment: dict[str, Any], *, old_pods: int = 1) -> dict[str, Any]:
    """The Deployment with a new spec whose rollout is stuck: no new pod is available, the
    old ReplicaSet's ``old_pods`` still run (ProgressDeadlineExceeded)."""
    stuck = deepcopy(deployment)
    stuck["metadata"]["generation"] = 2
    replicas = stuck["spec"].get("replicas", 1)
    stuck["status"] = deployment_status(
        replicas,
        generation=2,
        updated=1,
        running=old_pods + 1,
        progressing="ProgressDeadlineExceeded",
    )
    return stuck


def replicaset(
    deployment: dict[str, Any], name: str, *, template: dict[str, Any], pods: int = 1
) -> dict[str, Any]:
    """A ReplicaSet ``deployment`` (a stored one: its uid is copied) controls, running
    ``pods`` pods of ``template`` (a pod template, e.g. an older Deployment's)."""
    meta = deployment["metadata"]
    # The Deployment's selector, as its controller copies it (an API server requires one that
    # selects the template's labels).
    selector = deepcopy(deployment.get("spec", {}).get("selector")) or {
        "matchLabels": dict(template.get("metadata", {}).get("labels", {}))
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace", "gatekeeper-system"),
            "labels": dict(template.get("metadata", {}).get("labels", {})),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"replicas": pods, "selector": selector, "template": deepcopy(template)},
        "status": {"replicas": pods, "readyReplicas": pods, "availableReplicas": pods},
    }
