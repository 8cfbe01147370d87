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

from sweeper import gatekeeper as gk
from sweeper.gatekeeper import GatekeeperDefaults
from sweeper.plan import plan
from sweeper.reasons import DELETE_REASONS, Action
from sweeper.records import BINDING_KIND
from sweeper.settings import Rules
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
KINDS = ("K8sAlpha", "K8sBeta", "K8sGamma")
# "k8sbeta-a" makes names collide: its legacy binding name is K8sBeta/a's new one.
NAMES = ("a", "shared", "k8sbeta-a")
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


@st.composite
def worlds(draw: st.DrawFn) -> World:
    world = World(
        defaults=GatekeeperDefaults(create_vap=draw(st.booleans()), create_vapb=draw(st.booleans()))
    )
    installed = draw(st.sampled_from([True, True, True, False]))  # mostly installed
    if installed:
        world.objects.append(make.template_crd())
    for kind in KINDS:
        template_state = draw(st.sampled_from(["absent", "present", "crd-only"]))
        cel = draw(st.booleans())
        generate_vap = draw(st.sampled_from([None, True, False]))
        template = make.template(kind, cel=cel, generate_vap=generate_vap, uid=str(uuid.uuid4()))
        present = installed and template_state == "present"
        if present:
            world.objects.append(stamp(template))
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
            st.lists(st.sampled_from(["owned", "stale", "unowned"]), max_size=1)
        ):
            owner = (
                template
                if policy_variant != "stale"
                else make.template(kind, uid=str(uuid.uuid4()))
            )
            world.objects.append(stamp(make.policy(owner, owned=policy_variant != "unowned")))
        for name in NAMES:
            action = draw(st.sampled_from(ACTIONS))
            constraint = make.constraint(
                kind, name, uid=str(uuid.uuid4()), **_action_options(action)
            )
            live = installed and template_state != "absent" and draw(st.booleans())
            if live:
                world.objects.append(stamp(constraint))
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
                        ["new", "legacy", "stale-new", "unowned-new", "unowned-legacy", "foreign"]
                    ),
                    max_size=2,
                    unique=True,
                )
            )
            for variant in variants:
                world.objects.append(stamp(_binding(constraint, variant)))
    return world


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
    return make.binding(
        constraint, legacy=variant.endswith("legacy"), owned=not variant.startswith("unowned")
    )


def _rules(world: World, include_unowned: bool) -> Rules:
    reasons = DELETE_REASONS if include_unowned else Rules().reasons
    return Rules(gatekeeper=world.defaults, reasons=reasons, min_age=timedelta(0))


def _deleted(objects: list[dict[str, Any]], rules: Rules, failed: tuple[str, ...] = ()) -> set:
    result = plan(snapshot(objects, failed=failed), rules, now=NOW)
    return {(v.obj.kind, v.obj.name) for v in result.deletions}


def _new_binding_owned_by(world: World, owner: tuple[str, str]) -> bool:
    kind, name = owner
    for obj in world.objects:
        if obj["kind"] == BINDING_KIND and obj["metadata"]["name"] == gk.binding_name(kind, name):
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
        assert owner not in world.wanted_new.get(obj.name, set()), verdict
        if owner in world.wanted_legacy.get(obj.name, set()):
            # Only as a legacy duplicate: the owner's new-scheme binding enforces instead.
            assert _new_binding_owned_by(world, owner), verdict


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
