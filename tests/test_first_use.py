"""What a new user meets first: the output a terminal gets, the reasons ``all`` means, and
flags that say what they do (issue 22's list, one test or more per item)."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from helpers import NOW
from sweeping import names

from sweeper import __version__
from sweeper.cli import demo, options
from sweeper.cli.commands import cli
from sweeper.core.settings import SettingsError, parse_duration, parse_reasons
from sweeper.output import logschema, table
from sweeper.runs import explain as explain_run
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

ORPHAN = "gatekeeper-k8srequiredlabels-must-have-cost-center"  # the sample's orphaned-unowned
LIST_PATH = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- -o auto --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "stream", "resolved"),
    [
        ("auto", Terminal(), "table"),
        ("auto", io.StringIO(), "json"),
        (None, Terminal(), "table"),
        ("json", Terminal(), "json"),
        ("table", io.StringIO(), "table"),
        ("text", io.StringIO(), "table"),
    ],
)
def test_auto_is_the_table_on_a_terminal_and_json_otherwise(
    requested: str | None, stream: io.StringIO, resolved: str
) -> None:
    assert options.resolve_output(requested, stream) == resolved


def test_a_stream_without_isatty_gets_json() -> None:
    closed = io.StringIO()
    closed.close()
    assert options.resolve_output("auto", closed) == "json"
    assert options.resolve_output("auto", object()) == "json"


def _read_terminal(args: list[str], *, deadline_seconds: float = 60) -> tuple[int, str]:
    """Run ``python -m sweeper ARGS`` with stdout on a pseudo-terminal; its exit code and
    what it printed there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sweeper", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        start_new_session=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + deadline_seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the other side closed: EIO on Linux
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def test_on_a_terminal_a_dry_run_shows_the_table_and_piped_json(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    args = ["sweep", "--dry-run", "--kubeconfig", kubeconfig]
    code, shown = _read_terminal(args)
    assert code == 0, shown
    assert shown.splitlines()[0].split() == ["OBJECT", "REASON", "OWNER", "ACTION", "AGE"]
    assert "Dry run finished in " in shown and shown.rstrip().endswith("Exit code 0 (clean).")
    assert "{" not in shown

    piped = subprocess.run(
        [sys.executable, "-m", "sweeper", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert piped.returncode == 0, piped.stderr
    lines = [json.loads(line) for line in piped.stdout.splitlines()]
    for line in lines:
        logschema.check(line)
    started = lines[0]
    assert started["event"] == "sweep_started"
    assert (started["output"], started["output_requested"]) == ("json", "auto")


@pytest.mark.parametrize("value", ["auto", "table", "json", "text"])
def test_sweeper_output_means_the_same_for_every_command(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path, value: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    env = {"SWEEPER_KUBECONFIG": kubeconfig, "SWEEPER_OUTPUT": value}
    table = value in ("table", "text")
    swept = invoke("sweep", "--dry-run", env=env)
    assert swept.exit_code == 0, swept.stderr
    assert swept.stdout.startswith("OBJECT ") is table
    explained = invoke("explain", ORPHAN, env=env)
    assert explained.exit_code == 0, explained.stderr
    assert explained.stdout.startswith("{") is not table
    log = tmp_path / "empty.log"
    log.write_text("")
    restored = invoke("restore", str(log), env=env)
    assert restored.exit_code == 2  # nothing to restore, but -o was understood
    assert restored.stdout.startswith("{") is not table
    assert "no deleting or deleted lines matched" in restored.stderr


def test_every_command_declares_output_identically() -> None:
    def output_of(command: click.Command) -> click.Option:
        (found,) = [p for p in command.params if p.name == "output"]
        assert isinstance(found, click.Option)
        return found

    commands = [cli.commands[name] for name in ("sweep", "explain", "restore", "demo")]
    declared = {
        (tuple(output_of(c).opts), tuple(output_of(c).type.choices), output_of(c).default)
        for c in commands
    }
    assert declared == {(("-o", "--output"), ("auto", "table", "json", "text"), "auto")}
    assert {output_of(c).envvar for c in commands} == {"SWEEPER_OUTPUT"}


# --- orphaned-unowned only with --include-unowned -----------------------------------------


def test_all_means_every_reason_but_orphaned_unowned() -> None:
    everything = {r.value for r in parse_reasons("all", include_unowned=True)}
    assert "orphaned-unowned" in everything
    assert {r.value for r in parse_reasons("all")} == everything - {"orphaned-unowned"}
    assert parse_reasons("all") == parse_reasons("default")
    with pytest.raises(SettingsError, match="only with --include-unowned"):
        parse_reasons("owner-deleted,orphaned-unowned")
    named = parse_reasons("orphaned-unowned", include_unowned=True)
    assert {r.value for r in named} == {"orphaned-unowned"}


def test_reasons_all_deletes_no_orphaned_unowned(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    base = ["sweep", "--kubeconfig", kubeconfig, "-o", "json", "--min-age", "0"]
    result = invoke(*base, "--reasons", "all")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    deleted = {line["object_name"] for line in lines if line["event"] == "deleted"}
    assert ORPHAN not in deleted and len(deleted) == 6
    (held,) = [line for line in lines if line.get("object_name") == ORPHAN]
    assert held["event"] == "reported"
    assert "orphaned-unowned" not in lines[0]["reasons"]
    assert ORPHAN in names(server, "ValidatingAdmissionPolicyBinding")

    refused = invoke(*base, "--reasons", "orphaned-unowned")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert (
        "--reasons names orphaned-unowned, which is deleted only with --include-unowned: "
        "add --include-unowned (SWEEPER_INCLUDE_UNOWNED=true) to delete those objects"
    ) in refused.stderr
    opted = invoke(*base, "--reasons", "all", "--include-unowned")
    assert opted.exit_code == 0, opted.stderr
    assert ORPHAN not in names(server, "ValidatingAdmissionPolicyBinding")


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["5M", "1H", "30S", "5Ms", "1h30M"])
def test_upper_case_units_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(SettingsError, match="units are lower-case"):
        parse_duration(text)


def test_min_age_5M_is_a_usage_error() -> None:
    result = invoke("sweep", "--min-age", "5M")
    assert result.exit_code == 2
    assert "units are lower-case (ms, s, m, h, d); write '5m' if that is what you mean" in (
        result.stderr
    )


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_hint_runs_the_sweeper_as_it_was_started() -> None:
    assert demo.invoked_as(".venv/bin/sweeper") == ".venv/bin/sweeper"
    assert demo.invoked_as("/opt/my env/bin/sweeper") == "'/opt/my env/bin/sweeper'"
    assert demo.invoked_as("/x/sweeper/__main__.py", "/usr/bin/python3") == (
        "/usr/bin/python3 -m sweeper"
    )
    text = demo.instructions("https://127.0.0.1:1", Path("demo.kubeconfig"), ".venv/bin/sweeper")
    commands = [line.strip() for line in text.splitlines() if "sweep " in line or "explain" in line]
    assert commands and all(line.startswith(".venv/bin/sweeper ") for line in commands)


def test_serve_without_kubeconfig_out_writes_demo_kubeconfig_here(tmp_path: Path) -> None:
    served = subprocess.Popen(
        [sys.executable, "-m", "sweeper", "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        start_new_session=True,
    )
    try:
        assert served.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # bounded: it prints at once, or exits
            line = served.stdout.readline()
            if not line or line.startswith("Press Ctrl-C"):
                break
            lines.append(line.rstrip("\n"))
        assert "Kubeconfig (CA and token included): demo.kubeconfig" in lines
        assert (tmp_path / "demo.kubeconfig").is_file()
        assert (
            f"  {sys.executable} -m sweeper sweep --kubeconfig demo.kubeconfig --dry-run" in lines
        )
        served.send_signal(signal.SIGINT)
        assert served.wait(timeout=30) == 0
    finally:
        served.kill()


def test_what_the_walkthrough_writes_is_git_ignored() -> None:
    root = Path(__file__).resolve().parents[1]
    patterns = (root / ".gitignore").read_text().splitlines()
    assert "demo.kubeconfig" in patterns and "sweep.log" in patterns


# --- small honest answers ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["sweep", "explain", "restore", "demo", "version"])
def test_every_command_answers_version(command: str) -> None:
    result = invoke(command, "--version")
    assert result.exit_code == 0 and result.stdout == f"sweeper {__version__}\n"


def test_a_wrong_context_lists_the_valid_ones(server: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context="kind-dev")
    result = invoke("sweep", "--kubeconfig", kubeconfig, "--context", "prod")
    assert result.exit_code == 2
    assert f'context "prod" does not exist in {kubeconfig}; its contexts: kind-dev' in (
        result.stderr
    )


def test_the_summary_counts_in_words() -> None:
    assert (table.count(1, "candidate"), table.count(2, "candidate")) == (
        "1 candidate",
        "2 candidates",
    )
    assert table.count(1, "policy", "policies") == "1 policy"
    assert table.count(0, "policy", "policies") == "0 policies"


def test_one_candidate_reads_as_one(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    result = invoke(
        "sweep",
        "--kubeconfig",
        kubeconfig,
        "--dry-run",
        "-o",
        "table",
        "--exclude",
        "cost-center|blocknodeport|disallowedtags|audit-only|prod-repos",
    )
    assert result.exit_code == 0, result.stderr
    assert "7 candidates" in result.stdout  # excluded ones are still candidates
    assert "1 would be deleted" in result.stdout


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (3615, "1h"),  # not 1h15s: the minutes are not skipped
        (3660, "1h1m"),
        (5400, "1h30m"),
        (86400 + 59, "1d"),
        (2 * 86400 + 3 * 3600 + 5, "2d3h"),
        (61, "1m1s"),
    ],
)
def test_ages_use_neighbouring_units(seconds: int, text: str) -> None:
    assert explain_run._span(seconds) == text


def test_owners_are_spelled_as_the_api_spells_them(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    result = invoke("sweep", "--kubeconfig", kubeconfig, "--dry-run", "-o", "json")
    owners = {
        line["owner_kind"]
        for line in map(json.loads, result.stdout.splitlines())
        if "owner_kind" in line
    }
    assert "K8sRequiredLabels" in owners and "ConstraintTemplate" in owners
    assert all(kind[0].isupper() for kind in owners), owners


# --- shell completion -------------------------------------------------------------------------


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash completion offers after ``words`` (the last word is the one completed)."""
    parts = words.split(" ")
    result = subprocess.run(
        [sys.executable, "-m", "sweeper"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "_SWEEPER_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            **(env or {}),
        },
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_completion_offers_contexts(server: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context="kind-dev")
    assert complete(f"sweeper sweep --kubeconfig {kubeconfig} --context ") == ["kind-dev"]
    assert complete(f"sweeper sweep --kubeconfig {kubeconfig} --context x") == []
    assert complete("sweeper sweep --context ", {"KUBECONFIG": kubeconfig}) == ["kind-dev"]
    assert complete(f"sweeper sweep --kubeconfig {tmp_path}/missing --context ") == []


def test_completion_offers_reasons() -> None:
    offered = complete("sweeper sweep --reasons ")
    assert offered[0] == "all" and "owner-deleted" in offered and len(offered) == 7
    assert complete("sweeper sweep --reasons owner-deleted,not") == ["owner-deleted,not-wanted"]


def test_completion_offers_object_names_when_a_kubeconfig_is_given(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    offered = complete(f"sweeper explain --kubeconfig {kubeconfig} gatekeeper-k8sb")
    assert offered == ["gatekeeper-k8sblocknodeport"]
    assert ORPHAN in complete(f"sweeper explain --kubeconfig {kubeconfig} ")
    assert complete("sweeper explain gatekeeper-") == []  # no kubeconfig named: no request
    server.inject(method="GET", path=LIST_PATH, status=403, times=None)
    assert complete(f"sweeper explain --kubeconfig {kubeconfig} gatekeeper-") == []
