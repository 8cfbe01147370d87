"""Scenarios about names: one constraint name under two kinds, a legacy name that is another
constraint's new one, and names long enough to be truncated."""

from __future__ import annotations

from scenarios.building import Cluster, Scenario, ghost_constraint
from scenarios.observed import running
from sweeper.core import gatekeeper as gk


def same_name_two_kinds() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.template("K8sAllowedRepos")
    c.constraint("K8sAllowedRepos", "baseline")
    c.binding(ghost_constraint("K8sRequiredLabels", "baseline"))
    return Scenario(
        "two-kinds-same-name",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8sallowedrepos": "kept",
            "gatekeeper-k8sallowedrepos-baseline": "kept",
            "gatekeeper-k8srequiredlabels-baseline": "deleted owner-deleted",
        },
    )


def legacy_new_name_collision() -> Scenario:
    """Legacy ``gatekeeper-k8sfoo-bar`` of constraint k8sfoo-bar is K8sFoo/bar's new name."""
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.template("K8sFoo")
    legacy_owner = c.constraint("K8sRequiredLabels", "k8sfoo-bar")
    c.binding(legacy_owner, legacy=True)
    c.constraint("K8sFoo", "bar", binding=False)
    return Scenario(
        "legacy-new-name-collision",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            "gatekeeper-k8sfoo": "kept",
            "gatekeeper-k8srequiredlabels-k8sfoo-bar": "kept",
            # Owned by K8sRequiredLabels/k8sfoo-bar, whose new binding exists: a duplicate,
            # although its name is exactly what K8sFoo/bar (alive, wanting one) would use.
            "gatekeeper-k8sfoo-bar": "deleted legacy-duplicate",
        },
        **running("v3.23.0"),  # with the version unknown, the pair would be held
    )


def long_names() -> Scenario:
    c = Cluster()
    c.template("K8sRequiredLabels")
    long_live = "team-" + "a" * 245
    long_gone = "team-" + "b" * 245
    c.constraint("K8sRequiredLabels", long_live)
    c.binding(ghost_constraint("K8sRequiredLabels", long_gone))
    return Scenario(
        "long-names-truncated",
        c.objects,
        {
            "gatekeeper-k8srequiredlabels": "kept",
            gk.binding_name("K8sRequiredLabels", long_live): "kept",
            gk.binding_name("K8sRequiredLabels", long_gone): "deleted owner-deleted",
        },
    )
