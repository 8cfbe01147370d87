"""The command line contract: options, env vars, exit codes, JSON-only stdout, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers import NOW, run_main

from sweeper import __version__
from sweeper.cli.commands import cli
from sweeper.output import logschema
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def invoke_sweep(kubeconfig: str, *options: str):
    """``sweeper sweep`` against the fake server, nothing too young to go."""
    return invoke("sweep", "--kubeconfig", kubeconfig, "--min-age", "0", *options)


def json_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        logschema.check(line)  # the documented schema (docs/logging.md)
    return lines


def test_sweep_stdout_is_json_lines_with_one_summary(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    result = invoke_sweep(kubeconfig)
    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    assert [line["event"] for line in lines].count("sweep_summary") == 1
    assert lines[-1]["event"] == "sweep_summary" and lines[-1]["deleted"] == 6
    for line in lines:
        assert {"time", "level", "event", "sweep_id", "schema_version"} <= line.keys()
        assert line["time"].endswith("Z")
    assert result.stderr == ""


def test_env_vars_set_options(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    env = {
        "SWEEPER_KUBECONFIG": kubeconfig,
        "SWEEPER_DRY_RUN": "true",
        "SWEEPER_MIN_AGE": "0s",
        "SWEEPER_CLUSTER_NAME": "edge",
    }
    result = invoke("sweep", env=env)
    summary = json_lines(result.stdout)[-1]
    assert result.exit_code == 0
    assert summary["dry_run"] is True and summary["would_delete"] == 6
    assert summary["cluster"] == "edge"
    assert not [r for r in server.requests if r.method == "DELETE"]


def test_reasons_and_include_unowned(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    result = invoke_sweep(
        kubeconfig,
        "--dry-run",
        "--reasons",
        "owner-deleted",
        "--include-unowned",
    )
    lines = json_lines(result.stdout)
    would = {line["object_name"] for line in lines if line["event"] == "would_delete"}
    assert would == {
        "gatekeeper-k8srequiredlabels-must-have-team",
        "gatekeeper-k8sdisallowedtags",
        "gatekeeper-k8srequiredlabels-must-have-cost-center",
    }
    reported = {line["reason"] for line in lines if line["event"] == "reported"}
    assert reported == {"not-wanted", "legacy-duplicate", "owner-kind-gone"}


def test_exclude_regex(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    result = invoke_sweep(
        kubeconfig,
        "--exclude",
        "^gatekeeper-k8sdisallowedtags",
    )
    lines = json_lines(result.stdout)
    excluded = {line["object_name"] for line in lines if line["event"] == "excluded"}
    assert excluded == {"gatekeeper-k8sdisallowedtags", "gatekeeper-k8sdisallowedtags-no-latest"}
    assert lines[-1]["deleted"] == 4


def test_version() -> None:
    result = invoke("version")
    assert result.stdout == f"sweeper {__version__}\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sweep", "--min-age", "five"], "invalid duration"),
        (["sweep", "--log-level", "loud"], "'loud' is not one of"),
        (["sweep", "--reasons", "everything"], "invalid --reasons"),
        (["sweep", "--exclude", "("], "invalid --exclude"),
        (["sweep", "--max-deletions", "-1"], "--max-deletions"),
        (["sweep", "--no-such-flag"], "No such option"),
        (["sweep", "--kubeconfig", "/nonexistent/kubeconfig"], "cannot read kubeconfig"),
        (["sweep", "--notify-url", "http://[::1/x"], "--notify-url must be"),
        (["sweep", "--pushgateway-url", "http://host:port/"], "--pushgateway-url must be"),
        (["sweep", "--events-namespace", "Not_A_Namespace"], "--events-namespace must be"),
        (["sweep", "--min-age", "5m5m"], "invalid duration"),
        (["sweep", "--min-age", "\uff15m"], "invalid duration"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: list[str], needle: str) -> None:
    done = run_main(*args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sweeper: error: ")
    assert needle in lines[0]
    assert "Traceback" not in done.stderr


def test_bare_sweeper_shows_help_and_version_is_a_flag() -> None:
    done = run_main()
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("Usage: sweeper") and "sweep " in done.stdout
    assert run_main("--version").stdout == f"sweeper {__version__}\n"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts_are_generated(shell: str) -> None:
    done = run_main(env={"_SWEEPER_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0, done.stderr
    assert "_SWEEPER_COMPLETE" in done.stdout and "Usage" not in done.stdout


def test_completion_offers_options_and_choices() -> None:
    env = {
        "_SWEEPER_COMPLETE": "bash_complete",
        "COMP_WORDS": "sweeper sweep --dr",
        "COMP_CWORD": "2",
    }
    assert "--dry-run" in run_main(env=env).stdout
    env.update(COMP_WORDS="sweeper sweep -o ", COMP_CWORD="3")
    assert run_main(env=env).stdout.split() == [
        "plain,auto",
        "plain,table",
        "plain,json",
        "plain,text",
    ]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("just some text\n", "not a kubeconfig"),
        ("apiVersion: v1\nclusters: [\n  foo: bar\n", "invalid YAML at line 4, column 1"),
    ],
)
def test_kubeconfig_problems_name_the_file_and_line(tmp_path, content: str, needle: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    done = run_main("sweep", "--kubeconfig", str(path))
    assert done.returncode == 2
    assert (
        done.stderr
        == f"sweeper: error: cannot load kubeconfig {path}: {needle}"
        + (done.stderr.split(needle, 1)[1])
    )
    assert len(done.stderr.splitlines()) == 1


def test_an_unknown_context_is_named_as_kubectl_names_it(kubeconfig: str) -> None:
    done = run_main("sweep", "--kubeconfig", kubeconfig, "--context", "nope")
    assert done.returncode == 2
    assert f'sweeper: error: context "nope" does not exist in {kubeconfig}' in done.stderr


def test_request_timeout_takes_bare_seconds_as_kubectl_does(kubeconfig: str) -> None:
    from sweeper.cli.commands import sweep
    from sweeper.cli.options import build_settings

    ctx = sweep.make_context("sweep", ["--kubeconfig", kubeconfig, "--request-timeout", "7"])
    assert build_settings(ctx.params).access.request_timeout == 7.0


def test_unreadable_kubeconfig_contents(tmp_path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("{not: [valid")
    done = run_main("sweep", "--kubeconfig", str(path))
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "invalid YAML at line 1" in done.stderr
    summary = json_lines(done.stdout)[-1]
    assert summary["event"] == "sweep_summary" and summary["exit_code"] == 2


def test_unreachable_server_is_one_line_and_exit_4(tmp_path) -> None:
    with FakeApiServer() as gone:
        path = gone.write_kubeconfig(tmp_path / "kubeconfig")
    done = run_main("sweep", "--kubeconfig", path, "--request-timeout", "2s")
    assert done.returncode == 4, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "connection error" in done.stderr


def test_demo_runs_a_real_sweep() -> None:
    done = run_main("demo")
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stdout)
    assert lines[-1]["event"] == "sweep_summary" and lines[-1]["deleted"] == 6


def test_demo_serve_serves_until_interrupted(tmp_path) -> None:
    import signal
    import time

    kubeconfig = tmp_path / "demo.kubeconfig"
    demo = subprocess.Popen(
        [sys.executable, "-m", "sweeper", "demo", "--serve", "--kubeconfig-out", str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        first = demo.stdout.readline()  # bounded: the process prints at once or exits
        assert first.startswith("A sample Gatekeeper cluster is served at https://127.0.0.1:")
        deadline = time.monotonic() + 30
        while not kubeconfig.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        done = run_main("sweep", "--kubeconfig", str(kubeconfig), "--dry-run")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.splitlines()[-1])["would_delete"] == 6
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        demo.kill()


def test_demo_kubeconfig_out_needs_serve() -> None:
    done = run_main("demo", "--kubeconfig-out", "x.kubeconfig")
    assert done.returncode == 2 and "--kubeconfig-out goes with --serve" in done.stderr
