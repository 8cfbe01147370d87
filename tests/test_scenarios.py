"""Every scenario of the corpus, judged by the pure planner and swept end to end over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import T0, sweep
from scenarios import Scenario, corpus

from sweeper.core.plan import plan
from sweeper.core.reasons import Action, Reason
from sweeper.core.settings import Observing, Rules
from sweeper.core.verdicts import Verdict
from sweeper.testing import FakeApiServer
from sweeper.testing.snapshot import snapshot

SCENARIOS = corpus()
VAP_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def rules_for(scenario: Scenario) -> Rules:
    reasons = Rules().reasons | ({Reason.ORPHANED_UNOWNED} if scenario.include_unowned else set())
    return Rules(gatekeeper=scenario.defaults, reasons=reasons, min_age=timedelta(0))


def outcome(verdict: Verdict) -> str:
    if verdict.action is Action.DELETE:
        return f"deleted {verdict.reason}"
    if verdict.action is Action.REPORT:
        return f"reported {verdict.reason}"
    return {Action.KEEP: "kept", Action.IGNORE: "ignored", Action.UNDECIDED: "undecided"}[
        verdict.action
    ]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_planner_verdict_per_object(scenario: Scenario) -> None:
    inventory = snapshot(scenario.objects, vap_version=scenario.vap_version)
    verdicts = plan(inventory, rules_for(scenario), now=T0 + timedelta(hours=1)).verdicts
    assert {v.obj.name: outcome(v) for v in verdicts} == scenario.expected


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_sweep_leaves_exactly_what_is_expected(scenario: Scenario, tmp_path) -> None:
    versions = ("v1", "v1beta1") if scenario.vap_version == "v1" else ("v1beta1",)
    with FakeApiServer(vap_versions=versions, clock=lambda: T0) as server:
        for obj in [*scenario.objects, *scenario.deployments, *scenario.replicasets]:
            server.create(obj, force=True)
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        rules = rules_for(scenario)
        # With Deployments, the sweep learns Gatekeeper's configuration by observing them.
        gatekeeper: dict[str, Any] = (
            {"observing": Observing(enabled=True)}
            if scenario.deployments
            else {"gatekeeper": scenario.defaults}
        )
        run = sweep(
            kubeconfig,
            reasons=rules.reasons,
            max_deletions=0,
            max_deletion_percent=0,
            **gatekeeper,
        )
        left = {o["metadata"]["name"] for kind in VAP_KINDS for o in server.objects(kind)}
        again = sweep(kubeconfig, reasons=rules.reasons, **gatekeeper)
    deleted = {name for name, want in scenario.expected.items() if want.startswith("deleted")}
    assert run.exit_code == scenario.exit_code
    if scenario.deployments:
        (observed,) = run.events("gatekeeper_observed")
        assert (observed["vap_default"], observed["vapb_default"]) == (
            scenario.defaults.create_vap,
            scenario.defaults.create_vapb,
        )
        assert observed["version"] == scenario.defaults.version_text
        # One warning, naming the cause, wherever the sweep fell back to the safe side.
        causes = [line["cause"] for line in run.events("gatekeeper_not_observed")]
        assert causes == ([scenario.warning] if scenario.warning else [])
        if "problem" not in observed:
            assert observed["vapb_default_source"] == "observed"
    assert set(scenario.expected) - left == deleted
    assert {line["object_name"]: f"deleted {line['reason']}" for line in run.events("deleted")} == {
        name: scenario.expected[name] for name in deleted
    }
    reported = {name for name, want in scenario.expected.items() if want.startswith("reported")}
    assert run.names("reported") == reported
    # Idempotent: the state a sweep leaves has nothing more to delete.
    assert again.summary["deleted"] == 0 and again.exit_code == scenario.exit_code


def test_corpus_covers_every_reason() -> None:
    seen = {want.split()[1] for s in SCENARIOS for want in s.expected.values() if " " in want}
    assert seen == {r.value for r in Reason} - {"foreign", "undecided", "wanted"}


def test_scenario_names_are_unique() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
