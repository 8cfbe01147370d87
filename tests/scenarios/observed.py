"""Scenarios whose Gatekeeper defaults are observed from its Deployments (a v3.22.0 rollback, a
binding default turned off by a Helm value), and the chart's two Deployments they are read from."""

from __future__ import annotations

from typing import Any

from scenarios.building import VAP_ONLY, Cluster, Scenario
from sweeper.core import observe
from sweeper.testing import objects as make


def observed_v3_22_0() -> Scenario:
    """Gatekeeper v3.22.0 runs (a rollback): the legacy name is the managed one."""
    c = Cluster()
    c.template("K8sAllowedRepos")
    prod = c.constraint("K8sAllowedRepos", "prod-repos")
    c.binding(prod, legacy=True)
    c.constraint("K8sAllowedRepos", "dev-repos")  # new name only: its sole binding
    deployments = gatekeeper_deployments("v3.22.0")
    return Scenario(
        "8-observed-v3.22.0-both-names",
        c.objects,
        {
            "gatekeeper-k8sallowedrepos": "kept",
            "gatekeeper-prod-repos": "kept",
            "gatekeeper-k8sallowedrepos-prod-repos": "deleted legacy-duplicate",
            "gatekeeper-k8sallowedrepos-dev-repos": "kept",
        },
        defaults=observe.resolve(observe.observe(deployments)).defaults,
        deployments=deployments,
    )


def observed_binding_default_off() -> Scenario:
    """Helm value defaultCreateVAPBindingForConstraints=false, no sweeper option given; a
    decoy Deployment without Gatekeeper's label says otherwise and is ignored."""
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "implicit")
    c.constraint("K8sRequiredLabels", "explicit", scoped=VAP_ONLY)
    decoy = gatekeeper_deployments("v3.21.0", "--default-create-vap-binding-for-constraints=true")
    decoy[0]["metadata"]["name"] = "decoy-audit"
    decoy[0]["metadata"]["labels"] = {"app": "gatekeeper"}
    deployments = [
        *gatekeeper_deployments("v3.21.0", "--default-create-vap-binding-for-constraints=false"),
        decoy[0],
    ]
    defaults = observe.resolve(observe.observe(deployments)).defaults
    assert (defaults.create_vap, defaults.create_vapb) == (True, False)
    return Scenario(
        "7-observed-binding-default-off",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-implicit": "deleted not-wanted",
            "gatekeeper-k8srequiredlabels-explicit": "kept",
        },
        defaults=defaults,
        deployments=deployments,
    )


def running(
    version: str | None,
    *audit_args: str,
    replicasets: list[dict[str, Any]] | None = None,
    deployments: list[dict[str, Any]] | None = None,
    warning: str | None = None,
) -> dict[str, Any]:
    """A scenario's ``defaults``, ``deployments`` (and ``replicasets``) when this Gatekeeper
    runs, resolved as the sweep resolves them (with the ReplicaSets when it asks for them)."""
    if deployments is None:
        deployments = gatekeeper_deployments(version, *audit_args)
    observation = observe.observe(deployments)
    if observation.needs_replicasets:
        observation = observe.observe(deployments, replicasets=replicasets or [])
    return {
        "defaults": observe.resolve(observation).defaults,
        "deployments": deployments,
        "replicasets": replicasets or [],
        "warning": warning,
    }


def gatekeeper_deployments(
    version: str | None,
    *audit_args: str,
    operations: tuple[str, ...] = ("generate", "audit", "status"),
    image: str | None = None,
) -> list[dict[str, Any]]:
    """The chart's two Deployments: generate runs in the audit one. ``version`` None: the
    image is pinned by digest and no label names a version."""
    labels: dict[str, str] = {"gatekeeper.sh/system": "yes"}
    if version is not None:
        labels["helm.sh/chart"] = f"gatekeeper-{version[1:]}"
        labels["app.kubernetes.io/version"] = version[1:]
    if image is None:
        image = f"openpolicyagent/gatekeeper:{version}" if version else DIGEST_IMAGE

    def deployment(name: str, ops: tuple[str, ...], extra: tuple[str, ...]) -> dict[str, Any]:
        args = ["--logtostderr", *(f"--operation={op}" for op in ops), *extra]
        manager = {"name": "manager", "image": image, "command": ["/manager"], "args": args}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": "gatekeeper-system",
                "uid": f"uid-{name}",
                "labels": labels,
                "generation": 1,
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"gatekeeper.sh/system": "yes"}},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {"containers": [manager]},
                },
            },
            "status": make.deployment_status(1),
        }

    return [
        deployment("gatekeeper-audit", operations, audit_args),
        deployment("gatekeeper-controller-manager", ("webhook", "mutation-webhook"), ()),
    ]


DIGEST_IMAGE = "openpolicyagent/gatekeeper@sha256:" + "0" * 64
