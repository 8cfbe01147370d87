"""Objects whose owner lives but no longer wants them, and duplicate bindings, reconciled by
the real Gatekeeper v3.21.1: what the sweep deletes stays gone, what it keeps keeps its uid."""

from __future__ import annotations

import pytest
from gk_loop import Loop
from gk_world import LEGACY, NOT_VAP, SCOPED, UNKNOWN, apply_constraint

from sweeper.testing.flap import BINDING
from sweeper.testing.gatekeeper_templates import constraint
from sweeper.testing.rest import BINDINGS, wait_for

pytestmark = pytest.mark.gatekeeper


def test_a_constraint_switched_to_scoped_without_vap_keeps_its_binding_until_swept(
    loop: Loop,
) -> None:
    """v3.21.1 never deletes the binding of a constraint switched to ``scoped`` without
    ``vap.k8s.io`` (its delete branch is unreachable): a true leftover, still enforcing."""
    name = "gatekeeper-switched-to-scoped"
    uid = loop.uid(BINDING, name)
    switched = constraint(SCOPED.kind, "switched-to-scoped", action="scoped", scoped=NOT_VAP)
    apply_constraint(loop.rest, switched)
    loop.manager.wait_reconciled()
    assert loop.uid(BINDING, name) == uid, "Gatekeeper changed it: the bug this test needs is gone"

    run, verdict = loop.sweep()
    assert not verdict.problems()
    assert run.deleted() == {(BINDING, name): uid}
    assert run.verdicts()[name] == ("deleted", "not-wanted")
    assert loop.uid(BINDING, "gatekeeper-stays-deny")


def new_scheme_binding(loop: Loop, kind: str, constraint_name: str) -> str:
    """Make the binding a v3.22.1+ Gatekeeper makes for this constraint, before a rollback to
    v3.21.1: v3.22.1 names it ``gatekeeper-<lower kind>-<name>`` (GetVAPBindingName) and
    otherwise builds the same spec and controller ownerReference as v3.21.1 does for its
    legacy ``gatekeeper-<name>``. So: the legacy binding Gatekeeper made here, renamed. After
    the rollback, v3.21.1 re-creates its legacy one and never touches the new-scheme one."""
    legacy = loop.rest.get(f"{BINDINGS}/gatekeeper-{constraint_name}")
    name = f"gatekeeper-{kind.lower()}-{constraint_name}"
    loop.rest.create(
        BINDINGS,
        {
            "apiVersion": legacy["apiVersion"],
            "kind": legacy["kind"],
            "metadata": {"name": name, "ownerReferences": legacy["metadata"]["ownerReferences"]},
            "spec": legacy["spec"],
        },
    )
    return name


def test_a_rollback_to_legacy_naming_leaves_the_new_scheme_binding_as_the_duplicate(
    loop: Loop,
) -> None:
    legacy = "gatekeeper-rolled-back"
    new = new_scheme_binding(loop, LEGACY.kind, "rolled-back")
    legacy_uid, new_uid = loop.uid(BINDING, legacy), loop.uid(BINDING, new)
    loop.manager.wait_reconciled()
    assert loop.uid(BINDING, new) == new_uid  # v3.21.1 leaves the stranger alone

    run, verdict = loop.sweep()
    assert not verdict.problems()
    assert run.deleted() == {(BINDING, new): new_uid}
    assert run.verdicts()[new] == ("deleted", "legacy-duplicate")
    assert loop.uid(BINDING, legacy) == legacy_uid


def test_with_the_version_unknown_neither_name_of_a_pair_is_deleted(loop: Loop) -> None:
    """No Deployment to read (Gatekeeper not observed): either name may be the one the
    running Gatekeeper manages. Deleting the legacy one here would be a wrong deletion
    v3.21.1 answers by re-creating it; the sweep keeps both and reports the pair."""
    legacy = "gatekeeper-version-unknown"
    new = new_scheme_binding(loop, UNKNOWN.kind, "version-unknown")
    loop.manager.forget_deployment()
    try:
        run, verdict = loop.sweep()
    finally:
        loop.manager.describe()
        loop.rest.delete(f"{BINDINGS}/{new}")  # leave no pair for later sweeps
        wait_for(lambda: loop.uid(BINDING, new) is None, "the pair's new-scheme binding removed")
    assert run.of("gatekeeper_not_observed")
    assert not verdict.problems()
    assert not {name for (_, name) in run.deleted()} & {legacy, new}
    reasons = {run.verdicts().get(name, ("", ""))[1] for name in (legacy, new)}
    assert "legacy-duplicate" in reasons  # the pair is reported
