"""`sweeper restore` end to end: after a real sweep, and from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import NOW, sweep
from restore_helpers import (
    BINDING,
    POLICY,
    check_line,
    delete,
    deleted_line,
    gatekeeper,
    restore,
    stored,
    write,
)

from sweeper.cli import cli
from sweeper.manifests import clean_manifest
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

# --- with a real sweep --------------------------------------------------------------------------


def with_manifests(lines: list[dict[str, Any]], before: dict[str, dict[str, Any]]) -> list[str]:
    """The sweep's lines, each `deleted` one carrying its manifest.

    Stands in for the sweep's own `manifest` field until it writes one: a line that already
    carries it is left as it is.
    """
    out = []
    for line in lines:
        if line["event"] == "deleted" and "manifest" not in line:
            line = {**line, "manifest": clean_manifest(before[line["object_name"]])}
        out.append(json.dumps(line))
    return out


def test_a_sweep_of_the_sample_cluster_restores_and_the_next_sweep_agrees_with_the_table(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = {o["metadata"]["name"]: o for kind in (POLICY, BINDING) for o in server.objects(kind)}
    swept = sweep(kubeconfig)
    deleted = {line["object_name"]: line["reason"] for line in swept.events("deleted")}
    assert set(deleted.values()) == {
        "owner-deleted",
        "owner-kind-gone",
        "not-wanted",
        "legacy-duplicate",
    }
    log = write(tmp_path, *with_manifests(swept.lines, before))

    run = restore(kubeconfig, log)

    assert run.code == 0 and set(run.by_name()) == set(deleted)
    assert {line["event"] for line in run.lines[:-1]} == {"restored"}
    dropped = {n for n, line in run.by_name().items() if line["owner_references_dropped"]}
    # Exactly the objects whose owners are gone lose their references.
    assert dropped == {n for n, reason in deleted.items() if reason.startswith("owner-")}
    for name in deleted:
        original = before[name]
        back = stored(server, original)
        assert back is not None
        expected = clean_manifest(original)
        if name in dropped:
            del expected["metadata"]["ownerReferences"]
        assert clean_manifest(back) == expected

    # The decision table on what came back: objects whose owners live are judged as before;
    # the ones restored without an owner are unowned leftovers, only reported by default.
    again = sweep(kubeconfig, dry_run=True)
    verdicts = {
        line["object_name"]: (line["event"], line["reason"])
        for line in again.lines
        if line.get("object_name") in deleted
    }
    assert verdicts == {
        name: ("reported", "orphaned-unowned") if name in dropped else ("would_delete", reason)
        for name, reason in deleted.items()
    }
    assert all(stored(server, before[name]) is not None for name in deleted)  # a dry run


# --- the command line -------------------------------------------------------------------------


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["restore", *args], input=stdin, env={}, catch_exceptions=False)


def test_cli_restores_from_a_file_and_from_stdin(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy))
    delete(server, policy, binding)
    result = invoke(
        log,
        "-",
        "--kubeconfig",
        kubeconfig,
        "--since",
        "2026-01-01T00:00:00Z",
        stdin=deleted_line(binding) + "\n",
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(text) for text in result.stdout.splitlines()]
    for line in lines:
        check_line(line)
    assert [line["event"] for line in lines] == ["restored", "restored", "restore_summary"]
    assert stored(server, policy) is not None and stored(server, binding) is not None
    assert result.stderr == ""


def test_cli_dry_run_and_name_filter_from_the_environment(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    result = CliRunner().invoke(
        cli,
        ["restore", log],
        catch_exceptions=False,
        env={
            "SWEEPER_KUBECONFIG": kubeconfig,
            "SWEEPER_DRY_RUN": "true",
            "SWEEPER_NAME": binding["metadata"]["name"],
        },
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(text) for text in result.stdout.splitlines()]
    assert [(line["object_name"], line["dry_run"]) for line in lines[:-1]] == [
        (binding["metadata"]["name"], True)
    ]
    assert stored(server, binding) is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "last tuesday"], "sweeper: error: invalid --since 'last tuesday'"),
        (["--request-timeout", "0"], "sweeper: error: --request-timeout must be greater than 0"),
        (["--kubeconfig", "/nonexistent/kubeconfig"], "sweeper: error: cannot read kubeconfig"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    server: FakeApiServer, tmp_path: Path, args: list[str], needle: str
) -> None:
    log = write(tmp_path, deleted_line(gatekeeper(server)[3]))
    result = invoke(log, *args)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(needle), line


def test_cli_needs_a_file() -> None:
    result = invoke()
    assert result.exit_code == 2 and "Missing argument" in result.stderr
