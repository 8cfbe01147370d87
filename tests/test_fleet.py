"""Fleet mode: several clusters in one run, each an independent sweep; one fleet_summary."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import NOW, T0, FakeTime, fake_runtime, run_main, settings_for

from sweeper.cluster.kubeconfig import ConfigError, fleet_contexts
from sweeper.output import logschema
from sweeper.runs.fleet import (
    ClusterOutcome,
    FleetError,
    check_fleet_options,
    fleet_fields,
    run_fleet,
    worst_exit_code,
)
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster

LEFTOVERS = 6  # the sample cluster's deletions with the default reasons


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Three clusters: ``clean`` (Gatekeeper, nothing left over), ``dirty`` (the sample
    cluster) and ``down`` (its server stopped: connection refused)."""
    with (
        FakeApiServer(clock=lambda: T0) as clean,
        FakeApiServer(clock=lambda: T0) as dirty,
        FakeApiServer(clock=lambda: T0) as down,
    ):
        clean.create(make.template_crd())
        seed_sample_cluster(dirty, now=NOW)
        files = [
            server.write_kubeconfig(tmp_path / name, context=name)
            for name, server in (("clean", clean), ("dirty", dirty), ("down", down))
        ]
        down.stop()
        yield {"kubeconfig": os.pathsep.join(files), "dirty": dirty, "clean": clean}


def run(kubeconfig: str, contexts: tuple[str, ...] = (), **changes: Any) -> tuple[Any, list]:
    stream = io.StringIO()
    settings = settings_for(kubeconfig, **changes)
    chosen = fleet_contexts(kubeconfig, contexts, environ={})
    result = run_fleet(
        settings,
        chosen,
        fleet_concurrency=3,
        runtime=fake_runtime(FakeTime()),
        stream=stream,
    )
    text = stream.getvalue()
    if settings.output == "table":
        return result, text.splitlines()
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        logschema.check(line)
    return result, lines


def test_three_clusters_one_down_one_dirty(fleet: dict[str, Any]) -> None:
    result, lines = run(fleet["kubeconfig"])
    # The last line is the fleet's; every other line belongs to exactly one cluster.
    *swept, last = lines
    assert last["event"] == "fleet_summary" and "cluster" not in last
    assert {line["cluster"] for line in swept} == {"clean", "dirty", "down"}
    by_cluster = {
        name: [line for line in swept if line["cluster"] == name]
        for name in ("clean", "dirty", "down")
    }
    summaries = {}
    for name, own in by_cluster.items():
        assert own[0]["event"] == "sweep_started"
        assert own[-1]["event"] == "sweep_summary", name  # each cluster ends with its own
        assert [line["event"] for line in own].count("sweep_summary") == 1
        assert len({line["sweep_id"] for line in own}) == 1
        summaries[name] = own[-1]
    assert len({s["sweep_id"] for s in summaries.values()} | {last["sweep_id"]}) == 4
    assert summaries["clean"]["exit_code"] == 0
    assert summaries["clean"]["candidates"] == 0
    assert summaries["dirty"]["exit_code"] == 0
    assert summaries["dirty"]["deleted"] == LEFTOVERS
    assert summaries["down"]["exit_code"] == 4
    assert summaries["down"]["vap_version"] is None
    deleted = {line["object_name"] for line in by_cluster["dirty"] if line["event"] == "deleted"}
    assert len(deleted) == LEFTOVERS
    assert not any(line["event"] == "deleted" for line in by_cluster["clean"])
    assert fleet["dirty"].objects("ValidatingAdmissionPolicyBinding")  # wanted ones stay
    assert last["clusters"] == 3
    assert (last["clusters_exit_0"], last["clusters_exit_4"]) == (2, 1)
    assert last["clusters_exit_1"] == last["clusters_exit_2"] == last["clusters_exit_3"] == 0
    assert last["failed_clusters"] == ["down"]
    assert last["deleted"] == LEFTOVERS
    assert last["listed_bindings"] == summaries["dirty"]["listed_bindings"] > 0
    assert last["exit_code"] == 4 == result.exit_code
    assert [o.exit_code for o in result.outcomes] == [0, 0, 4]


def test_a_guard_in_one_cluster_outranks_an_unreachable_one(fleet: dict[str, Any]) -> None:
    result, lines = run(fleet["kubeconfig"], max_deletions=1)
    summaries = {ln["cluster"]: ln for ln in lines if ln["event"] == "sweep_summary"}
    assert summaries["dirty"]["exit_code"] == 3
    assert summaries["down"]["exit_code"] == 4
    assert lines[-1]["exit_code"] == 3 == result.exit_code
    assert fleet["dirty"].objects("ValidatingAdmissionPolicyBinding")  # nothing deleted


def test_chosen_contexts_only(fleet: dict[str, Any]) -> None:
    result, lines = run(fleet["kubeconfig"], ("dirty", "clean"), dry_run=True)
    assert {line.get("cluster") for line in lines[:-1]} == {"dirty", "clean"}
    assert lines[-1]["would_delete"] == LEFTOVERS
    assert lines[-1]["dry_run"] is True
    assert result.exit_code == 0
    assert [o.cluster for o in result.outcomes] == ["dirty", "clean"]


def test_table_output_has_a_section_per_cluster_and_a_rollup(fleet: dict[str, Any]) -> None:
    result, lines = run(fleet["kubeconfig"], dry_run=True, output="table")
    headings = [line for line in lines if line.startswith("=== ")]
    assert sorted(headings[:-1]) == [
        "=== cluster clean ===",
        "=== cluster dirty ===",
        "=== cluster down ===",
    ]
    assert headings[-1] == "=== fleet ==="
    rollup = lines[lines.index("=== fleet ===") + 1 :]
    assert rollup[0].split() == [
        "CLUSTER",
        "EXIT",
        "BINDINGS",
        "POLICIES",
        "CANDIDATES",
        "ACTED",
        "UNDECIDED",
    ]
    rows = {row.split()[0]: row.split() for row in rollup[1:4]}
    assert rows["dirty"][1] == "0" and rows["dirty"][5] == str(LEFTOVERS)
    assert rows["down"][1] == "4" and rows["down"][2] == "-"
    assert rollup[-1].startswith("Fleet dry run of 3 clusters")
    assert "2 exit 0, 1 exit 4 (not clean: down)" in rollup[-1]
    assert rollup[-1].endswith("Exit code 4 (the cluster could not be fully read).")
    assert result.exit_code == 4
    # A cluster's section is written whole: its table sits between its heading and the next.
    dirty = lines.index("=== cluster dirty ===")
    section = lines[
        dirty + 1 : dirty
        + 1
        + next(i for i, line in enumerate(lines[dirty + 1 :]) if line.startswith("=== "))
    ]
    assert any(line.startswith("OBJECT") for line in section)
    assert any("Dry run of cluster dirty" in line for line in section)


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([0, 0], 0),
        ([0, 4], 4),
        ([4, 1], 1),
        ([1, 3, 4], 3),
        ([3, 2, 1], 2),
        ([], 0),
    ],
)
def test_the_worst_exit_code_ranks_2_3_1_4_0(codes: list[int], worst: int) -> None:
    assert worst_exit_code(codes) == worst


def test_fleet_fields_count_clusters_per_exit_code() -> None:
    outcomes = [ClusterOutcome("a", 0), ClusterOutcome("b", 4), ClusterOutcome("c", 4)]
    fields = fleet_fields(outcomes, dry_run=False, duration_ms=5)
    assert fields["clusters_exit_4"] == 2 and fields["clusters_exit_0"] == 1
    assert fields["failed_clusters"] == ["b", "c"]
    assert fields["deleted"] == 0 and fields["exit_code"] == 4


def test_fleet_option_checks(fleet: dict[str, Any]) -> None:
    settings = settings_for(fleet["kubeconfig"])
    with pytest.raises(FleetError, match="in a pod"):
        check_fleet_options(settings, ["a"], fleet_concurrency=4, in_cluster=True)
    with pytest.raises(FleetError, match="--fleet-concurrency"):
        check_fleet_options(settings, ["a", "b"], fleet_concurrency=0, in_cluster=False)
    named = settings_for(fleet["kubeconfig"], cluster_name="prod")
    with pytest.raises(FleetError, match="--cluster-name"):
        check_fleet_options(named, ["a", "b"], fleet_concurrency=4, in_cluster=False)
    check_fleet_options(named, ["a"], fleet_concurrency=4, in_cluster=False)
    with pytest.raises(ConfigError, match='context "nope" does not exist'):
        fleet_contexts(fleet["kubeconfig"], ("clean", "nope"), environ={})


def test_cluster_name_names_a_single_context(fleet: dict[str, Any]) -> None:
    _, lines = run(fleet["kubeconfig"], ("clean",), cluster_name="prod-eu")
    assert {line.get("cluster") for line in lines[:-1]} == {"prod-eu"}
    assert lines[-1]["failed_clusters"] == []


@pytest.mark.parametrize(
    ("extra", "env", "needle"),
    [
        (["--all-contexts", "--context", "clean"], {}, "exclude each other"),
        (["--context", "clean", "--context", "nope"], {}, 'context "nope" does not exist'),
        (["--all-contexts", "--fleet-concurrency", "0"], {}, "--fleet-concurrency"),
        (["--all-contexts", "--cluster-name", "x"], {}, "--cluster-name"),
    ],
)
def test_fleet_usage_errors_are_one_line(
    fleet: dict[str, Any], extra: list[str], env: dict[str, str], needle: str
) -> None:
    done = run_main("sweep", "--kubeconfig", fleet["kubeconfig"], *extra, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and needle in done.stderr
    assert done.stderr.startswith("sweeper: error: ")


def test_fleet_options_are_a_usage_error_in_a_pod() -> None:
    done = run_main("sweep", "--all-contexts", env={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert done.returncode == 2
    assert "in a pod" in done.stderr and done.stdout == ""


def test_restore_takes_one_context_only(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("")
    done = run_main("restore", str(log), "--context", "a", "--context", "b")
    assert done.returncode == 2
    assert "may be given only once" in done.stderr


def test_cli_sweeps_two_contexts(fleet: dict[str, Any]) -> None:
    done = run_main(
        "sweep",
        "--kubeconfig",
        fleet["kubeconfig"],
        "--context",
        "clean",
        "--context",
        "dirty",
        "--dry-run",
        "--min-age",
        "0",
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    for line in lines:
        logschema.check(line)
    assert done.returncode == 0, done.stderr
    assert lines[-1]["event"] == "fleet_summary"
    assert lines[-1]["clusters"] == 2 and lines[-1]["would_delete"] == LEFTOVERS
    assert done.stderr == ""
