"""Scenarios judged by what runs (reference, "Reading the running Gatekeeper exactly"): every
release's bool flags, exact versions with their pre-release part, a version that cannot be
told, a Gatekeeper older than modelled, a container that reconciles another cluster, and
rollouts stuck half-way (their ReplicaSets read)."""

from __future__ import annotations

import copy
from typing import Any

from scenarios.building import VAP_ONLY, Cluster, Scenario, ghost_constraint
from scenarios.observed import gatekeeper_deployments, running
from sweeper.core import observe
from sweeper.testing import objects as make

VAP = "--default-create-vap-for-templates"
VAPB = "--default-create-vap-binding-for-constraints"
ALL_KEPT = "kept"


def _required_labels(c: Cluster, *, legacy: bool) -> dict[str, str]:
    """A template whose VAP and binding exist only by the default flags (generateVAP unset,
    enforcementAction deny), named as a Gatekeeper of that scheme names them."""
    c.template("K8sRequiredLabels")
    owner = c.constraint("K8sRequiredLabels", "owner-label", binding=not legacy)
    if legacy:
        c.binding(owner, legacy=True)
    name = "gatekeeper-owner-label" if legacy else "gatekeeper-k8srequiredlabels-owner-label"
    return {"gatekeeper-k8srequiredlabels": ALL_KEPT, name: ALL_KEPT}


def bare_bool_flag(before: str) -> Scenario:
    """v3.18's documented bare ``--enable-pub-sub`` (a bool then) before a default flag the
    Helm values turn on: a bool never takes the next argument, so the flag stays on."""
    c = Cluster()
    expected = _required_labels(c, legacy=True)
    other = VAPB if before == VAP else VAP
    args = (f"{other}=true", "--enable-pub-sub", f"{before}=true")
    return Scenario(
        f"bare-bool-before-{before.lstrip('-')}", c.objects, expected, **running("v3.18.1", *args)
    )


def unknown_bare_flag() -> Scenario:
    """A flag no release defines, bare before a default flag: as a bool the binding default is
    off, as a value flag it swallows it (default on). The readings differ: not observed."""
    c = Cluster()
    expected = _required_labels(c, legacy=False)
    args = ("--some-future-flag", f"{VAPB}=false")
    return Scenario(
        "unknown-bare-flag-before-a-default-flag",
        c.objects,
        expected,
        **running("v3.23.0", *args, warning=observe.CAUSE_ARGS),
    )


def _both_names(c: Cluster) -> dict[str, Any]:
    c.template("K8sAllowedRepos")
    prod = c.constraint("K8sAllowedRepos", "prod-repos")
    c.binding(prod, legacy=True)
    return {"gatekeeper-k8sallowedrepos": ALL_KEPT}


def digest_only_both_names(flags: bool) -> Scenario:
    """Image pinned by digest, no chart labels: the version is unknown, and each binding name is
    the one some version manages. Without the flags in the args nothing is observed."""
    c = Cluster()
    expected = _both_names(c)
    held = "reported legacy-duplicate"
    expected |= {"gatekeeper-prod-repos": held, "gatekeeper-k8sallowedrepos-prod-repos": held}
    args = (f"{VAP}=true", f"{VAPB}=true") if flags else ()
    cause = observe.CAUSE_VERSION_UNKNOWN if flags else observe.CAUSE_FLAGS_UNKNOWN
    return Scenario(
        f"digest-only-image-both-names{'-flags-explicit' if flags else ''}",
        c.objects,
        expected,
        **running(None, *args, warning=cause),
    )


def tagged(version: str) -> Scenario:
    """Both binding names exist; the tag decides which one Gatekeeper manages. #4446 (new
    names) is in v3.22.1 and v3.23.0-rc.0, not in v3.23.0-beta.0."""
    c = Cluster()
    expected = _both_names(c)
    new = version in ("v3.22.1", "v3.23.0-rc.0")
    duplicate = "gatekeeper-prod-repos" if new else "gatekeeper-k8sallowedrepos-prod-repos"
    managed = "gatekeeper-k8sallowedrepos-prod-repos" if new else "gatekeeper-prod-repos"
    expected |= {duplicate: "deleted legacy-duplicate", managed: ALL_KEPT}
    return Scenario(f"tag-{version}-both-names", c.objects, expected, **running(version))


def flags_default_by_tag(version: str) -> Scenario:
    """Both default flags absent from the args: v3.20.0-beta.0 still defaulted them off,
    v3.20.0-rc.0 turned them on."""
    c = Cluster()
    on = version != "v3.20.0-beta.0"
    expected = _required_labels(c, legacy=True)
    if not on:
        expected = {name: "deleted not-wanted" for name in expected}
    c.template("K8sAllowedRepos", generate_vap=True)  # explicit: wanted either way
    c.constraint("K8sAllowedRepos", "scoped", binding=False, scoped=VAP_ONLY)
    c.binding(c.objects[-1], legacy=True)
    expected |= {"gatekeeper-k8sallowedrepos": ALL_KEPT, "gatekeeper-scoped": ALL_KEPT}
    return Scenario(f"tag-{version}-default-flags", c.objects, expected, **running(version))


def older_than_modelled() -> Scenario:
    """Gatekeeper v3.16.3 (a template label decides, no generateVAP): only the owner-gone rows
    delete; what would be not-wanted or a duplicate under v3.17+ rules is undecided."""
    c = Cluster()
    c.template("K8sBlockNodePort", generate_vap=False)
    c.constraint("K8sBlockNodePort", "no-nodeport", binding=False)
    c.binding(c.objects[-1], legacy=True)
    c.binding(ghost_constraint("K8sBlockNodePort", "gone"), legacy=True)
    deployments = gatekeeper_deployments("v3.16.3", operations=("audit", "status"))
    return Scenario(
        "older-than-modelled-v3.16.3",
        c.objects,
        {
            "gatekeeper-k8sblocknodeport": "undecided",
            "gatekeeper-no-nodeport": "undecided",
            "gatekeeper-gone": "deleted owner-deleted",
        },
        exit_code=4,
        **running(None, deployments=deployments, warning=observe.CAUSE_UNMODELLED),
    )


def remote_cluster_only() -> Scenario:
    """The only generating container runs --enable-remote-cluster with the binding default
    off: it reconciles another cluster, so nothing here generates, nothing is observed."""
    c = Cluster()
    expected = _required_labels(c, legacy=False)
    deployments = gatekeeper_deployments(
        "v3.23.0", "--enable-remote-cluster", "--kubeconfig=/etc/remote/kubeconfig", f"{VAPB}=0"
    )
    return Scenario(
        "remote-cluster-container-only",
        c.objects,
        expected,
        **running(None, deployments=deployments, warning=observe.CAUSE_NO_GENERATOR),
    )


def _rollout(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The audit Deployment of ``new`` stuck rolling out from ``old``'s: its new spec, the old
    template still running in a ReplicaSet it controls."""
    audit = make.stuck_rollout(new[0])
    old_template = copy.deepcopy(old[0]["spec"]["template"])
    replicasets = [
        make.replicaset(audit, "gatekeeper-audit-old", template=old_template, pods=1),
        make.replicaset(audit, "gatekeeper-audit-new", template=audit["spec"]["template"], pods=0),
    ]
    return [audit, new[1]], replicasets


def stuck_rollout(turned: str) -> Scenario:
    """The binding default changed by a Helm upgrade, the rollout stuck: old pods still run the
    old flag. Wanted if any running generation wants it."""
    c = Cluster()
    expected = _required_labels(c, legacy=False)
    off, on = (f"{VAPB}=false",), (f"{VAPB}=true",)
    old, new = (on, off) if turned == "off" else (off, on)
    deployments, replicasets = _rollout(
        gatekeeper_deployments("v3.23.0", *old), gatekeeper_deployments("v3.23.0", *new)
    )
    return Scenario(
        f"stuck-rollout-binding-default-turned-{turned}",
        c.objects,
        expected,
        **running(None, deployments=deployments, replicasets=replicasets),
    )


def image_only_rollout() -> Scenario:
    """Only the image changes, v3.22.0 to v3.22.1, stuck half-way: each generation manages
    another binding name, so the version is unknown and both names are held."""
    c = Cluster()
    expected = _both_names(c)
    held = "reported legacy-duplicate"
    expected |= {"gatekeeper-prod-repos": held, "gatekeeper-k8sallowedrepos-prod-repos": held}
    deployments, replicasets = _rollout(
        gatekeeper_deployments("v3.22.0"), gatekeeper_deployments("v3.22.1")
    )
    return Scenario(
        "image-only-rollout-v3.22.0-to-v3.22.1",
        c.objects,
        expected,
        **running(
            None,
            deployments=deployments,
            replicasets=replicasets,
            warning=observe.CAUSE_VERSION_UNKNOWN,
        ),
    )


def running_scenarios() -> list[Scenario]:
    return [
        bare_bool_flag(VAP),
        bare_bool_flag(VAPB),
        unknown_bare_flag(),
        digest_only_both_names(False),
        digest_only_both_names(True),
        *(tagged(v) for v in ("v3.23.0-beta.0", "v3.23.0-rc.0", "v3.22.1")),
        *(flags_default_by_tag(v) for v in ("v3.20.0-beta.0", "v3.20.0-rc.0")),
        older_than_modelled(),
        remote_cluster_only(),
        stuck_rollout("off"),
        stuck_rollout("on"),
        image_only_rollout(),
    ]
