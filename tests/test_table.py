"""The human view: ``--output table`` shows the same sweep as the JSON lines, for people."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from click.testing import CliRunner
from helpers import NOW, FakeTime, fake_runtime, settings_for

from sweeper.cli.commands import cli
from sweeper.output.report import Reporter
from sweeper.output.table import age, render_table
from sweeper.runs.sweep import run_sweep
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster


def table_sweep(kubeconfig: str, **changes: object) -> tuple[int, str]:
    """One in-process sweep rendered as a table; (exit code, text)."""
    stream, fake = io.StringIO(), FakeTime()
    runtime = fake_runtime(fake)
    settings = settings_for(kubeconfig, output="table", **changes)
    reporter = Reporter(
        stream=stream, output="table", cluster_name=settings.cluster_name, now=lambda: NOW
    )
    result = run_sweep(settings, reporter=reporter, runtime=runtime)
    reporter.close()
    return result.exit_code, stream.getvalue()


def test_dry_run_table_lists_every_verdict_aligned_then_a_paragraph(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    code, text = table_sweep(kubeconfig, dry_run=True, cluster_name="edge")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split() == ["OBJECT", "REASON", "OWNER", "ACTION", "AGE"]
    rows = lines[1 : lines.index("")]
    assert len(rows) == 7
    starts = [lines[0].index(h) for h in ("REASON", "OWNER", "ACTION", "AGE")]
    for row in rows:  # every column starts where its header does
        assert all(row[s - 2 : s] == "  " and row[s] != " " for s in starts), row
        assert row.endswith("1h")
    assert "vapb/gatekeeper-prod-repos  " in text and "legacy-duplicate" in text
    assert sum("would_delete" in row for row in rows) == 6
    assert sum("reported" in row for row in rows) == 1
    assert "{" not in text  # no JSON at all
    paragraph = lines[-1]
    assert paragraph.startswith("Dry run of cluster edge finished in ")
    assert "7 candidates, 6 would be deleted" in paragraph and "Exit code 0 (clean)" in paragraph


def test_a_real_sweep_table_and_its_notes(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="DELETE", path=".*/gatekeeper-prod-repos$", status=422, times=None)
    code, text = table_sweep(kubeconfig)
    assert code == 1
    assert sum(" deleted " in row for row in text.splitlines()) == 5
    assert "delete_failed" in text
    assert "5 deleted, 1 failed" in text and "Exit code 1 (some deletions failed" in text


def test_a_guard_trip_is_a_note(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    code, text = table_sweep(kubeconfig, max_deletions=1)
    assert code == 3
    assert "error: too many deletions planned; nothing deleted (6 planned, max_deletions is 1)" in (
        text
    )


def test_nothing_to_show(tmp_path) -> None:
    with FakeApiServer(vap_versions=()) as bare:
        code, text = table_sweep(bare.write_kubeconfig(tmp_path / "k"))
    assert code == 0
    assert text.startswith("No Gatekeeper-generated object needs attention.")


def test_cli_output_table_via_env(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=datetime.now(UTC))
    env = {"SWEEPER_KUBECONFIG": kubeconfig, "SWEEPER_OUTPUT": "table", "SWEEPER_DRY_RUN": "1"}
    result = CliRunner().invoke(cli, ["sweep", "--min-age", "0"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("OBJECT ")
    assert "6 would be deleted" in result.stdout


def test_age_and_render_helpers() -> None:
    assert age(None, NOW) == "-"
    assert age("2026-01-01T00:59:15Z", NOW) == "45s"
    assert age("2026-01-01T00:48:00Z", NOW) == "12m"
    assert age("2025-12-29T01:00:00Z", NOW) == "3d"
    assert render_table([("a", "b", "c", "d", "e")])[1] == "a       b       c      d       e"


def closing_paragraph(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


def test_an_unreachable_server_is_never_all_clear(tmp_path) -> None:
    with FakeApiServer() as gone:
        path = gone.write_kubeconfig(tmp_path / "k")
    code, text = table_sweep(path)  # the server is stopped: connection refused
    assert code == 4
    assert "No Gatekeeper-generated object needs attention." not in text
    last = closing_paragraph(text)
    assert "before the cluster was read" in last
    assert "Exit code 4 (the cluster could not be fully read): cannot read the cluster's" in last
    assert "connection error" in last


def test_a_missing_kubeconfig_is_never_all_clear(tmp_path) -> None:
    code, text = table_sweep(str(tmp_path / "absent"))
    assert code == 2
    assert "needs attention" not in text
    assert closing_paragraph(text).endswith(
        f"Exit code 2 (usage or configuration error): cannot read kubeconfig "
        f"{tmp_path / 'absent'}: no such file."
    )


def test_a_signal_before_reading_is_never_all_clear(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    stream, fake = io.StringIO(), FakeTime()
    runtime = fake_runtime(fake)
    runtime.stop.set()  # Ctrl-C arrived before the first request
    settings = settings_for(kubeconfig, output="table")
    reporter = Reporter(stream=stream, output="table", now=lambda: NOW)
    result = run_sweep(settings, reporter=reporter, runtime=runtime)
    reporter.close()
    assert result.exit_code == 4
    assert "needs attention" not in stream.getvalue()
    assert "stopped by a signal" in closing_paragraph(stream.getvalue())


def test_a_failed_sweep_paragraph_names_its_error(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path="constrainttemplates$", status=403, times=None)
    code, text = table_sweep(kubeconfig)
    assert code == 2
    assert "Exit code 2 (usage or configuration error): list /apis/templates" in (
        closing_paragraph(text)
    )


def test_the_table_says_what_it_assumed_about_gatekeeper(
    server: FakeApiServer, kubeconfig: str
) -> None:
    from sweeper.core.settings import Observing
    from sweeper.testing import objects as make

    seed_sample_cluster(server, now=NOW, gatekeeper=False)
    generate = ["--operation=audit,status,generate"]
    server.create(make.gatekeeper_deployment("gatekeeper-audit", version="v3.22.0", args=generate))
    code, text = table_sweep(kubeconfig, dry_run=True, observing=Observing(vap_default=True))
    assert code == 0
    assert (
        "Gatekeeper v3.22.0 in gatekeeper-system: VAP default on (option), "
        "VAPB default on (observed)." in text.splitlines()
    )


def test_a_dry_run_table_past_a_guard_shows_every_candidate(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    code, text = table_sweep(kubeconfig, dry_run=True, max_deletions=2)
    assert code == 3
    assert sum(" would_delete " in row for row in text.splitlines()) == 6
    assert "a real sweep would stop here" in text
    assert closing_paragraph(text).endswith(
        "Exit code 3 (aborted by a guard, nothing deleted): deletion guard tripped; "
        "nothing was deleted."
    )
