"""Property tests of the planner over random cluster states, against a ground-truth oracle.

The generator knows, for every constraint and template it creates, whether Gatekeeper
wants a binding or policy for it (from the choices it made, not from sweeper code), so the
oracle is independent of the planner's own rules.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweeper.core import gatekeeper as gk
from sweeper.core import observe
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.plan import plan
from sweeper.core.reasons import DELETE_REASONS, Action
from sweeper.core.settings import Rules
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

GENERATE = ["--operation=audit", "--operation=status", "--operation=generate"]
VAPB = "--default-create-vap-binding-for-constraints"
NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
KINDS = ("K8sAlpha", "K8sBeta", "K8sGamma")
# "k8sbeta-a" makes names collide: its legacy binding name is K8sBeta/a's new one.
NAMES = ("a", "shared", "k8sbeta-a")
# The oracle's own knowledge of Gatekeeper's releases, from their tags (not from sweeper
# code): (both default flags, new binding names); None: older than v3.17, where a template
# label decides (not modelled: the oracle assumes it may want anything whose owner lives).
RELEASES: dict[str, tuple[bool, bool] | None] = {
    "v3.16.3": None,
    "v3.18.1": (False, False),
    "v3.20.0-beta.0": (False, False),
    "v3.20.0-rc.0": (True, False),
    "v3.22.0": (True, False),
    "v3.22.1": (True, True),
    "v3.23.0-beta.0": (True, False),
    "v3.23.0-rc.0": (True, True),
    "v3.23.0": (True, True),
}
ACTIONS = (None, "deny", "warn", "dryrun", "scoped-vap", "scoped-audit", "scoped-star")
SCOPED = {
    "scoped-vap": [{"action": "deny", "enforcementPoints": [{"name": "vap.k8s.io"}]}],
    "scoped-audit": [{"action": "warn", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}],
    "scoped-star": [{"action": "warn", "enforcementPoints": [{"name": "*"}]}],
}
LISTS = (
    "crds",
    "template-crd",
    "templates",
    *(f"constraints/{k.lower()}" for k in KINDS),
    *(f"crd/{k.lower()}" for k in KINDS),
)


@dataclass(frozen=True)
class Generation:
    """One pod template of Gatekeeper's manager that runs (the truth, whatever the sweeper
    can see of it)."""

    version: str
    vap: bool | None  # explicit in its args; None: its version's default
    vapb: bool | None
    digest: bool = False  # image pinned by digest, no chart label: version not visible
    bare_bool: bool = False  # a bare bool flag (v3.18's --enable-pub-sub) before the flags

    def args(self) -> list[str]:
        args = ["--operation=audit", "--operation=status"]
        if RELEASES[self.version] is not None and self.version != "v3.16.3":
            args.append("--operation=generate")
        if self.bare_bool:
            args.append("--enable-pub-sub" if self.version == "v3.18.1" else "--log-denies")
        for flag, value in (
            ("vap-for-templates", self.vap),
            ("vap-binding-for-constraints", self.vapb),
        ):
            if value is not None:
                args.append(f"--default-create-{flag}={str(value).lower()}")
        return args

    def digest_image(self) -> str:
        """Its image pinned by digest: one digest per release, as a registry gives them."""
        return (
            "openpolicyagent/gatekeeper@sha256:" + hashlib.sha256(self.version.encode()).hexdigest()
        )

    def deployment(self, name: str) -> dict[str, Any]:
        deployment = make.gatekeeper_deployment(
            name,
            version=self.version,
            args=self.args(),
            image=self.digest_image() if self.digest else None,
            labels={} if self.digest else None,
        )
        deployment["metadata"]["uid"] = f"uid-{name}"
        return deployment

    def wants(self, *, template_vap: bool | None, cel: bool) -> bool:
        """Whether it wants a template's VAP (v3.17+)."""
        release = RELEASES[self.version]
        assert release is not None
        flag = self.vap if self.vap is not None else release[0]
        return cel and (template_vap if template_vap is not None else flag)


@st.composite
def generations(draw: st.DrawFn) -> Generation:
    version = draw(st.sampled_from(sorted(RELEASES)))
    modelled = RELEASES[version] is not None
    flags = st.sampled_from([None, True, False]) if modelled else st.just(None)
    return Generation(version, draw(flags), draw(flags), draw(st.booleans()), draw(st.booleans()))


@dataclass
class World:
    """A generated cluster state and the truth about what Gatekeeper wants in it."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    defaults: GatekeeperDefaults = field(default_factory=GatekeeperDefaults)  # the sweeper's
    running: list[Generation] = field(default_factory=list)  # every generation that runs
    wanted_policies: set[str] = field(default_factory=set)
    # binding name -> the live constraints (kind, name) some running generation wants it for
    wanted: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # owners that live (listed, not terminating): (kind or "template", name) -> their names
    live_names: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    rejected_templates: set[str] = field(default_factory=set)  # kinds Gatekeeper rejects


def _gatekeeper(draw: st.DrawFn, world: World) -> None:
    """What runs, and what the sweeper observes of it (through the real observe and resolve):
    one Deployment, a rollout stuck between two generations, or nothing readable (a hidden
    v3.17+ generation runs); sometimes beside a container that reconciles another cluster."""
    mode = draw(st.sampled_from(["one", "rollout", "unreadable"]))
    first = draw(generations())
    deployments: list[dict[str, Any]] = []
    replicasets: list[dict[str, Any]] = []
    if mode == "unreadable":
        while RELEASES[first.version] is None:
            first = draw(generations())
        world.running = [first]
    elif mode == "one":
        world.running = [first]
        deployments = [first.deployment("gatekeeper-audit")]
    else:
        second = draw(generations())
        world.running = [first, second]
        audit = make.stuck_rollout(second.deployment("gatekeeper-audit"))
        old = first.deployment("gatekeeper-audit")["spec"]["template"]
        replicasets = [make.replicaset(audit, "gatekeeper-audit-old", template=old)]
        deployments = [audit]
    if deployments and draw(st.booleans()):
        remote = make.gatekeeper_deployment(
            "gatekeeper-remote",
            version="v3.23.0",
            args=[*GENERATE, "--enable-remote-cluster", "--kubeconfig=/remote", f"{VAPB}=false"],
        )
        deployments.append(remote)
    observation = observe.observe(deployments)
    if observation.needs_replicasets:
        observation = observe.observe(deployments, replicasets=replicasets)
    world.defaults = observe.resolve(observation).defaults


def _generation_wants(world: World, gen: Generation, templates: list, constraints: list) -> None:
    """Add what one running generation wants to the world's truth."""
    release = RELEASES[gen.version]
    for kind, present, cel, generate_vap in templates:
        if not present:
            continue
        if release is None or gen.wants(template_vap=generate_vap, cel=cel):
            world.wanted_policies.add(gk.policy_name(kind.lower()))
    wanting = {kind for kind, present, cel, generate_vap in templates if present}
    for kind, name, action in constraints:
        if kind not in wanting:
            continue
        names = set(gk.binding_names(kind, name))
        if release is not None:
            template = next(t for t in templates if t[0] == kind)
            if not gen.wants(template_vap=template[3], cel=template[2]):
                continue
            vapb = gen.vapb if gen.vapb is not None else release[0]
            scoped = action is not None and action.startswith("scoped")
            if not (action in ("scoped-vap", "scoped-star") if scoped else vapb):
                continue
            names = {gk.binding_name(kind, name) if release[1] else gk.legacy_binding_name(name)}
        for binding in names:
            world.wanted.setdefault(binding, set()).add((kind, name))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    world = World()
    _gatekeeper(draw, world)
    templates: list[tuple[str, bool, bool, bool | None]] = []
    constraints: list[tuple[str, str, str | None]] = []
    installed = draw(st.sampled_from([True, True, True, False]))  # mostly installed
    if installed:
        world.objects.append(make.template_crd())
    for kind in KINDS:
        template_state = draw(
            st.sampled_from(["absent", "present", "crd-only", "terminating", "rejected"])
        )
        cel = draw(st.booleans())
        generate_vap = draw(st.sampled_from([None, True, False]))
        targets = 2 if template_state == "rejected" else 1
        template = make.template(
            kind, cel=cel, generate_vap=generate_vap, uid=str(uuid.uuid4()), targets=targets
        )
        listed = installed and template_state in ("present", "terminating", "rejected")
        if listed:
            world.objects.append(_ending(stamp(template), template_state == "terminating"))
        if installed and template_state == "rejected":
            world.rejected_templates.add(kind)
        present = installed and template_state == "present"
        if installed and template_state in ("present", "rejected"):
            world.live_names[("template", kind.lower())] = {gk.policy_name(kind.lower())}
        if installed and template_state != "absent":
            world.objects.append(make.constraint_crd(template))
        templates.append((kind, present, cel, generate_vap))
        for policy_variant in draw(
            st.lists(st.sampled_from(["owned", "stale", "unowned", "renamed"]), max_size=2)
        ):
            owner = (
                template
                if policy_variant != "stale"
                else make.template(kind, uid=str(uuid.uuid4()))
            )
            policy = stamp(make.policy(owner, owned=policy_variant != "unowned"))
            if policy_variant == "renamed":  # a user's policy with a copied ownerReference
                policy["metadata"]["name"] = f"user-{kind.lower()}"
            world.objects.append(policy)
        for name in NAMES:
            action = draw(st.sampled_from(ACTIONS))
            constraint = make.constraint(
                kind, name, uid=str(uuid.uuid4()), **_action_options(action)
            )
            state = draw(st.sampled_from(["gone", "live", "live", "terminating"]))
            listed = installed and template_state != "absent" and state != "gone"
            live = listed and state == "live"
            if listed:
                world.objects.append(_ending(stamp(constraint), state == "terminating"))
            if live:
                world.live_names[(kind, name)] = set(gk.binding_names(kind, name))
                constraints.append((kind, name, action))
            variants = draw(
                st.lists(
                    st.sampled_from(
                        [
                            "new",
                            "legacy",
                            "stale-new",
                            "unowned-new",
                            "unowned-legacy",
                            "foreign",
                            "renamed",
                            "other-name",
                        ]
                    ),
                    max_size=3,
                    unique=True,
                )
            )
            for variant in variants:
                world.objects.append(stamp(_binding(constraint, variant)))
    for gen in world.running:
        _generation_wants(world, gen, templates, constraints)
    return world


def _ending(obj: dict[str, Any], terminating: bool) -> dict[str, Any]:
    """The object with a deletionTimestamp when it is stuck terminating behind a finalizer."""
    if terminating:
        obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:30:00Z"
        obj["metadata"]["finalizers"] = ["example.com/hold"]
    return obj


def _action_options(action: str | None) -> dict[str, Any]:
    if action is None:
        return {}
    if action in SCOPED:
        return {"scoped": SCOPED[action]}
    return {"enforcement_action": action}


def _binding(constraint: dict[str, Any], variant: str) -> dict[str, Any]:
    if variant == "foreign":
        return make.foreign_binding(
            f"gatekeeper-user-{constraint['kind'].lower()}-{constraint['metadata']['name']}",
            policy_name="user-policy",
        )
    if variant == "stale-new":
        constraint = copy.deepcopy(constraint)
        constraint["metadata"]["uid"] = str(uuid.uuid4())
    if variant in ("renamed", "other-name"):  # a copied ownerReference on a user's binding
        binding = make.binding(constraint)
        kind, name = constraint["kind"], constraint["metadata"]["name"]
        other = NAMES[(NAMES.index(name) + 1) % len(NAMES)]
        binding["metadata"]["name"] = (
            f"user-{kind.lower()}-{name}" if variant == "renamed" else gk.binding_name(kind, other)
        )
        return binding
    return make.binding(
        constraint, legacy=variant.endswith("legacy"), owned=not variant.startswith("unowned")
    )


def _rules(world: World, include_unowned: bool) -> Rules:
    reasons = DELETE_REASONS if include_unowned else Rules().reasons
    return Rules(gatekeeper=world.defaults, reasons=reasons, min_age=timedelta(0))


def _deleted(objects: list[dict[str, Any]], rules: Rules, failed: tuple[str, ...] = ()) -> set:
    result = plan(snapshot(objects, failed=failed), rules, now=NOW)
    return {(v.obj.kind, v.obj.name) for v in result.deletions}


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(world=worlds(), include_unowned=st.booleans())
def test_never_deletes_what_any_running_generation_wants(
    world: World, include_unowned: bool
) -> None:
    """No object that any running generation of Gatekeeper wants is ever deleted: whatever
    runs (exact tags, explicit or default flags, a bare bool flag, a digest-only image, a
    rollout stuck between two generations, v3.16, nothing readable, a remote-cluster
    container beside it), the sweeper observes it and plans with what it observed."""
    result = plan(snapshot(world.objects), _rules(world, include_unowned), now=NOW)
    for verdict in result.deletions:
        obj = verdict.obj
        if not obj.is_binding:
            assert obj.name not in world.wanted_policies, (verdict, world.running)
            continue
        ref = obj.owner if obj.owner and obj.owner.group == gk.CONSTRAINTS_GROUP else None
        if ref is None:  # unowned: Gatekeeper adopts it for any live constraint wanting the name
            assert obj.name not in world.wanted, (verdict, world.running)
            continue
        assert (ref.kind, ref.name) not in world.wanted.get(obj.name, set()), (
            verdict,
            world.running,
        )


@SETTINGS
@given(world=worlds(), include_unowned=st.booleans())
def test_only_gatekeeper_owned_or_opted_in_fingerprints_are_deleted(
    world: World, include_unowned: bool
) -> None:
    result = plan(snapshot(world.objects), _rules(world, include_unowned), now=NOW)
    for verdict in result.deletions:
        owner = verdict.obj.owner
        group = gk.CONSTRAINTS_GROUP if verdict.obj.is_binding else gk.TEMPLATES_GROUP
        if owner is not None and owner.group == group:
            continue
        assert include_unowned and not verdict.obj.has_owner_refs
        assert verdict.obj.fingerprint is not None


@SETTINGS
@given(world=worlds(), failed=st.lists(st.sampled_from(LISTS), unique=True, min_size=1))
def test_failed_lists_only_ever_remove_deletions(world: World, failed: list[str]) -> None:
    rules = _rules(world, include_unowned=True)
    assert _deleted(world.objects, rules, tuple(failed)) <= _deleted(world.objects, rules)


@SETTINGS
@given(world=worlds(), include_unowned=st.booleans())
def test_planning_is_idempotent(world: World, include_unowned: bool) -> None:
    rules = _rules(world, include_unowned)
    gone = _deleted(world.objects, rules)
    after = [o for o in world.objects if (o["kind"], o["metadata"]["name"]) not in gone]
    assert _deleted(after, rules) == set()


@SETTINGS
@given(world=worlds())
def test_every_verdict_is_one_of_the_documented_rows(world: World) -> None:
    result = plan(snapshot(world.objects), _rules(world, True), now=NOW)
    for verdict in result.verdicts:
        if verdict.action is Action.DELETE:
            assert verdict.reason in DELETE_REASONS
            assert verdict.recheck is not None and verdict.owner is not None


@SETTINGS
@given(world=worlds(), include_unowned=st.booleans())
def test_nothing_without_its_owners_name_is_deleted_while_the_owner_lives(
    world: World, include_unowned: bool
) -> None:
    """The "name carried" rule (rows 7/7b), whatever the flags and the version."""
    result = plan(snapshot(world.objects), _rules(world, include_unowned), now=NOW)
    for verdict in result.deletions:
        ref = verdict.obj.owner
        if ref is None:
            continue
        key = (ref.kind, ref.name) if verdict.obj.is_binding else ("template", ref.name)
        names = world.live_names.get(key)
        if names is not None:
            assert verdict.obj.name in names, verdict


@SETTINGS
@given(world=worlds(), include_unowned=st.booleans())
def test_a_rejected_template_loses_nothing(world: World, include_unowned: bool) -> None:
    """Row 6b: Gatekeeper returns before touching a rejected template's objects."""
    result = plan(snapshot(world.objects), _rules(world, include_unowned), now=NOW)
    for verdict in result.deletions:
        ref = verdict.obj.owner
        if ref is None or ref.group not in (gk.CONSTRAINTS_GROUP, gk.TEMPLATES_GROUP):
            continue
        if verdict.obj.is_binding:
            live = (ref.kind, ref.name) in world.live_names
            assert not (live and ref.kind in world.rejected_templates), verdict
        else:
            rejected = {k.lower() for k in world.rejected_templates}
            assert ref.name not in rejected, verdict
