"""Scenarios of whole clusters and of objects that are not Gatekeeper's: a v1beta1-only cluster,
users' look-alike objects, a long-lived production mix, and ownerReferences copied from
Gatekeeper's."""

from __future__ import annotations

from scenarios.building import (
    AUDIT_ONLY,
    V1BETA1,
    Cluster,
    Scenario,
    ghost_constraint,
    ghost_template,
)
from scenarios.observed import running
from sweeper.testing import objects as make


def v1beta1_cluster() -> Scenario:
    c = Cluster(api_version=V1BETA1)
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "kept")
    c.binding(ghost_constraint("K8sRequiredLabels", "gone"))
    c.policy(ghost_template("K8sAllowedRepos"))
    return Scenario(
        "v1beta1-kubernetes-1.29",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-kept": "kept",
            "gatekeeper-k8srequiredlabels-gone": "deleted owner-deleted",
            "gatekeeper-k8sallowedrepos": "deleted owner-deleted",
        },
        vap_version="v1beta1",
    )


def users_objects() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.add(
        make.foreign_binding(
            "gatekeeper-k8srequiredlabels-custom", policy_name="gatekeeper-k8srequiredlabels"
        )
    )
    c.add(make.foreign_binding("gatekeeper-audit", policy_name="audit"))
    mine = make.binding(ghost_constraint("K8sRequiredLabels", "x"))
    mine["metadata"]["name"] = "gatekeeper-handmade"
    mine["metadata"]["ownerReferences"][0]["controller"] = False  # a reference, not control
    c.add(mine)
    return Scenario(
        "users-gatekeeper-prefixed-objects",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-custom": "ignored",
            "gatekeeper-audit": "ignored",
            "gatekeeper-handmade": "ignored",
        },
    )


def mixed_production() -> Scenario:
    """Many of the cases at once, as a long-lived cluster accumulates them."""
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.template("K8sBlockNodePort", generate_vap=False)
    c.template("K8sAllowedRepos")
    c.constraint("K8sRequiredLabels", "must-have-owner")
    c.binding(ghost_constraint("K8sRequiredLabels", "must-have-team"))
    c.constraint("K8sRequiredLabels", "audit-only", scoped=AUDIT_ONLY)
    c.constraint("K8sBlockNodePort", "no-nodeport")
    prod = c.constraint("K8sAllowedRepos", "prod-repos")
    c.binding(prod, legacy=True)
    c.policy(ghost_template("K8sDisallowedTags"))
    c.binding(ghost_constraint("K8sDisallowedTags", "no-latest"))
    c.constraint("K8sRequiredLabels", "recreated", binding=False)
    c.binding(ghost_constraint("K8sRequiredLabels", "recreated"))
    c.binding(ghost_constraint("K8sRequiredLabels", "cost-center"), owned=False)
    c.add(make.foreign_binding("gatekeeper-platform-guard", policy_name="platform-guard"))
    return Scenario(
        "mixed-production",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8sallowedrepos": "kept",
            "gatekeeper-k8srequiredlabels-must-have-owner": "kept",
            "gatekeeper-k8sallowedrepos-prod-repos": "kept",
            "gatekeeper-k8srequiredlabels-must-have-team": "deleted owner-deleted",
            "gatekeeper-k8srequiredlabels-audit-only": "deleted not-wanted",
            "gatekeeper-k8sblocknodeport": "deleted not-wanted",
            "gatekeeper-k8sblocknodeport-no-nodeport": "deleted not-wanted",
            "gatekeeper-prod-repos": "deleted legacy-duplicate",
            "gatekeeper-k8sdisallowedtags": "deleted owner-deleted",
            "gatekeeper-k8sdisallowedtags-no-latest": "deleted owner-kind-gone",
            "gatekeeper-k8srequiredlabels-recreated": "reported owner-replaced",
            "gatekeeper-k8srequiredlabels-cost-center": "reported orphaned-unowned",
            "gatekeeper-platform-guard": "ignored",
        },
        **running("v3.23.0"),
    )


def copied_owner_references() -> Scenario:
    """A user's binding and policy carrying controller ownerReferences copied from
    Gatekeeper's, tied to owners that want nothing: Gatekeeper never made them."""
    c = Cluster()
    template = c.template("K8sBlockNodePort", generate_vap=False, policy=False)
    mine = c.policy(template)
    mine["metadata"]["name"] = "platform-block-nodeport"
    quiet = c.constraint("K8sBlockNodePort", "no-nodeport", binding=False)
    copied = c.binding(quiet)
    copied["metadata"]["name"] = "platform-no-nodeport"
    c.template("K8sRequiredLabels")
    audit = c.constraint("K8sRequiredLabels", "audit-only", scoped=AUDIT_ONLY, binding=False)
    enforcing = c.binding(audit)
    enforcing["metadata"]["name"] = "prod-required-labels"
    return Scenario(
        "7b-copied-owner-references",
        c.objects,
        {
            "platform-block-nodeport": "reported name-mismatch",
            "platform-no-nodeport": "reported name-mismatch",
            "gatekeeper-k8srequiredlabels": "kept",
            "prod-required-labels": "reported name-mismatch",
        },
    )
