"""Leftovers made by ``--cascade=orphan`` while Gatekeeper is down, the way they happen: the
garbage collector strips the ownerReferences, and a Gatekeeper that comes back in a new Pod
(its old Pod's status objects collected with it) never looks at them again."""

from __future__ import annotations

import pytest
from gk_loop import Loop
from gk_world import ORPHAN, ORPHAN_TEMPLATE

from sweeper.testing.flap import BINDING, POLICY
from sweeper.testing.rest import BINDINGS, CRDS, POLICIES, TEMPLATES, constraints_path, wait_for

pytestmark = pytest.mark.gatekeeper


def orphan_delete(loop: Loop, path: str) -> None:
    """``kubectl delete --cascade=orphan``, with Gatekeeper down; wait until it is gone."""
    loop.manager.stop()
    try:
        loop.rest.delete(path, propagation="Orphan")
        wait_for(lambda: loop.rest.get(path) is None, f"{path} deleted (orphan)", timeout=60)
    finally:
        loop.manager.start()


def test_a_constraint_orphaned_by_cascade_is_reported_then_deleted_only_when_asked(
    loop: Loop,
) -> None:
    name = "gatekeeper-orphaned-by-cascade"
    orphan_delete(loop, f"{constraints_path(ORPHAN.kind)}/orphaned-by-cascade")
    binding = loop.rest.get(f"{BINDINGS}/{name}")
    assert binding is not None, "Gatekeeper or the collector removed it: no leftover to sweep"
    assert not binding["metadata"].get("ownerReferences")
    uid = binding["metadata"]["uid"]

    run, verdict = loop.sweep()
    assert not verdict.problems()
    assert run.verdicts()[name] == ("reported", "orphaned-unowned")
    assert loop.uid(BINDING, name) == uid

    run, verdict = loop.sweep("--include-unowned")
    assert not verdict.problems()  # deleted and not re-created: Gatekeeper did not want it
    assert run.deleted() == {(BINDING, name): uid}
    assert loop.uid(BINDING, name) is None
    assert loop.uid(BINDING, "gatekeeper-kept-beside")  # its sibling stays


def test_a_template_orphaned_by_cascade_leaves_a_policy_reported_and_a_binding_not_wanted(
    loop: Loop,
) -> None:
    """The template goes with ``--cascade=orphan`` while Gatekeeper is down: its policy and
    constraint CRD stay, ownerless; the constraint and its binding stay too. Gatekeeper,
    back, has no template to want either."""
    policy, binding = ORPHAN_TEMPLATE.policy, "gatekeeper-outlives-template"
    orphan_delete(loop, f"{TEMPLATES}/{ORPHAN_TEMPLATE.name}")
    left = loop.rest.get(f"{POLICIES}/{policy}")
    assert left is not None and not left["metadata"].get("ownerReferences")
    assert loop.rest.get(f"{CRDS}/{ORPHAN_TEMPLATE.name}.constraints.gatekeeper.sh")
    assert loop.rest.get(f"{BINDINGS}/{binding}")["metadata"]["ownerReferences"]
    policy_uid = left["metadata"]["uid"]

    run, verdict = loop.sweep()
    assert not verdict.problems()
    verdicts = run.verdicts()
    assert verdicts[policy] == ("reported", "orphaned-unowned")
    assert loop.uid(POLICY, policy) == policy_uid
    assert verdicts[binding] == ("deleted", "not-wanted")
    assert loop.uid(BINDING, binding) is None
