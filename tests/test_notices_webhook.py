"""The webhook notification as an end-of-sweep notice: one message when a sweep deleted, failed
deletions first, nothing when nothing was deleted, and the URL (a secret) never in a log line,
an error message or the settings."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from helpers import NOW, sweep
from notifying import DELETED, WEBHOOK

from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

# --- the webhook notification --------------------------------------------------------------


def no_line_mentions_the_secret(lines: list[dict]) -> None:
    text = json.dumps(lines)
    assert "s3cr3tT0k3n" not in text and "/services/" not in text


@responses.activate
def test_a_sweep_that_deleted_sends_one_message(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    responses.add(responses.POST, WEBHOOK, body="ok")
    run = sweep(kubeconfig, notify_url=WEBHOOK, cluster_name="prod")
    assert run.exit_code == 0
    [call] = responses.calls
    text = json.loads(call.request.body)["text"]
    assert "cluster prod" in text and "deleted 6, failed 0" in text
    bullets = [line for line in text.splitlines() if line.startswith("• deleted ")]
    assert len(bullets) == 5
    assert {b.split("/", 1)[1].split(" ")[0] for b in bullets} <= run.names("deleted")
    assert "… and 1 more" in text
    no_line_mentions_the_secret(run.lines)


@responses.activate
def test_nothing_deleted_nothing_sent(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    responses.add(responses.POST, WEBHOOK, body="ok")
    sweep(kubeconfig, notify_url=WEBHOOK, dry_run=True)
    sweep(kubeconfig, notify_url=WEBHOOK)  # deletes
    sweep(kubeconfig, notify_url=WEBHOOK)  # nothing left
    assert len(responses.calls) == 1


@responses.activate
def test_failed_deletions_are_notified_first(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="DELETE", path=".*/validatingadmissionpolicies/.*", status=422, times=None)
    responses.add(responses.POST, WEBHOOK, body="ok")
    run = sweep(kubeconfig, notify_url=WEBHOOK)
    text = json.loads(responses.calls[0].request.body)["text"]
    failed = run.names("delete_failed")
    assert failed and f"failed {len(failed)}" in text
    assert text.splitlines()[1].startswith("• FAILED")


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500},
        {"body": requests.ConnectionError(f"Max retries exceeded with url: {WEBHOOK}")},
        {"body": requests.Timeout("read timed out")},
    ],
)
@responses.activate
def test_a_failed_notification_is_logged_without_the_url(
    server: FakeApiServer, kubeconfig: str, answer: dict
) -> None:
    seed_sample_cluster(server, now=NOW)
    responses.add(responses.POST, WEBHOOK, **answer)
    run = sweep(kubeconfig, notify_url=WEBHOOK)
    assert run.exit_code == 0 and run.summary["deleted"] == DELETED
    [line] = run.events("notify_failed")
    assert "hooks.example.com" in line["error"]
    no_line_mentions_the_secret(run.lines)


def test_a_bad_notify_url_is_refused_without_echoing_it() -> None:
    from click.testing import CliRunner

    from sweeper.cli.commands import cli

    result = CliRunner().invoke(
        cli,
        ["sweep", "--dry-run"],
        env={"SWEEPER_NOTIFY_URL": "hooks.example.com/services/s3cr3tT0k3n"},
    )
    assert result.exit_code == 2
    assert "--notify-url must be an http:// or https:// URL" in result.output
    assert "s3cr3tT0k3n" not in result.output


def test_settings_never_show_the_notify_url() -> None:
    from sweeper.core.settings import Notices, Settings

    assert "s3cr3tT0k3n" not in repr(Settings(notices=Notices(notify_url=WEBHOOK)))
