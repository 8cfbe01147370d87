"""Gatekeeper uninstalled (runs last: it removes Gatekeeper's CRDs for good): the manager
stopped, its Deployment and CRDs deleted. The garbage collector takes what it can resolve;
what is left is swept as ``gatekeeper-uninstalled``, or ``orphaned-unowned`` when ownerless
(``--include-unowned``: the operator's one-off clean-up), and a Gatekeeper installed again
re-creates none of it."""

from __future__ import annotations

import time

import pytest
from gk_loop import SWEEP_FLAGS, Loop
from gk_world import ORPHAN

from sweeper.testing.flap import BINDING, snapshot
from sweeper.testing.gatekeeper_manager import install_gatekeeper, uninstall_crds
from sweeper.testing.rest import constraints_path, wait_for

pytestmark = pytest.mark.gatekeeper


def settled(loop: Loop, *, quiet: float = 2.0, timeout: float = 60.0) -> dict:
    """The VAPs and VAPBs once the garbage collector is done: unchanged for ``quiet`` s."""
    deadline = time.monotonic() + timeout
    last, since = snapshot(loop.rest), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the collector never settled"
        time.sleep(0.1)
        now = snapshot(loop.rest)
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_after_an_uninstall_the_leftovers_go_and_a_reinstall_brings_none_back(loop: Loop) -> None:
    """Just before the uninstall, with Gatekeeper down, a constraint deleted with
    ``--cascade=orphan`` (an ownerless binding). Measured: with the collector watching every
    kind, the uninstall itself leaves nothing owned (templates, constraint CRDs, constraints,
    policies and bindings all collected within ~2 s); the ownerless binding stays."""
    manifests = loop.manager.manifests
    loop.manager.stop()
    kept = f"{constraints_path(ORPHAN.kind)}/kept-beside"
    loop.rest.delete(kept, propagation="Orphan")
    wait_for(lambda: loop.rest.get(kept) is None, "constraint deleted (orphan)", timeout=60)
    loop.manager.forget_deployment()
    uninstall_crds(loop.rest, manifests)
    left = settled(loop)
    assert (BINDING, "gatekeeper-kept-beside") in left

    run = loop.sweeper("sweep", *SWEEP_FLAGS, "--include-unowned")
    assert run.code == 0, run.stderr
    verdicts = run.verdicts()
    reasons = {name: verdicts[name] for (_, name) in left}
    assert set(reasons.values()) <= {
        ("deleted", "gatekeeper-uninstalled"),
        ("deleted", "orphaned-unowned"),
    }, reasons
    assert set(run.deleted()) == set(left)

    # installed again: Gatekeeper has no template left to want anything
    install_gatekeeper(loop.rest, manifests)
    loop.manager.describe()
    loop.manager.start()
    back = set(run.deleted()) & set(snapshot(loop.rest))
    assert not back, f"re-created by a reinstalled Gatekeeper: {back}"
    print(f"uninstall left {reasons}")
