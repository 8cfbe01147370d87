"""Every LogQL query of README.md and docs/, and every Loki panel of docs/dashboard.json, run
against a real Loki holding the lines of real sweeps, return what those sweeps logged.

Seven sweeps of the sample cluster (6 leftovers, 1 reported), each through the CLI on a
fresh fake API server, are shipped as the example log agent ships them (one stream labelled
``app`` and ``namespace``), stamped over the last three days: prod clean 3 days and 40 minutes
ago, staging clean 2 hours ago, failing 30 minutes ago and a dry run 20 minutes ago, a sweep
without ``--cluster-name`` 10 minutes ago, dev stopped by a guard 5 minutes ago. Each query's
expected answer is computed here from those JSON lines; a query added to or changed in the
docs fails until its expectation is stated in ``EXPECTED``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from loki_data import (
    AGENT_EXAMPLE,
    AGENT_LABELS,
    DEFAULT_SELECTOR,
    ROOT,
    Shipment,
    dashboard_variable,
    documented_queries,
    loki_panels,
    records_within,
    sample_sweep,
    ship,
    substitute,
)
from loki_service import Loki, stream_lines, vector
from rendering import one, render_chart

TENANT = "docs"
HOUR = timedelta(hours=1)
# (cluster, mode, how long ago)
SWEEPS = [
    ("prod", "clean", timedelta(days=3)),
    ("staging", "clean", timedelta(hours=2)),
    ("prod", "clean", timedelta(minutes=40)),
    ("staging", "failing", timedelta(minutes=30)),
    ("staging", "dry_run", timedelta(minutes=20)),
    (None, "clean", timedelta(minutes=10)),
    ("dev", "guard", timedelta(minutes=5)),
]


class Logged:
    """The shipped sweeps and the moment the queries are evaluated at."""

    def __init__(self, shipments: list[Shipment], now: datetime) -> None:
        self.shipments, self.now = shipments, now

    def lines(self, back: timedelta, events: str, **where: str) -> list[dict[str, Any]]:
        def match(record: dict[str, Any]) -> bool:
            if not re.fullmatch(events, record["event"]):
                return False
            return all(re.fullmatch(rx, str(record.get(k) or "default")) for k, rx in where.items())

        return records_within(self.shipments, self.now - back, self.now, match)

    def count(self, back: timedelta, events: str, *by: str, **where: str) -> dict:
        found = Counter(
            tuple(str(r.get(k, "")) for k in by) for r in self.lines(back, events, **where)
        )
        return dict(found)


@pytest.fixture(scope="module")
def logged(loki: Loki, tmp_path_factory: pytest.TempPathFactory) -> Logged:
    now = datetime.now(UTC)
    shipments = [
        Shipment(
            now - ago,
            tuple(sample_sweep(tmp_path_factory.mktemp(mode), mode, cluster)),
            AGENT_LABELS,
        )
        for cluster, mode, ago in SWEEPS
    ]
    ship(loki, TENANT, shipments)
    return Logged(shipments, now)


def deleted_line(r: dict[str, Any]) -> str:
    owner = f"{r.get('owner_kind', '')}/{r.get('owner_name', '')}"
    name = f"{r['object_kind']}/{r['object_name']}"
    return f"{r.get('cluster', '')} {name} {r['reason']} (owner {owner})"


# Query (as the docs write it, whitespace collapsed) -> (answer kind, expected answer).
# "vector": an instant query at now, grouped by the labels given; "lines": a log query over
# the last hour, its lines oldest first.
EXPECTED: dict[str, tuple[tuple[str, ...] | str, Callable[[Logged], Any]]] = {
    'sum by (reason) (count_over_time({app="gatekeeper-sweeper"} | json event, reason | event="deleted" [1h]))': (  # noqa: E501 (the query as the docs write it)
        ("reason",),
        lambda s: s.count(HOUR, "deleted", "reason"),
    ),
    '{app="gatekeeper-sweeper"} | json event, cluster, object_kind, object_name, reason, owner_kind, owner_name | event="deleted" | line_format "{{.cluster}} {{.object_kind}}/{{.object_name}} {{.reason}} (owner {{.owner_kind}}/{{.owner_name}})"': (  # noqa: E501 (the query as the docs write it)
        "lines",
        lambda s: [deleted_line(r) for r in s.lines(HOUR, "deleted")],
    ),
    '{app="gatekeeper-sweeper"} | json event, exit_code | event="sweep_summary" | exit_code!="0"': (
        "lines",
        lambda s: [r for r in s.lines(HOUR, "sweep_summary") if r["exit_code"] != 0],
    ),
    'sum by (cluster, exit_code) (count_over_time({app="gatekeeper-sweeper"} | json event, cluster, exit_code | event="sweep_summary" | exit_code!="0" [1h]))': (  # noqa: E501 (the query as the docs write it)
        ("cluster", "exit_code"),
        lambda s: s.count(HOUR, "sweep_summary", "cluster", "exit_code", exit_code="[1-9]"),
    ),
    'topk(10, sum by (template) (count_over_time({app="gatekeeper-sweeper"} | json event, template | event=~"deleted|would_delete" [7d])))': (  # noqa: E501 (the query as the docs write it)
        ("template",),
        lambda s: s.count(7 * 24 * HOUR, "deleted|would_delete", "template"),
    ),
    'max by (cluster) (max_over_time({app="gatekeeper-sweeper"} | json event, cluster, duration_ms | event="sweep_summary" | unwrap duration_ms | __error__="" [1h]))': (  # noqa: E501 (the query as the docs write it)
        ("cluster",),
        lambda s: {
            (c,): max(
                r["duration_ms"]
                for r in s.lines(HOUR, "sweep_summary")
                if r.get("cluster", "") == c
            )
            for c in {r.get("cluster", "") for r in s.lines(HOUR, "sweep_summary")}
        },
    ),
    'sum by (reason, object_name) (count_over_time({app="gatekeeper-sweeper"} | json event, reason, object_name | event=~"undecided|reported" [1d]))': (  # noqa: E501 (the query as the docs write it)
        ("reason", "object_name"),
        lambda s: s.count(24 * HOUR, "undecided|reported", "reason", "object_name"),
    ),
    'sum by (cluster) (count_over_time({app="gatekeeper-sweeper"} | json event, cluster | event="deleted" [1d]))': (  # noqa: E501 (the query as the docs write it)
        ("cluster",),
        lambda s: s.count(24 * HOUR, "deleted", "cluster"),
    ),
}


def answer(loki: Loki, query: str, kind: tuple[str, ...] | str, now: datetime) -> Any:
    if kind == "lines":
        return stream_lines(loki.range(TENANT, query, now - HOUR, now))
    return vector(loki.instant(TENANT, query, now), *kind)


def test_every_documented_query_has_an_expectation_and_each_is_used() -> None:
    queries = {query for _, query in documented_queries()}
    assert queries - EXPECTED.keys() == set(), "state what the new or changed query returns"
    assert EXPECTED.keys() - queries == set(), "a query was removed from the docs"


@pytest.mark.loki
@pytest.mark.parametrize(("source", "query"), documented_queries())
def test_a_documented_query_returns_what_the_sweeps_logged(
    loki: Loki, logged: Logged, source: str, query: str
) -> None:
    kind, expected = EXPECTED[query]
    want = expected(logged)
    got = answer(loki, query, kind, logged.now)
    if kind == "lines" and want and isinstance(want[0], dict):  # raw lines: compare as JSON
        got = [yaml.safe_load(line) for line in got]
    else:
        want = {key: float(value) for key, value in want.items()} if kind != "lines" else want
    assert want, f"{source}: the sweeps give this query nothing to find: {query}"
    assert got == want, f"{source}: {query}"


# --- the dashboard ------------------------------------------------------------------------------


@pytest.mark.loki
@pytest.mark.parametrize("cluster", [".*", "staging", "default", "prod", "(dev|staging)"])
def test_every_loki_panel_returns_the_sweeps_lines_for_the_chosen_clusters(
    loki: Loki, logged: Logged, cluster: str
) -> None:
    """$cluster as Grafana sends it: All is ``.*`` (the variable's allValue), several values
    ``(a|b)``; ``default`` is the Pushgateway's name for a sweep without --cluster-name."""
    week, now = 7 * 24 * HOUR, logged.now
    variables = {"selector": DEFAULT_SELECTOR, "cluster": cluster, "__auto": "1h", "__range": "7d"}
    answers = {}
    for panel in loki_panels():
        (target,) = panel["targets"]
        query = substitute(target["expr"], variables)
        if panel["type"] == "logs":
            got = stream_lines(loki.range(TENANT, query, now - week, now))
            want: Any = [
                f"{r.get('cluster', 'default')} {r['object_kind']}/{r['object_name']} "
                f"({r['reason']}): {r['error']}"
                for r in logged.lines(week, "delete_failed", cluster=cluster)
            ]
        elif target["queryType"] == "range":  # one point per hour: each line counted once
            data = loki.range(TENANT, query, now - week, now, step="3600s")
            assert data["resultType"] == "matrix"
            got = {
                (series["metric"]["reason"],): sum(float(v) for _, v in series["values"])
                for series in data["result"]
            }
            want = logged.count(week + HOUR, "deleted", "reason", cluster=cluster)
        else:
            got = vector(loki.instant(TENANT, query, now), "template")
            want = logged.count(week, "deleted|would_delete", "template", cluster=cluster)
        assert got == want, f"{panel['title']}, cluster {cluster}: {query}"
        answers[panel["title"]] = got
    if cluster in (".*", "staging"):
        assert all(answers.values()), f"a panel shows nothing for cluster {cluster}: {answers}"
    if cluster == "default":  # the nameless sweep: what it deleted, nothing failed
        assert answers["Deletions per reason"] and answers["Top leftover templates"]


@pytest.mark.loki
def test_another_agents_labels_need_only_the_selector_variable(
    loki: Loki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    labels = {"job": "gatekeeper-sweeper/sweeper", "container": "sweeper"}
    now = datetime.now(UTC)
    lines = sample_sweep(tmp_path_factory.mktemp("other-agent"), "clean", "prod")
    ship(loki, "other-agent", [Shipment(now - timedelta(minutes=1), tuple(lines), labels)])
    (panel,) = [p for p in loki_panels() if p["title"] == "Top leftover templates"]
    found = {}
    for selector in (DEFAULT_SELECTOR, '{container="sweeper"}'):
        variables = {"selector": selector, "cluster": ".*", "__range": "1h"}
        query = substitute(panel["targets"][0]["expr"], variables)
        found[selector] = vector(loki.instant("other-agent", query, now), "template")
    assert found[DEFAULT_SELECTOR] == {}  # the hard-coded selector saw nothing
    assert sum(found['{container="sweeper"}'].values()) == 6


# --- one default, everywhere ----------------------------------------------------------------------


def test_the_default_selector_is_what_the_example_agent_produces() -> None:
    agent = AGENT_EXAMPLE.read_text()
    assert set(re.findall(r'target_label\s*=\s*"(\w+)"', agent)) == AGENT_LABELS.keys()
    assert (
        '"__meta_kubernetes_pod_label_app_kubernetes_io_name"]\n    target_label  = "app"' in agent
    )
    pod = one(render_chart(), "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == AGENT_LABELS["app"]
    assert one(render_chart(), "CronJob")["metadata"]["namespace"] == AGENT_LABELS["namespace"]
    matchers = dict(re.findall(r'(\w+)="([^"]*)"', DEFAULT_SELECTOR))
    assert matchers.items() <= AGENT_LABELS.items()
    values = yaml.safe_load((ROOT / "cronjob" / "chart" / "values.yaml").read_text())
    assert values["loki"]["selector"] == DEFAULT_SELECTOR
    assert dashboard_variable("selector")["query"] == DEFAULT_SELECTOR
    for panel in loki_panels():
        assert panel["targets"][0]["expr"].count("$selector") == 1, panel["title"]
        assert "{app=" not in panel["targets"][0]["expr"], panel["title"]
