"""`sweeper restore` end to end: after a real sweep, and from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import NOW, T0, sweep
from restore_helpers import (
    BINDING,
    POLICY,
    check_line,
    delete,
    deleted_line,
    gatekeeper,
    restore,
    stored,
    unmarked,
    write,
)
from scenarios import Scenario, corpus

from sweeper.cli.commands import cli
from sweeper.core.manifests import clean_manifest
from sweeper.core.reasons import Reason
from sweeper.core.settings import Rules
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

CORPUS = corpus()

# --- with a real sweep --------------------------------------------------------------------------


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
    # The sweep's own stdout: every deleted line carries its manifest.
    log = write(tmp_path, *(json.dumps(line) for line in swept.lines))

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
        assert unmarked(back) == expected

    # The decision table on what came back: objects whose owners live are judged as before,
    # the ones restored without an owner as unowned leftovers; every one is held (restored).
    again = sweep(kubeconfig, dry_run=True)
    verdicts = {
        line["object_name"]: (line["event"], line["reason"])
        for line in again.lines
        if line.get("object_name") in deleted
    }
    assert verdicts == {
        name: ("restored", "orphaned-unowned" if name in dropped else reason)
        for name, reason in deleted.items()
    }
    assert all(stored(server, before[name]) is not None for name in deleted)  # a dry run


@pytest.mark.parametrize(
    "scenario",
    [s for s in CORPUS if any(want.startswith("deleted") for want in s.expected.values())],
    ids=lambda s: s.name,
)
def test_every_deletion_reason_round_trips_and_is_found_again(
    scenario: Scenario, tmp_path: Path
) -> None:
    """Sweep, restore from the sweep's stdout, sweep --dry-run: what comes back equals what
    went (less server-owned fields and references to owners that are gone, plus the restore's
    annotations), and a restored leftover is judged a leftover again, for the same reason
    while its owner lives, as orphaned-unowned once its owner reference had to be dropped,
    but held (restored), never deleted."""
    versions = ("v1", "v1beta1") if scenario.vap_version == "v1" else ("v1beta1",)
    every_reason = Rules().reasons | {Reason.ORPHANED_UNOWNED}
    with FakeApiServer(vap_versions=versions, clock=lambda: T0) as server:
        for obj in scenario.objects:
            server.create(obj, force=True)
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        changes: dict[str, Any] = {
            "reasons": every_reason,
            "gatekeeper": scenario.defaults,
            "max_deletions": 0,
            "max_deletion_percent": 0,
        }
        before = {o["metadata"]["name"]: o for k in (POLICY, BINDING) for o in server.objects(k)}
        swept = sweep(kubeconfig, **changes)
        deleted = {line["object_name"]: line["reason"] for line in swept.events("deleted")}
        assert deleted, scenario.name
        run = restore(kubeconfig, write(tmp_path, *(json.dumps(line) for line in swept.lines)))
        assert run.code == 0 and set(run.by_name()) == set(deleted)
        dropped = {n for n, line in run.by_name().items() if line["owner_references_dropped"]}
        for name in deleted:
            expected = clean_manifest(before[name])
            if name in dropped:
                expected["metadata"].pop("ownerReferences")
            assert unmarked(stored(server, before[name])) == expected
        again = sweep(kubeconfig, dry_run=True, **changes)
    assert not again.events("would_delete")
    found = {line["object_name"]: line["reason"] for line in again.events("restored")}
    assert found == {
        name: "orphaned-unowned" if name in dropped else reason for name, reason in deleted.items()
    }


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


@pytest.mark.parametrize("how", [["-o", "table"], ["--output=text"], "SWEEPER_OUTPUT"])
def test_cli_table_output_for_people(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path, how: Any
) -> None:
    """-o table (or text, or SWEEPER_OUTPUT=table) prints aligned lines and a paragraph; a
    dry run says "would restore", never "restored"."""
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    args = how if isinstance(how, list) else []
    env = {"SWEEPER_KUBECONFIG": kubeconfig}
    if not isinstance(how, list):
        env[how] = "table"
    result = CliRunner().invoke(
        cli, ["restore", "--dry-run", log, *args], catch_exceptions=False, env=env
    )
    assert result.exit_code == 0, result.stderr
    first, second, paragraph = result.stdout.splitlines()
    assert first.split() == ["would", "restore", f"vap/{policy['metadata']['name']}"]
    assert second.split() == ["would", "restore", f"vapb/{binding['metadata']['name']}"]
    assert " restored" not in result.stdout.replace("would be restored", "")
    assert paragraph.startswith("Dry run of the restore (nothing stored) finished in ")
    assert paragraph.endswith(
        "2 selected, 2 would be restored, 0 already existed (left alone), 0 failed. "
        "Exit code 0 (clean)."
    )
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
    assert result.exit_code == 2 and "give FILE... or --from-cluster" in result.stderr
