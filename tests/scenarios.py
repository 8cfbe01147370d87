"""The scenario corpus: realistic cluster states, one per way a VAP or VAPB is left behind.

Each scenario is a list of objects as Gatekeeper, the garbage collector and users leave
them, and the expected outcome for every VAP and VAPB in it:

- ``deleted <reason>``: a candidate the sweep deletes;
- ``reported <reason>``: kept, with a log line (an anomaly, or a reason not selected);
- ``undecided``: kept, the sweep could not decide;
- ``kept``: Gatekeeper wants it;
- ``ignored``: not Gatekeeper's.

Templates are modelled on gatekeeper-library's CEL templates (k8srequiredlabels,
k8sallowedrepos, k8scontainerlimits, k8sblocknodeport): a K8sNativeValidation code entry
beside the Rego one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sweeper import gatekeeper as gk
from sweeper import observe
from sweeper.gatekeeper import GatekeeperDefaults
from sweeper.testing import objects as make
from sweeper.testing.snapshot import stamp

V1BETA1 = "admissionregistration.k8s.io/v1beta1"
VAP_ONLY = [{"action": "deny", "enforcementPoints": [{"name": gk.VAP_ENFORCEMENT_POINT}]}]
AUDIT_ONLY = [{"action": "warn", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}]


@dataclass(frozen=True)
class Scenario:
    name: str
    objects: list[dict[str, Any]]
    expected: dict[str, str]  # VAP/VAPB name -> outcome
    include_unowned: bool = False
    defaults: GatekeeperDefaults = field(default_factory=GatekeeperDefaults)
    vap_version: str = "v1"
    # Gatekeeper's Deployments in gatekeeper-system; ``defaults`` is what observing them gives
    # (until the sweep observes them itself over HTTP, the scenario resolves them here).
    deployments: list[dict[str, Any]] = field(default_factory=list)


class Cluster:
    """Builds one scenario's objects the way a live cluster would hold them."""

    def __init__(self, api_version: str = "admissionregistration.k8s.io/v1") -> None:
        self.objects: list[dict[str, Any]] = [make.template_crd()]
        self.api_version = api_version

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects.append(stamp(obj))
        return obj

    def template(self, kind: str, *, policy: bool = True, **options: Any) -> dict[str, Any]:
        template = self.add(make.template(kind, **options))
        self.add(make.constraint_crd(template))
        if policy:
            self.add(make.policy(template, api_version=self.api_version))
        return template

    def constraint(self, kind: str, name: str, *, binding: bool = True, **options: Any) -> dict:
        constraint = self.add(make.constraint(kind, name, **options))
        if binding:
            self.add(make.binding(constraint, api_version=self.api_version))
        return constraint

    def binding(self, owner: dict[str, Any], **options: Any) -> dict[str, Any]:
        return self.add(make.binding(owner, api_version=self.api_version, **options))

    def policy(self, template: dict[str, Any], **options: Any) -> dict[str, Any]:
        return self.add(make.policy(template, api_version=self.api_version, **options))

    def without_crds(self) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects
            if o["kind"] not in ("CustomResourceDefinition", gk.TEMPLATE_KIND)
        ]


def ghost_constraint(kind: str, name: str) -> dict[str, Any]:
    """A constraint that no longer exists: only its dependents remember its uid."""
    return make.constraint(kind, name, uid=str(uuid.uuid4()))


def ghost_template(kind: str) -> dict[str, Any]:
    return make.template(kind, uid=str(uuid.uuid4()))


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
    c.policy(limits_template)  # generated while the template still had its CEL code
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
    return Scenario(
        "5-upgrade-legacy-duplicate",
        c.objects,
        {
            "gatekeeper-k8sallowedrepos": "kept",
            "gatekeeper-k8sallowedrepos-prod-repos": "kept",
            "gatekeeper-prod-repos": "deleted legacy-duplicate",
            "gatekeeper-dev-repos": "kept",  # Gatekeeper <= v3.22.0 still names it so
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


def _terminating(obj: dict[str, Any]) -> None:
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:10:00Z"
    obj["metadata"]["finalizers"] = ["example.com/hold"]


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


def corpus() -> list[Scenario]:
    builders: list[Callable[[], Scenario]] = [
        constraint_deleted,
        template_deleted,
        gatekeeper_uninstalled,
        enforcement_point_removed,
        defaults_off,
        upgrade_renamed,
        lambda: orphaned_by_cascade(False),
        lambda: orphaned_by_cascade(True),
        owner_replaced,
        policy_missing,
        same_name_two_kinds,
        legacy_new_name_collision,
        long_names,
        v1beta1_cluster,
        users_objects,
        block_annotation,
        mixed_production,
        copied_owner_references,
        two_target_template,
        terminating_owner,
        observed_v3_22_0,
        observed_binding_default_off,
    ]
    return [build() for build in builders]
