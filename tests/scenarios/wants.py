"""Scenarios where the owner exists but Gatekeeper no longer wants the object: the VAP enforcement
point removed, generation off by default, a renamed binding after an upgrade, the block
annotation, and a template Gatekeeper rejects."""

from __future__ import annotations

from scenarios.building import AUDIT_ONLY, VAP_ONLY, Cluster, Scenario
from scenarios.observed import gatekeeper_deployments
from sweeper.core import gatekeeper as gk
from sweeper.core import observe
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.testing import objects as make


def enforcement_point_removed() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "audit-only", scoped=AUDIT_ONLY)
    c.constraint("K8sRequiredLabels", "vap-scoped", scoped=VAP_ONLY)
    c.constraint(
        "K8sRequiredLabels",
        "star",
        scoped=[{"action": "warn", "enforcementPoints": [{"name": "*"}]}],
    )
    c.template("K8sBlockNodePort", generate_vap=False)
    c.constraint("K8sBlockNodePort", "no-nodeport")
    limits_template = c.template("K8sContainerLimits", cel=False, policy=False)
    # Generated while the template still had its CEL code (a policy needs a validation).
    c.policy(make.template("K8sContainerLimits", uid=limits_template["metadata"]["uid"]))
    c.constraint("K8sContainerLimits", "limits")
    return Scenario(
        "4-enforcement-point-removed",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-audit-only": "deleted not-wanted",
            "gatekeeper-k8srequiredlabels-vap-scoped": "kept",
            "gatekeeper-k8srequiredlabels-star": "kept",
            "gatekeeper-k8sblocknodeport": "deleted not-wanted",
            "gatekeeper-k8sblocknodeport-no-nodeport": "deleted not-wanted",
            "gatekeeper-k8scontainerlimits": "deleted not-wanted",
            "gatekeeper-k8scontainerlimits-limits": "deleted not-wanted",
        },
    )


def defaults_off() -> Scenario:
    """Gatekeeper v3.17-v3.19 defaults: nothing is generated unless asked for explicitly."""
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "implicit")
    c.template("K8sAllowedRepos", generate_vap=True)
    c.constraint("K8sAllowedRepos", "explicit", scoped=VAP_ONLY)
    c.constraint("K8sAllowedRepos", "implicit")
    return Scenario(
        "4-defaults-off",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "deleted not-wanted",
            "gatekeeper-k8srequiredlabels-implicit": "deleted not-wanted",
            "gatekeeper-k8sallowedrepos": "kept",
            "gatekeeper-k8sallowedrepos-explicit": "kept",
            "gatekeeper-k8sallowedrepos-implicit": "deleted not-wanted",
        },
        defaults=GatekeeperDefaults(create_vap=False, create_vapb=False),
    )


def upgrade_renamed() -> Scenario:
    c = Cluster()
    c.template("K8sAllowedRepos")
    prod = c.constraint("K8sAllowedRepos", "prod-repos")
    c.binding(prod, legacy=True)
    dev = c.constraint("K8sAllowedRepos", "dev-repos", binding=False)
    c.binding(dev, legacy=True)
    # The upgrade is done: v3.23.0 runs (an unknown version would hold the pair).
    deployments = gatekeeper_deployments("v3.23.0")
    return Scenario(
        "5-upgrade-legacy-duplicate",
        c.objects,
        {
            "gatekeeper-k8sallowedrepos": "kept",
            "gatekeeper-k8sallowedrepos-prod-repos": "kept",
            "gatekeeper-prod-repos": "deleted legacy-duplicate",
            "gatekeeper-dev-repos": "kept",  # Gatekeeper <= v3.22.0 still names it so
        },
        defaults=observe.resolve(observe.observe(deployments)).defaults,
        deployments=deployments,
    )


def block_annotation() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels", annotations={gk.BLOCK_VAPB_ANNOTATION: "2999-12-31T00:00:00Z"})
    c.constraint("K8sRequiredLabels", "blocked")
    return Scenario(
        "block-vapb-generation-annotation",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-blocked": "kept",
        },
    )


def two_target_template() -> Scenario:
    """A template edited to two targets: Gatekeeper rejects it and leaves its objects alone."""
    c = Cluster()
    template = c.template("K8sRequiredLabels", targets=2)
    c.constraint("K8sRequiredLabels", "must-have-owner")
    c.constraint("K8sRequiredLabels", "audit-only", scoped=AUDIT_ONLY)
    assert len(template["spec"]["targets"]) == 2
    return Scenario(
        "6b-two-target-template",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "reported template-invalid",
            "gatekeeper-k8srequiredlabels-must-have-owner": "reported template-invalid",
            "gatekeeper-k8srequiredlabels-audit-only": "reported template-invalid",
        },
    )
