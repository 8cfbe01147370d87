"""Property tests of the planner over random cluster states, against a ground-truth oracle.

The generator knows, for every constraint and template it creates, whether Gatekeeper
wants a binding or policy for it (from the choices it made, not from sweeper code), so the
oracle is independent of the planner's own rules.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweeper.core import gatekeeper as gk
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.plan import plan
from sweeper.core.reasons import DELETE_REASONS, Action
from sweeper.core.records import BINDING_KIND
from sweeper.core.settings import Rules
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
KINDS = ("K8sAlpha", "K8sBeta", "K8sGamma")
# "k8sbeta-a" makes names collide: its legacy binding name is K8sBeta/a's new one.
NAMES = ("a", "shared", "k8sbeta-a")
VERSIONS = (None, (3, 19, 0), (3, 22, 0), (3, 22, 1), (3, 23, 0))
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


@dataclass
class World:
    """A generated cluster state and the truth about what Gatekeeper wants in it."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    defaults: GatekeeperDefaults = field(default_factory=GatekeeperDefaults)
    wanted_policies: set[str] = field(default_factory=set)
    # binding name -> the live constraints (kind, name) that want a binding of that name
    wanted_new: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    wanted_legacy: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # owners that live (listed, not terminating): (kind or "template", name) -> their names
    live_names: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    rejected_templates: set[str] = field(default_factory=set)  # kinds Gatekeeper rejects


@st.composite
def worlds(draw: st.DrawFn) -> World:
    world = World(
        defaults=GatekeeperDefaults(
            create_vap=draw(st.booleans()),
            create_vapb=draw(st.booleans()),
            version=draw(st.sampled_from(VERSIONS)),
        )
    )
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
        template_wants = (
            present
            and cel
            and (generate_vap if generate_vap is not None else world.defaults.create_vap)
        )
        if template_wants:
            world.wanted_policies.add(gk.policy_name(kind.lower()))
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
                wants = template_wants and (
                    action in ("scoped-vap", "scoped-star")
                    if action and action.startswith("scoped")
                    else world.defaults.create_vapb
                )
                if wants:
                    owner = (kind, name)
                    world.wanted_new.setdefault(gk.binding_name(kind, name), set()).add(owner)
                    world.wanted_legacy.setdefault(gk.legacy_binding_name(name), set()).add(owner)
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


def _binding_owned_by(world: World, name: str, owner: tuple[str, str]) -> bool:
    for obj in world.objects:
        if obj["kind"] == BINDING_KIND and obj["metadata"]["name"] == name:
            ref = gk.controller_owner(obj)
            if ref is not None and (ref.kind, ref.name) == owner:
                return True
    return False


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(world=worlds(), include_unowned=st.booleans())
def test_never_deletes_what_gatekeeper_wants(world: World, include_unowned: bool) -> None:
    result = plan(snapshot(world.objects), _rules(world, include_unowned), now=NOW)
    for verdict in result.deletions:
        obj = verdict.obj
        if not obj.is_binding:
            assert obj.name not in world.wanted_policies, verdict
            continue
        ref = obj.owner if obj.owner and obj.owner.group == gk.CONSTRAINTS_GROUP else None
        if ref is None:  # unowned: Gatekeeper adopts it for any live constraint wanting the name
            assert obj.name not in world.wanted_new, verdict
            assert obj.name not in world.wanted_legacy, verdict
            continue
        owner = (ref.kind, ref.name)
        if owner in world.wanted_new.get(obj.name, set()) | world.wanted_legacy.get(
            obj.name, set()
        ):
            # Only as a duplicate: the binding under the name Gatekeeper manages enforces.
            managed = gk.managed_binding_name(ref.kind, ref.name, world.defaults)
            assert obj.name != managed, verdict
            assert _binding_owned_by(world, managed, owner), verdict


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
