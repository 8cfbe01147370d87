"""The alert rules and the dashboard: promtool checks them, each alert is unit-tested both ways.

The Prometheus rule groups ship three times (a plain rule file in the chart's files/, the
kustomize component's PrometheusRule, the chart's PrometheusRule): they must be equal.
``promtool test rules`` runs tests/alerts/prometheus-rules.test.yaml, which must hold, for
every alert, a case where it fires and one where it does not. The dashboard's PromQL is
checked by promtool as recording rules; its LogQL by tests/test_logschema.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import tool_env
from rendering import FULL_VALUES, ROOT, one, render_chart

from sweeper.output.notices import metric_samples

RULES = ROOT / "cronjob" / "chart" / "files" / "prometheus-rules.yaml"
COMPONENT = ROOT / "cronjob" / "components" / "prometheus-rule" / "prometheusrule.yaml"
UNIT_TESTS = ROOT / "tests" / "alerts" / "prometheus-rules.test.yaml"
LOKI_RULES = ROOT / "cronjob" / "chart" / "files" / "loki-rules.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"
DASHBOARD = ROOT / "docs" / "dashboard.json"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    return found


def run_promtool(state_dir: Path, *args: str) -> None:
    """promtool, its HOME and TMPDIR (``test rules`` makes a throw-away TSDB there) in the
    test's tmp dir."""
    result = subprocess.run(
        [promtool(), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=state_dir,
        env=tool_env(state_dir / "promtool"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def groups() -> list[dict[str, Any]]:
    return yaml.safe_load(RULES.read_text())["groups"]


def alerts() -> list[dict[str, Any]]:
    return [rule for group in groups() for rule in group["rules"]]


def test_the_rule_groups_ship_the_same_everywhere() -> None:
    component = yaml.safe_load(COMPONENT.read_text())
    assert component["kind"] == "PrometheusRule"
    assert component["spec"]["groups"] == groups()
    assert (
        one(render_chart({"prometheusRule": {"enabled": True}}), "PrometheusRule")["spec"]["groups"]
        == groups()
    )
    # prometheusRule.runbookUrl replaces the placeholder base of every runbook link, anchors kept.
    placeholder = "https://github.com/example/gatekeeper-sweeper/blob/main/docs/runbook.md"
    wanted = FULL_VALUES["prometheusRule"]["runbookUrl"]
    chart_rule = one(render_chart(FULL_VALUES), "PrometheusRule")
    chart_alerts = [rule for group in chart_rule["spec"]["groups"] for rule in group["rules"]]
    assert [rule["annotations"]["runbook_url"] for rule in chart_alerts] == [
        rule["annotations"]["runbook_url"].replace(placeholder, wanted) for rule in alerts()
    ]
    assert all(rule["annotations"]["runbook_url"].startswith(wanted + "#") for rule in chart_alerts)


def test_promtool_checks_the_rule_files(tmp_path: Path) -> None:
    run_promtool(tmp_path, "check", "rules", str(RULES))
    extracted = tmp_path / "component.yaml"
    extracted.write_text(yaml.safe_dump(yaml.safe_load(COMPONENT.read_text())["spec"]))
    run_promtool(tmp_path, "check", "rules", str(extracted))


def test_promtool_unit_tests_pass(tmp_path: Path) -> None:
    run_promtool(tmp_path, "test", "rules", str(UNIT_TESTS))


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    cases = [
        case
        for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for alert in alerts():
        mine = [case for case in cases if case["alertname"] == alert["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{alert['alert']} never fires"
        assert any(not case["exp_alerts"] for case in mine), f"{alert['alert']} is never quiet"
    assert {case["alertname"] for case in cases} == {a["alert"] for a in alerts()}


def test_every_alert_has_for_severity_summary_and_a_runbook_section() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.M)
    }
    loki = [r for g in yaml.safe_load(LOKI_RULES.read_text())["groups"] for r in g["rules"]]
    for alert in alerts() + loki:
        assert re.fullmatch(r"\d+[mh]", alert["for"]), alert["alert"]
        assert alert["labels"]["severity"] in {"info", "warning", "critical"}
        assert alert["annotations"]["summary"]
        url = alert["annotations"]["runbook_url"]
        assert url.split("#")[0].endswith("docs/runbook.md")
        assert url.split("#")[1] in anchors, f"no runbook section for {alert['alert']}"


def test_the_rules_read_only_metrics_the_sweeper_pushes() -> None:
    pushed = {f"gatekeeper_sweeper_{name}" for name, *_ in _sample_metrics()}
    used = set(re.findall(r"gatekeeper_sweeper_[a-z_]+", RULES.read_text()))
    assert used and used <= pushed


def _sample_metrics() -> list[tuple[str, str, dict[str, str], float]]:
    """The gauges a finished sweep pushes (sweeper.output.notices), from a minimal summary."""
    from datetime import UTC, datetime

    from sweeper.core.summary import Summary
    from sweeper.output.notices import SweepEnd

    summary = Summary(exit_code=0, dry_run=False, duration_ms=1)
    end = SweepEnd(summary=summary, outcomes=(), finished=datetime.now(UTC), cluster=None)
    return metric_samples(end)


# --- the dashboard -----------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def prometheus_queries() -> list[str]:
    """The dashboard's PromQL, with Grafana's variables expanded as Grafana would."""
    queries = []
    for panel in dashboard()["panels"]:
        if panel["datasource"]["type"] == "prometheus":
            queries += [target["expr"] for target in panel["targets"]]
    return [q.replace("$cluster", ".*") for q in queries]


def test_dashboard_has_datasource_and_cluster_variables() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["prometheus"]["type"] == variables["loki"]["type"] == "datasource"
    assert variables["prometheus"]["query"] == "prometheus"
    assert variables["loki"]["query"] == "loki"
    cluster = variables["cluster"]
    assert cluster["includeAll"] and cluster["allValue"] == ".*"
    assert "gatekeeper_sweeper_" in cluster["query"]["query"]
    for panel in dashboard()["panels"]:
        kind = panel["datasource"]["type"]
        assert panel["datasource"]["uid"] == f"${{{kind}}}", panel["title"]
        for target in panel["targets"]:
            assert "$cluster" in target["expr"], f"{panel['title']} ignores the cluster variable"


def test_dashboard_answers_the_operators_questions() -> None:
    titles = {panel["title"] for panel in dashboard()["panels"]}
    assert {
        "Last successful sweep, age",
        "Exit code of the last sweep",
        "Deletions per reason",
        "Current candidates by reason",
        "Top leftover templates",
        "Failed deletions",
        "Cluster read by the last sweep",
        "Dry run",
        "Sweeper version",
    } <= titles
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_promtool_parses_the_dashboards_promql(tmp_path: Path) -> None:
    queries = prometheus_queries()
    assert queries
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "cluster")
    inner = re.fullmatch(r"label_values\((.*), cluster\)", variable["query"]["query"])
    assert inner is not None
    queries.append(inner.group(1))
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    run_promtool(tmp_path, "check", "rules", str(path))
    pushed = {f"gatekeeper_sweeper_{name}" for name, *_ in _sample_metrics()}
    for query in queries:
        assert set(re.findall(r"gatekeeper_sweeper_[a-z_]+", query)) <= pushed, query


def test_the_loki_rules_runbook_links_follow_their_value() -> None:
    """loki.rules.runbookUrl replaces the placeholder base of every Loki alert's runbook link."""
    placeholder = "https://github.com/example/gatekeeper-sweeper/blob/main/docs/runbook.md"
    wanted = "https://wiki.example.com/runbooks/gatekeeper-sweeper"
    shipped = yaml.safe_load(LOKI_RULES.read_text())
    values = {"loki": {"rules": {"enabled": True, "runbookUrl": wanted}}}
    config_map = one(render_chart(values), "ConfigMap", "-loki-rules")
    rendered = yaml.safe_load(config_map["data"]["gatekeeper-sweeper.yaml"])

    def links(rules: dict) -> list[str]:
        return [r["annotations"]["runbook_url"] for g in rules["groups"] for r in g["rules"]]

    assert links(shipped) and all(link.startswith(placeholder + "#") for link in links(shipped))
    assert links(rendered) == [link.replace(placeholder, wanted) for link in links(shipped)]
