"""``sweeper restore`` with Gatekeeper in the loop: what it puts back is not fought over.
Gatekeeper neither deletes nor replaces the restored objects, the next sweep holds them
(``restored``), and once released (annotation removed) they are judged again."""

from __future__ import annotations

import pytest
from gk_loop import Loop, Run
from gk_world import NOT_VAP, RESTORE, apply_constraint

from sweeper.core.reasons import RESTORED_AT_ANNOTATION
from sweeper.testing.flap import BINDING
from sweeper.testing.gatekeeper_templates import constraint
from sweeper.testing.rest import BINDINGS, constraints_path, wait_for

pytestmark = pytest.mark.gatekeeper


def test_restored_objects_are_left_alone_by_gatekeeper_and_by_the_next_sweep(loop: Loop) -> None:
    orphaned, scoped = "gatekeeper-restore-orphaned", "gatekeeper-restore-scoped"
    loop.manager.stop()
    try:
        path = f"{constraints_path(RESTORE.kind)}/restore-orphaned"
        loop.rest.delete(path, propagation="Orphan")
        wait_for(lambda: loop.rest.get(path) is None, "constraint deleted (orphan)", timeout=60)
    finally:
        loop.manager.start()
    apply_constraint(
        loop.rest, constraint(RESTORE.kind, "restore-scoped", action="scoped", scoped=NOT_VAP)
    )
    run, verdict = loop.sweep("--include-unowned")
    assert not verdict.problems()
    assert {name for (_, name) in run.deleted()} >= {orphaned, scoped}

    try:
        restored_then_released(loop, run, orphaned, scoped)
    finally:  # leave nothing restored for the tests after this one
        for name in (orphaned, scoped):
            loop.rest.delete(f"{BINDINGS}/{name}")


def restored_then_released(loop: Loop, run: Run, orphaned: str, scoped: str) -> None:
    restored, verdict = loop.restore(run, "--name", orphaned, "--name", scoped)
    assert restored.code == 0, restored.stderr
    assert {e["object_name"] for e in restored.of("restored")} == {orphaned, scoped}
    assert not verdict.problems()  # Gatekeeper deleted or replaced none of them
    uids = {name: loop.uid(BINDING, name) for name in (orphaned, scoped)}
    assert all(uids.values())
    # restore kept the ownerReference only where the owner lives with that uid
    assert not loop.rest.get(f"{BINDINGS}/{orphaned}")["metadata"].get("ownerReferences")
    assert loop.rest.get(f"{BINDINGS}/{scoped}")["metadata"].get("ownerReferences")

    # The next scheduled sweep, even one asked to clean ownerless objects: a restore is a
    # decision, both are held (``restored``) with their uids; Gatekeeper still fights nothing.
    again, verdict = loop.sweep("--include-unowned")
    assert not verdict.problems()
    assert again.verdicts()[orphaned] == ("restored", "orphaned-unowned")
    assert again.verdicts()[scoped] == ("restored", "not-wanted")
    assert {name: loop.uid(BINDING, name) for name in uids} == uids

    # Released as the runbook says (the restored-at annotation removed): the live owner's
    # unwanted binding goes again and stays gone; the ownerless one is reported, not deleted
    # (restore dropped its dead ownerReference).
    for name in uids:
        release = {"metadata": {"annotations": {RESTORED_AT_ANNOTATION: None}}}
        loop.rest.merge(f"{BINDINGS}/{name}", release)
    released, verdict = loop.sweep()
    assert not verdict.problems()
    assert released.deleted() == {(BINDING, scoped): uids[scoped]}
    assert released.verdicts()[orphaned] == ("reported", "orphaned-unowned")
    assert loop.uid(BINDING, orphaned) == uids[orphaned]
