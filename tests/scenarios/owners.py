"""Scenarios where an owner is gone: a constraint, a template or all of Gatekeeper deleted,
dependents orphaned by a cascade, an owner replaced under the same name, a policy missing, and
owners stuck terminating."""

from __future__ import annotations

from typing import Any

from scenarios.building import AUDIT_ONLY, Cluster, Scenario, ghost_constraint, ghost_template
from scenarios.observed import running
from sweeper.testing import objects as make


def constraint_deleted() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "must-have-owner")
    c.binding(ghost_constraint("K8sRequiredLabels", "must-have-team"))
    return Scenario(
        "1-constraint-deleted",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-must-have-owner": "kept",
            "gatekeeper-k8srequiredlabels-must-have-team": "deleted owner-deleted",
        },
    )


def template_deleted() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.policy(ghost_template("K8sAllowedRepos"))
    c.binding(ghost_constraint("K8sAllowedRepos", "prod-repos"))
    c.binding(ghost_constraint("K8sAllowedRepos", "dev-repos"))
    return Scenario(
        "2-template-deleted",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8sallowedrepos": "deleted owner-deleted",
            "gatekeeper-k8sallowedrepos-prod-repos": "deleted owner-kind-gone",
            "gatekeeper-k8sallowedrepos-dev-repos": "deleted owner-kind-gone",
        },
    )


def gatekeeper_uninstalled() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "must-have-owner")
    c.add(make.foreign_binding("gatekeeper-platform-guard", policy_name="platform-guard"))
    return Scenario(
        "3-gatekeeper-uninstalled",
        c.without_crds(),
        {
            "gatekeeper-k8srequiredlabels": "deleted gatekeeper-uninstalled",
            "gatekeeper-k8srequiredlabels-must-have-owner": "deleted gatekeeper-uninstalled",
            "gatekeeper-platform-guard": "ignored",
        },
    )


def orphaned_by_cascade(include_unowned: bool) -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.binding(ghost_constraint("K8sRequiredLabels", "cost-center"), owned=False)
    kept = c.constraint("K8sRequiredLabels", "adopted", binding=False)
    c.binding(kept, owned=False)
    outcome = "deleted orphaned-unowned" if include_unowned else "reported orphaned-unowned"
    suffix = "opted-in" if include_unowned else "default"
    return Scenario(
        f"6-orphaned-by-cascade-{suffix}",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-cost-center": outcome,
            "gatekeeper-k8srequiredlabels-adopted": "kept",
        },
        include_unowned=include_unowned,
    )


def owner_replaced() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "recreated", binding=False)
    c.binding(ghost_constraint("K8sRequiredLabels", "recreated"))
    c.constraint("K8sRequiredLabels", "recreated-audit", binding=False, scoped=AUDIT_ONLY)
    c.binding(ghost_constraint("K8sRequiredLabels", "recreated-audit"))
    return Scenario(
        "7-owner-replaced",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-recreated": "reported owner-replaced",
            "gatekeeper-k8srequiredlabels-recreated-audit": "deleted not-wanted",
        },
    )


def policy_missing() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels", policy=False)
    c.constraint("K8sRequiredLabels", "waiting-for-policy")
    c.binding(ghost_constraint("K8sRequiredLabels", "gone"))
    return Scenario(
        "8-policy-missing",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels-waiting-for-policy": "reported policy-missing",
            "gatekeeper-k8srequiredlabels-gone": "deleted owner-deleted",
        },
    )


def terminating_owner() -> Scenario:
    """A constraint and a template stuck terminating behind a finalizer."""
    c = Cluster()
    stuck_template = c.template("K8sAllowedRepos")
    _terminating(stuck_template)
    c.template("K8sRequiredLabels")
    stuck = c.constraint("K8sRequiredLabels", "stuck")
    _terminating(stuck)
    c.constraint("K8sRequiredLabels", "alive")
    return Scenario(
        "6-terminating-owner",
        c.objects,
        {
            "gatekeeper-k8sallowedrepos": "deleted owner-deleted",
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8srequiredlabels-stuck": "deleted owner-deleted",
            "gatekeeper-k8srequiredlabels-alive": "kept",
        },
    )


def terminating_template_both_names() -> Scenario:
    """A template stuck terminating: Gatekeeper removes the kind's watch and deletes its
    constraints' bindings, under both names; none is "policy-missing" once its VAP is gone
    (nothing re-creates it)."""
    c = Cluster()
    _terminating(c.template("K8sAllowedRepos"))
    prod = c.constraint("K8sAllowedRepos", "prod-repos")
    c.binding(prod, legacy=True)
    _terminating(c.template("K8sRequiredLabels", policy=False))  # its VAP already deleted
    c.constraint("K8sRequiredLabels", "owner-label")
    return Scenario(
        "6-terminating-template-both-names",
        c.objects,
        {
            "gatekeeper-k8sallowedrepos": "deleted owner-deleted",
            "gatekeeper-k8sallowedrepos-prod-repos": "deleted not-wanted",
            "gatekeeper-prod-repos": "deleted not-wanted",
            "gatekeeper-k8srequiredlabels-owner-label": "deleted not-wanted",
        },
        **running("v3.23.0"),
    )


def _terminating(obj: dict[str, Any]) -> None:
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:10:00Z"
    obj["metadata"]["finalizers"] = ["example.com/hold"]
