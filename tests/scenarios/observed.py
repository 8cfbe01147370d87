"""Scenarios whose Gatekeeper defaults are observed from its Deployments (a v3.22.0 rollback, a
binding default turned off by a Helm value), and the chart's two Deployments they are read from."""

from __future__ import annotations

from typing import Any

from scenarios.building import VAP_ONLY, Cluster, Scenario
from sweeper.core import observe


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


def gatekeeper_deployments(version: str, *audit_args: str) -> list[dict[str, Any]]:
    """The chart's two Deployments: generate runs in the audit one."""

    def deployment(name: str, operations: list[str], extra: tuple[str, ...]) -> dict[str, Any]:
        labels = {
            "gatekeeper.sh/system": "yes",
            "helm.sh/chart": f"gatekeeper-{version[1:]}",
            "app.kubernetes.io/version": version[1:],
        }
        args = ["--logtostderr", *(f"--operation={op}" for op in operations), *extra]
        manager = {
            "name": "manager",
            "image": f"openpolicyagent/gatekeeper:{version}",
            "command": ["/manager"],
            "args": args,
        }
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "gatekeeper-system", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"gatekeeper.sh/system": "yes"}},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {"containers": [manager]},
                },
            },
        }

    return [
        deployment("gatekeeper-audit", ["generate", "audit", "status"], audit_args),
        deployment("gatekeeper-controller-manager", ["webhook", "mutation-webhook"], ()),
    ]
