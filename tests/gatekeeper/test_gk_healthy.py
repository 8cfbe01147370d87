"""The healthy majority, reconciled by the real Gatekeeper: every enforcement action, scoped
with ``vap.k8s.io`` and with ``*``, ``generateVAP`` true and unset, CEL and CEL+Rego. A sweep
deletes none of it, and after Gatekeeper has caught up every object has the uid it had."""

from __future__ import annotations

import pytest
from gk_loop import Loop

from sweeper.testing.flap import BINDING, POLICY, snapshot

pytestmark = pytest.mark.gatekeeper

WANTED_BINDINGS = {
    "gatekeeper-deny-all",
    "gatekeeper-warn-all",
    "gatekeeper-dryrun-all",
    "gatekeeper-unset-action",
    "gatekeeper-scoped-vap",
    "gatekeeper-scoped-star",
}
WANTED_POLICIES = {"gatekeeper-gkhealthycel", "gatekeeper-gkhealthymixed"}


def test_gatekeeper_made_exactly_the_healthy_objects(loop: Loop) -> None:
    """The setup is Gatekeeper's own work: a binding per constraint that wants one (legacy
    names: v3.21.1), a policy per CEL template that wants one, nothing for the rest."""
    names = {name for (_, name) in snapshot(loop.rest)}
    assert names >= WANTED_BINDINGS | WANTED_POLICIES
    never = {
        "gatekeeper-scoped-webhook-only",
        "gatekeeper-rego-only",
        "gatekeeper-novap",
        "gatekeeper-gkhealthyrego",
        "gatekeeper-gkhealthynovap",
    }
    assert not names & never


def test_a_sweep_deletes_nothing_healthy_and_gatekeeper_replaces_nothing(loop: Loop) -> None:
    run, verdict = loop.sweep()
    assert not verdict.problems()
    deleted = {name for (_, name) in run.deleted()}
    assert not deleted & (WANTED_BINDINGS | WANTED_POLICIES)
    for name in WANTED_BINDINGS:
        assert loop.uid(BINDING, name), name
    for name in WANTED_POLICIES:
        assert loop.uid(POLICY, name), name
    # the sweep saw the Gatekeeper that really runs: its version and both flags observed
    summary = run.summary()
    assert summary["gatekeeper_version"] == "v3.21.1"
    assert (summary["vap_default"], summary["vapb_default"]) == (True, True)
    assert run.of("gatekeeper_observed") and not run.of("gatekeeper_not_observed")
