"""The Loki ruler alerts that ship (cronjob/chart/files/loki-rules.yaml, and the chart's
ConfigMap of them with another stream selector) load in a real Loki ruler, fire when they
should (a failed sweep, no sweep for too long, no sweep at all) and stay quiet when not.

Each scenario is a tenant of its own, holding the lines of real sweeps stamped hours or
minutes ago, so the rules' real ranges (2 h, 1 d) decide. The only change to the rules in
the test copy: ``for: 5m`` becomes ``for: 1s`` (the ruler evaluates every second here), so
an alert goes pending and then firing within seconds instead of minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from loki_data import AGENT_LABELS, LOKI_RULES, Shipment, sample_sweep, ship
from loki_service import Loki
from rendering import one, render_chart

pytestmark = pytest.mark.loki

ALL = "GatekeeperSweeperNoSuccessfulSweep"
PER_CLUSTER = "GatekeeperSweeperNoSuccessfulSweepOnCluster"
OTHER_SELECTOR = '{container="sweeper"}'
OTHER_LABELS = {"job": "gatekeeper-sweeper/sweeper", "container": "sweeper"}
DEADLINE_SECONDS = 60.0
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)

# tenant -> (rules: "file" as shipped or "chart" rendered with OTHER_SELECTOR,
#            [(cluster, mode, how long ago)], {alert: the clusters it fires for, "" = no label})
SCENARIOS: dict[str, tuple[str, list[tuple[str, str, timedelta]], dict[str, set[str]]]] = {
    "failed-sweep": (
        "file",
        [("prod", "clean", 3 * HOUR), ("prod", "failing", 10 * MIN)],
        {ALL: {""}, PER_CLUSTER: {"prod"}},
    ),
    "no-sweep-for-too-long": (
        "file",
        [("prod", "clean", 3 * HOUR)],
        {ALL: {""}, PER_CLUSTER: {"prod"}},
    ),
    "never-swept": ("file", [], {ALL: {""}, PER_CLUSTER: set()}),
    "healthy": (
        "file",
        [("prod", "failing", 3 * HOUR), ("prod", "clean", 10 * MIN), ("dev", "clean", 20 * MIN)],
        {ALL: set(), PER_CLUSTER: set()},
    ),
    "one-cluster-failing": (
        "file",
        [("staging", "clean", 5 * HOUR), ("prod", "clean", 10 * MIN), ("staging", "failing", MIN)],
        {ALL: set(), PER_CLUSTER: {"staging"}},
    ),
    "chart-other-agent": (
        "chart",
        [("prod", "clean", 3 * HOUR), ("prod", "failing", 10 * MIN)],
        {ALL: {""}, PER_CLUSTER: {"prod"}},
    ),
    "chart-other-agent-healthy": (
        "chart",
        [("prod", "clean", 10 * MIN)],
        {ALL: set(), PER_CLUSTER: set()},
    ),
}


def fast(rules_yaml: str) -> str:
    """The test copy: every ``for:`` 1 s; nothing else changes."""
    changed, count = re.subn(r"(?m)^(\s+for:) \S+$", r"\1 1s", rules_yaml)
    assert count == 2
    return changed


def chart_rules() -> str:
    values = {"loki": {"selector": OTHER_SELECTOR, "rules": {"enabled": True}}}
    return one(render_chart(values), "ConfigMap", "-loki-rules")["data"]["gatekeeper-sweeper.yaml"]


def states(loki: Loki, tenant: str) -> dict[str, Any]:
    """alert name -> the rule as the ruler reports it; every rule healthy."""
    found = {}
    for group in loki.rule_groups(tenant):
        for rule in group["rules"]:
            assert rule["health"] == "ok", rule
            found[rule["name"]] = rule
    return found


def firing(rule: Mapping[str, Any]) -> set[str]:
    return {a["labels"].get("cluster", "") for a in rule["alerts"] if a["state"] == "firing"}


@pytest.fixture(scope="module")
def ruled(loki: Loki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Ship every scenario, write its rules, and wait until the ruler has decided."""
    now = datetime.now(UTC)
    runs: dict[tuple[str, str], list[str]] = {}
    for _, sweeps, _ in SCENARIOS.values():
        for cluster, mode, _ago in sweeps:
            if (cluster, mode) not in runs:
                state = tmp_path_factory.mktemp(f"{cluster}-{mode}")
                runs[cluster, mode] = sample_sweep(state, mode, cluster)
    shipped_file, rendered = yaml.safe_load(LOKI_RULES.read_text()), chart_rules()
    assert OTHER_SELECTOR in rendered and '{app="gatekeeper-sweeper"}' not in rendered
    assert yaml.safe_load(rendered.replace(OTHER_SELECTOR, "S")) == yaml.safe_load(
        LOKI_RULES.read_text().replace('{app="gatekeeper-sweeper"}', "S")
    )
    assert shipped_file["groups"]
    for tenant, (source, sweeps, _) in SCENARIOS.items():
        labels = AGENT_LABELS if source == "file" else OTHER_LABELS
        ship(
            loki,
            tenant,
            [Shipment(now - ago, tuple(runs[c, m]), labels) for c, m, ago in sweeps],
        )
        rules = fast(LOKI_RULES.read_text() if source == "file" else rendered)
        directory = loki.directory / "rules" / tenant
        directory.mkdir(parents=True)
        (directory / "gatekeeper-sweeper.yaml").write_text(rules)
    written = time.time()

    def decided() -> dict[str, dict[str, Any]] | None:
        found = {}
        for tenant, (_, _, expected) in SCENARIOS.items():
            try:
                rules = states(loki, tenant)
            except AssertionError:  # 404 until the ruler has loaded the tenant's file
                return None
            if set(rules) != {ALL, PER_CLUSTER}:
                return None
            for name, rule in rules.items():
                evaluated = datetime.fromisoformat(rule["lastEvaluation"]).timestamp()
                # quiet means: evaluated again after the 1 s `for:` would have made it fire
                if firing(rule) != expected[name] or evaluated < written + 3:
                    return None
            found[tenant] = rules
        return found

    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:  # a real ruler: poll until it has decided
        found = decided()
        if found is not None:
            return found
        time.sleep(0.25)
    return {tenant: states(loki, tenant) for tenant in SCENARIOS}


@pytest.mark.parametrize("tenant", SCENARIOS)
def test_each_loki_alert_fires_exactly_when_it_should(
    ruled: dict[str, dict[str, Any]], tenant: str
) -> None:
    _, sweeps, expected = SCENARIOS[tenant]
    rules = ruled[tenant]
    assert set(rules) == {ALL, PER_CLUSTER}, "both rules loaded"
    for name, clusters in expected.items():
        assert firing(rules[name]) == clusters, f"{tenant}: {name} ({sweeps})"
        assert rules[name]["state"] == ("firing" if clusters else "inactive"), (tenant, name)
    if expected[PER_CLUSTER]:
        (alert, *_) = [a for a in rules[PER_CLUSTER]["alerts"] if a["state"] == "firing"]
        cluster = alert["labels"]["cluster"]
        assert alert["annotations"]["summary"].endswith(f"on {cluster} in the last 2 hours")


def test_the_test_copy_changes_only_the_for_durations() -> None:
    shipped = yaml.safe_load(LOKI_RULES.read_text())
    copy = yaml.safe_load(fast(LOKI_RULES.read_text()))
    for group in shipped["groups"]:
        for rule in group["rules"]:
            rule["for"] = "1s"
    assert copy == shipped
