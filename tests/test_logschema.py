"""docs/logging.md cannot drift: its tables match the schema, its LogQL matches real lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import NOW, sweep

from sweeper.core.reasons import Event
from sweeper.output import logschema
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

DOC = Path(__file__).resolve().parent.parent / "docs" / "logging.md"
SELECTOR = '{app="gatekeeper-sweeper"}'


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def cells(row: str) -> list[str]:
    """The cells of one Markdown table row (``\\|`` is a literal bar)."""
    parts = re.split(r"(?<!\\)\|", row.strip().strip("|"))
    return [part.strip().replace("\\|", "|") for part in parts]


def sections(text: str) -> dict[str, list[list[str]]]:
    """Heading (### level) -> the rows of the first table under it, separator dropped."""
    found: dict[str, list[list[str]]] = {}
    heading = None
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip() if line.startswith("### ") else None
            if heading is not None:
                found[heading] = []
        elif heading is not None and line.startswith("|") and not line.startswith("|---"):
            found[heading].append(cells(line))
    return {name: rows[1:] if rows else rows for name, rows in found.items()}


def documented_fields(rows: list[list[str]]) -> dict[str, tuple[str, bool]]:
    return {row[0].strip("`"): (row[1], row[2] == "yes") for row in rows}


def test_the_doc_lists_exactly_the_events_of_the_schema_and_of_the_code() -> None:
    overview = sections(doc_text())["Events"]
    assert [row[0].strip("`") for row in overview] == list(logschema.EVENTS)
    assert set(logschema.EVENTS) == {event.value for event in Event}


def test_the_doc_tables_list_exactly_the_fields_and_types_of_the_schema() -> None:
    found = sections(doc_text())
    found.pop("Events")
    common = documented_fields(found.pop("Every line"))
    expected_common = {n: (t, True) for n, t in logschema.COMMON_REQUIRED.items()}
    expected_common |= {n: (t, False) for n, t in logschema.COMMON_OPTIONAL.items()}
    assert common == expected_common
    seen: list[str] = []
    for heading, rows in found.items():
        events = re.findall(r"`([a-z_]+)`", heading)
        for name in events:
            schema = logschema.EVENTS[name]
            expected = {n: (t, True) for n, t in schema.required.items()}
            expected |= {n: (t, False) for n, t in schema.optional.items()}
            assert documented_fields(rows) == expected, f"docs/logging.md, section {heading}"
        seen += events
        assert all(row[1] in logschema.TYPES for row in rows), heading
    assert sorted(seen) == sorted(logschema.EVENTS), "every event has exactly one section"


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ({"event": "brand_new"}, "undocumented event"),
        ({"surprise": 1}, "undocumented field 'surprise'"),
        ({"deleted": "6"}, "deleted='6' is not integer"),
        ({"dry_run": 0}, "dry_run=0 is not boolean"),
        ({"exit_code": True}, "exit_code=True is not integer"),
        ({"schema_version": 2}, "schema_version is not 1"),
        ({"time": "2026-01-01 00:00:00"}, "is not RFC 3339"),
    ],
)
def test_a_line_off_the_schema_fails(line: dict[str, Any], needle: str) -> None:
    good = {
        "time": "2026-01-01T00:00:00.000Z",
        "level": "info",
        "msg": "sweep finished",
        "event": "sweep_summary",
        "sweep_id": "abc",
        "schema_version": 1,
        **logschema.EVENTS["sweep_summary"].required,
    }
    good |= {k: 0 for k, t in logschema.EVENTS["sweep_summary"].required.items() if t != "string"}
    good |= {"dry_run": False, "vap_version": "v1", "gatekeeper_version": None}
    good |= {"vap_default": True, "vapb_default": True}
    assert logschema.problems(good) == []
    with pytest.raises(AssertionError, match=re.escape(needle)):
        logschema.check(good | line)
    missing = {k: v for k, v in good.items() if k != "deleted"}
    assert "missing 'deleted'" in " ".join(logschema.problems(missing))


# --- the LogQL recipes, read against the lines of real sweeps ---------------------------------


LOKI_RULES = DOC.parent.parent / "cronjob" / "chart" / "files" / "loki-rules.yaml"
DASHBOARD = DOC.parent / "dashboard.json"
# The dashboard's Grafana variables, as Grafana would expand them ("All" is .*).
GRAFANA_VARIABLES = {"$selector": SELECTOR, "$cluster": ".*", "$__auto": "5m", "$__range": "1d"}


def recipes() -> list[str]:
    """Every LogQL expression that ships: the doc's logql blocks and alert rules, the Loki
    rule file, and the dashboard's Loki queries."""
    text = doc_text()
    found = re.findall(r"```logql\n(.*?)```", text, flags=re.S)
    blocks = [*re.findall(r"```yaml\n(.*?)```", text, flags=re.S), LOKI_RULES.read_text()]
    for block in blocks:
        for document in yaml.safe_load_all(block):  # every YAML block must parse
            if isinstance(document, dict) and "groups" in document:
                found += [rule["expr"] for g in document["groups"] for rule in g["rules"]]
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        if panel["datasource"]["type"] == "loki":
            for target in panel["targets"]:
                query = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    query = query.replace(variable, value)
                found.append(query)
    return [recipe.strip() for recipe in found]


def extracted_fields(recipe: str) -> set[str]:
    """The fields ``| json a, b`` stages extract; a bare ``| json`` fails the check."""
    stages = re.findall(r"\|\s*json\b([^|]*)", recipe)
    assert all(stage.strip() for stage in stages), "| json names the fields it extracts"
    return {f.strip() for stage in stages for f in stage.split(",")}


def loki_value(value: Any) -> str:
    """A JSON value as Loki's ``| json`` stage turns it into a label value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture(scope="module")
def real_lines(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """A clean sweep, a dry run and a sweep whose deletions fail, of the sample cluster."""
    lines: list[dict[str, Any]] = []
    for mode in ("clean", "dry_run", "failing"):
        with FakeApiServer(clock=lambda: NOW) as server:
            seed_sample_cluster(server, now=NOW)
            if mode == "failing":  # deletions fail, and a constraint list leaves undecided
                server.inject(method="DELETE", status=422, times=None)
                server.inject(method="GET", path=".*/k8sallowedrepos$", status=500, times=None)
            config = server.write_kubeconfig(tmp_path_factory.mktemp(mode) / "kubeconfig")
            run = sweep(config, cluster_name="prod", dry_run=mode == "dry_run")
            lines += run.lines
    return lines


def test_there_are_recipes_for_each_question() -> None:
    text = " ".join(recipes())
    assert len(recipes()) >= 6
    for needle in (
        'event="deleted"',
        "by (reason)",
        'exit_code!="0"',
        "absent_over_time",
        "by (template)",
        "unwrap duration_ms",
    ):
        assert needle in text


@pytest.mark.parametrize("recipe", recipes())
def test_each_recipe_uses_fields_and_values_that_real_lines_have(
    recipe: str, real_lines: list[dict[str, Any]]
) -> None:
    assert recipe.count("{app=") == recipe.count(SELECTOR) > 0, "one stream selector"
    assert recipe.count("| json") == recipe.count(SELECTOR), "every stream is parsed as JSON"
    pipeline = recipe.replace(SELECTOR, "")
    events = set()
    for op, value in re.findall(r'\bevent\s*(=~|=)\s*"([^"]*)"', pipeline):
        events |= set(value.split("|")) if op == "=~" else {value}
    assert events, "every recipe filters on event"
    assert events <= {event.value for event in Event}
    matching = [line for line in real_lines if line["event"] in events]
    assert {line["event"] for line in matching} == events, "each event occurs in real lines"

    filters = re.findall(r'\|\s*([a-z_]+)\s*(!=|=~|!~|==|=|>=|<=|>|<)\s*"([^"]*)"', pipeline)
    filters = [f for f in filters if not f[0].startswith("__")]  # __error__: Loki's own
    for name, op, value in filters:
        values = {loki_value(line[name]) for line in matching if name in line}
        assert values, f"no real line has {name!r}"
        if op == "=":
            assert value in values, f"{name}={value!r} never occurs"
        elif op == "!=":
            assert values - {value}, f"{name}!={value!r} never occurs"
    used = set(re.findall(r"\bby \(([^)]*)\)", pipeline))
    fields = {f.strip() for group in used for f in group.split(",")}
    fields |= set(re.findall(r"\bunwrap ([a-z_]+)", pipeline))
    fields |= set(re.findall(r"\{\{\s*\.([a-z_]+)\s*\}\}", pipeline))
    fields |= {f.strip() for f in re.findall(r"\$labels\.([a-z_]+)", pipeline)}
    for name in fields:
        assert any(name in line for line in matching), f"no real {events} line has {name!r}"
    for name in re.findall(r"\bunwrap ([a-z_]+)", pipeline):
        assert all(isinstance(line[name], int) for line in matching), "unwrap needs numbers"
    # A field not extracted by `| json a, b` is silently empty: every one used is extracted.
    used = fields | {name for name, _, _ in filters} | {"event"}
    assert used <= extracted_fields(pipeline), f"not extracted: {used - extracted_fields(pipeline)}"
    unwraps = re.findall(r"\bunwrap [a-z_]+\s*(\|\s*__error__\s*=\s*\"\")?", pipeline)
    assert all(unwraps), 'every unwrap is followed by | __error__=""'
