"""Leftovers whose owner is gone or going, made by Gatekeeper and the garbage collector:
a template stuck terminating behind a finalizer, and a constraint kind no longer served."""

from __future__ import annotations

import pytest
from gk_loop import Loop
from gk_world import TERMINATING, Kind, apply_constraint

from sweeper.testing.flap import BINDING, POLICY
from sweeper.testing.gatekeeper_templates import constraint
from sweeper.testing.rest import BINDINGS, CRDS, POLICIES, TEMPLATES, wait_for

pytestmark = pytest.mark.gatekeeper
HOLD = "gkloop.test/hold"


def test_a_template_stuck_terminating_leaves_its_policy_and_the_sweep_takes_it(loop: Loop) -> None:
    """Deleted while Gatekeeper is down, held by a finalizer: Gatekeeper, back, deletes the
    bindings but leaves the policy of the terminating template (measured). The sweep
    deletes it (``owner-deleted``, terminating) and Gatekeeper does not re-create it."""
    path = f"{TEMPLATES}/{TERMINATING.name}"
    loop.rest.merge(path, {"metadata": {"finalizers": [HOLD]}})
    try:
        loop.manager.stop()
        try:
            loop.rest.delete(path)
        finally:
            loop.manager.start()
        assert loop.rest.get(path)["metadata"].get("deletionTimestamp")
        uid = loop.uid(POLICY, TERMINATING.policy)
        assert uid, "Gatekeeper removed the policy itself: no leftover to sweep"

        run, verdict = loop.sweep()
        assert not verdict.problems()
        assert run.verdicts()[TERMINATING.policy] == ("deleted", "owner-deleted")
        assert run.deleted().get((POLICY, TERMINATING.policy)) == uid
    finally:
        loop.rest.merge(path, {"metadata": {"finalizers": None}})
        wait_for(lambda: loop.rest.get(path) is None, "the held template released")


def make_kind_gone_leftover(loop: Loop, attempt: int) -> tuple[str, str] | None:
    """A template and constraint applied and removed again while the collector does not yet
    watch the new kind (it learns kinds at its 30 s discovery resync; kubernetes#102641): the
    template goes while Gatekeeper is down, the collector takes its policy and CRD, the CRD
    takes the constraint, and the binding stays, owned by a kind no longer served. Returns
    (binding name, uid), or None when the collector won the race this time."""
    kind = Kind(f"GkKindGone{attempt}")
    name = f"gone-{attempt}"
    loop.rest.apply(f"{TEMPLATES}/{kind.name}", kind.template)
    wait_for(lambda: loop.rest.get(f"{CRDS}/{kind.name}.constraints.gatekeeper.sh"), "CRD")
    apply_constraint(loop.rest, constraint(kind.kind, name))
    binding = f"gatekeeper-{name}"
    wait_for(lambda: loop.rest.get(f"{BINDINGS}/{binding}"), "its binding")
    loop.manager.stop()
    try:
        loop.rest.delete(f"{TEMPLATES}/{kind.name}")
        crd = f"{CRDS}/{kind.name}.constraints.gatekeeper.sh"
        wait_for(lambda: loop.rest.get(crd) is None, "the constraint CRD collected")
        wait_for(lambda: loop.rest.get(f"{POLICIES}/{kind.policy}") is None, "the VAP collected")
    finally:
        loop.manager.start()
    left = loop.rest.get(f"{BINDINGS}/{binding}")
    return (binding, left["metadata"]["uid"]) if left else None


def test_a_binding_whose_constraint_kind_is_no_longer_served_is_deleted_and_stays_gone(
    loop: Loop,
) -> None:
    leftover = None
    for attempt in range(3):  # the collector may resync inside the few seconds this takes
        leftover = make_kind_gone_leftover(loop, attempt)
        if leftover:
            break
    assert leftover, "the garbage collector took the binding three times: no leftover made"
    name, uid = leftover

    run, verdict = loop.sweep()
    assert not verdict.problems()
    assert run.verdicts()[name] == ("deleted", "owner-kind-gone")
    assert run.deleted()[(BINDING, name)] == uid
