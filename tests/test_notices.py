"""End-of-sweep notices: Pushgateway metrics (Kubernetes Events and the webhook notification are
in test_notices_events.py and test_notices_webhook.py).

Each is best effort: whatever happens to it, the sweep deletes the same objects and exits
with the same code, and the summary stays the last line.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import responses
from helpers import NOW, sweep
from notifying import DELETED, WEBHOOK

from sweeper import __version__
from sweeper.core.summary import Summary
from sweeper.output.notices import SweepEnd, cluster_read, metric_samples, redact
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

# What a sweep found in the cluster: pushed only when it read the whole cluster.
FINDINGS = (
    "gatekeeper_sweeper_objects_listed",
    "gatekeeper_sweeper_objects_candidates",
    "gatekeeper_sweeper_objects_would_delete",
    "gatekeeper_sweeper_objects_undecided",
    "gatekeeper_sweeper_last_full_read_timestamp_seconds",
)


@dataclass
class Pushgateway:
    """A stand-in Pushgateway on 127.0.0.1 that records what it is sent."""

    status: int = 200
    received: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, body
    authorization: list[str | None] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def pushgateway() -> Iterator[Pushgateway]:
    gateway = Pushgateway()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            gateway.received.append((self.command, self.path, body.decode()))
            gateway.authorization.append(self.headers.get("Authorization"))
            self.send_response(gateway.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = _record

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield gateway
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def samples(body: str) -> dict[str, float]:
    """Metric lines of a text exposition: 'name{labels}' -> value."""
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


# --- Pushgateway ---------------------------------------------------------------------------


def test_metrics_are_pushed_with_job_and_cluster_after_a_clean_sweep(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway
) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, pushgateway_url=pushgateway.url, cluster_name="prod")
    assert run.exit_code == 0
    [(method, path, body)] = pushgateway.received
    assert method == "POST"  # push-add: keeps the last success timestamp of earlier pushes
    assert path == "/metrics/job/gatekeeper-sweeper/cluster/prod"
    got = samples(body)
    assert got["gatekeeper_sweeper_last_run_timestamp_seconds"] == NOW.timestamp()
    assert got["gatekeeper_sweeper_last_success_timestamp_seconds"] == NOW.timestamp()
    assert got["gatekeeper_sweeper_exit_code"] == 0
    assert got["gatekeeper_sweeper_objects_deleted"] == DELETED
    assert got["gatekeeper_sweeper_objects_delete_failed"] == 0
    assert got["gatekeeper_sweeper_objects_undecided"] == 0
    assert got["gatekeeper_sweeper_objects_would_delete"] == 0
    assert got[f'gatekeeper_sweeper_build_info{{version="{__version__}"}}'] == 1
    assert got["gatekeeper_sweeper_dry_run"] == 0
    assert got["gatekeeper_sweeper_cluster_read"] == 1
    assert got["gatekeeper_sweeper_last_full_read_timestamp_seconds"] == NOW.timestamp()
    assert got["gatekeeper_sweeper_duration_seconds"] == run.summary["duration_ms"] / 1000
    assert (
        got['gatekeeper_sweeper_objects_listed{kind="bindings"}'] == run.summary["listed_bindings"]
    )
    assert got['gatekeeper_sweeper_objects_candidates{reason="owner-deleted"}'] == 2
    assert got['gatekeeper_sweeper_objects_candidates{reason="gatekeeper-uninstalled"}'] == 0
    assert run.lines[-1]["event"] == "sweep_summary"


def test_a_failed_sweep_pushes_too_but_not_a_success_timestamp(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="DELETE", status=422, times=None)
    run = sweep(kubeconfig, pushgateway_url=pushgateway.url)
    assert run.exit_code == 1
    [(method, path, body)] = pushgateway.received
    assert (method, path) == ("POST", "/metrics/job/gatekeeper-sweeper/cluster/default")
    got = samples(body)
    assert "gatekeeper_sweeper_last_success_timestamp_seconds" not in got
    assert got["gatekeeper_sweeper_exit_code"] == 1
    assert got["gatekeeper_sweeper_objects_delete_failed"] == DELETED
    assert got["gatekeeper_sweeper_objects_deleted"] == 0
    assert got["gatekeeper_sweeper_cluster_read"] == 1  # it read everything; deletes failed


def test_a_sweep_that_cannot_start_still_pushes(tmp_path: Path, pushgateway: Pushgateway) -> None:
    run = sweep(str(tmp_path / "missing-kubeconfig"), pushgateway_url=pushgateway.url)
    assert run.exit_code == 2
    got = samples(pushgateway.received[0][2])
    assert got["gatekeeper_sweeper_exit_code"] == 2
    assert got["gatekeeper_sweeper_cluster_read"] == 0
    assert not [name for name in got if name.startswith(FINDINGS)]


def test_a_dry_run_says_so_and_pushes_what_it_would_delete(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway
) -> None:
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, pushgateway_url=pushgateway.url, dry_run=True)
    assert run.exit_code == 0
    got = samples(pushgateway.received[0][2])
    assert got["gatekeeper_sweeper_dry_run"] == 1
    assert got["gatekeeper_sweeper_objects_would_delete"] == DELETED
    assert got["gatekeeper_sweeper_objects_deleted"] == 0


def test_a_failed_list_pushes_no_findings(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=".*/validatingadmissionpolicies$", status=500, times=None)
    run = sweep(kubeconfig, pushgateway_url=pushgateway.url)
    assert run.exit_code == 4 and run.summary["lists_failed"] == 1
    got = samples(pushgateway.received[0][2])
    assert got["gatekeeper_sweeper_cluster_read"] == 0
    assert got["gatekeeper_sweeper_exit_code"] == 4
    assert not [name for name in got if name.startswith(FINDINGS)]
    # What this sweep did is still pushed: it is true whatever the read missed.
    assert got["gatekeeper_sweeper_objects_deleted"] == run.summary["deleted"]


def _pushed(**summary: object) -> dict[str, float]:
    fields: dict[str, Any] = {"exit_code": 0, "dry_run": False, "duration_ms": 1500} | summary
    end = SweepEnd(summary=Summary(**fields), outcomes=(), finished=NOW, cluster=None)
    return {
        name + "".join(f"{{{k}={v}}}" for k, v in labels.items()): value
        for name, _, labels, value in metric_samples(end)
    }


@pytest.mark.parametrize(
    ("summary", "read"),
    [
        ({"vap_version": "v1"}, True),
        ({"exit_code": 0}, True),  # no VAP API served: nothing to read, read in full
        ({"exit_code": 4}, False),  # stopped before it knew the VAP version
        ({"exit_code": 2}, False),  # RBAC or configuration
        ({"exit_code": 4, "vap_version": "v1", "lists_failed": 2}, False),
        ({"exit_code": 1, "vap_version": "v1"}, True),  # read everything; deletes failed
        ({"exit_code": 3, "vap_version": "v1"}, True),  # a guard: read everything
    ],
)
def test_cluster_read_decides_whether_findings_are_pushed(
    summary: dict[str, object], read: bool
) -> None:
    fields: dict[str, Any] = {"exit_code": 0, "dry_run": False, "duration_ms": 1} | summary
    assert cluster_read(Summary(**fields)) is read
    pushed = _pushed(**summary)
    assert pushed["cluster_read"] == float(read)
    assert any(name.startswith("objects_listed") for name in pushed) is read
    assert ("last_full_read_timestamp_seconds" in pushed) is read
    # Run gauges and what the sweep did go out every time.
    for name in ("last_run_timestamp_seconds", "exit_code", "dry_run", "objects_deleted"):
        assert name in pushed
    assert pushed[f"build_info{{version={__version__}}}"] == 1


def test_metric_names_are_the_documented_ones() -> None:
    names = {name.split("{")[0] for name in _pushed(vap_version="v1")}
    assert names == {
        "build_info",
        "last_run_timestamp_seconds",
        "last_success_timestamp_seconds",
        "last_full_read_timestamp_seconds",
        "duration_seconds",
        "exit_code",
        "dry_run",
        "cluster_read",
        "objects_listed",
        "objects_candidates",
        "objects_deleted",
        "objects_would_delete",
        "objects_delete_failed",
        "objects_undecided",
    }
    assert _pushed(vap_version="v1")["duration_seconds"] == 1.5


def test_docs_logging_md_lists_exactly_the_pushed_metrics() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "logging.md").read_text()
    section = text.split("## Prometheus metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `gatekeeper_sweeper_([a-z_]+)` \|", section, flags=re.M))
    assert documented == {name.split("{")[0] for name in _pushed(vap_version="v1")}


@pytest.mark.parametrize("failure", ["http-500", "connection-refused"])
def test_a_failed_push_is_logged_and_changes_nothing(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway, failure: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    pushgateway.status = 500
    url = pushgateway.url if failure == "http-500" else closed_port_url()
    run = sweep(kubeconfig, pushgateway_url=url)
    assert run.exit_code == 0
    assert run.summary["deleted"] == DELETED
    [line] = run.events("metrics_push_failed")
    assert line["level"] == "warning" and line["error"]
    assert run.lines[-1]["event"] == "sweep_summary"


def test_pushgateway_credentials_go_as_basic_auth_and_never_into_logs(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway
) -> None:
    seed_sample_cluster(server, now=NOW)
    with_credentials = pushgateway.url.replace("http://", "http://pusher:s3cretPW@")
    run = sweep(kubeconfig, pushgateway_url=with_credentials)
    assert run.exit_code == 0 and not run.events("metrics_push_failed")
    expected = "Basic " + base64.b64encode(b"pusher:s3cretPW").decode()
    assert pushgateway.authorization == [expected]
    pushgateway.status = 500
    failed = sweep(kubeconfig, pushgateway_url=with_credentials)
    assert failed.events("metrics_push_failed")
    assert "s3cretPW" not in json.dumps(run.lines + failed.lines)


def test_redact_removes_url_credentials() -> None:
    text = "nonnumeric port: 's3cretPW@127.0.0.1'"
    assert redact(text, "http://pusher:s3cretPW@127.0.0.1/") == "nonnumeric port: '***@127.0.0.1'"
    # A short username alone is only removed where it stands in a URL, not inside words.
    assert redact("<urlopen error timed out>", "https://u@gw/") == "<urlopen error timed out>"
    assert redact("cannot reach u@gw", "https://u@gw/") == "cannot reach ***@gw"
    assert redact("bad auth p@ss:word", "https://admin:p%40ss%3Aword@gw/") == "bad auth ***"
    assert redact("token ABCDEF rejected", "https://ABCDEF@gw/") == "token *** rejected"


def test_percent_encoded_pushgateway_credentials_are_sent_decoded(
    server: FakeApiServer, kubeconfig: str, pushgateway: Pushgateway
) -> None:
    seed_sample_cluster(server, now=NOW)
    url = pushgateway.url.replace("http://", "http://admin:p%40ss%3Aword@")
    sweep(kubeconfig, pushgateway_url=url)
    assert pushgateway.authorization == ["Basic " + base64.b64encode(b"admin:p@ss:word").decode()]


@responses.activate  # a guard: should the patch not take, nothing leaves this machine
def test_a_notice_that_breaks_never_costs_the_summary(
    server: FakeApiServer, kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeper.output import notices

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in a notice")

    monkeypatch.setattr(notices, "notify", broken)
    seed_sample_cluster(server, now=NOW)
    run = sweep(kubeconfig, notify_url=WEBHOOK)
    assert run.exit_code == 0 and run.summary["deleted"] == DELETED
    assert [line["error"] for line in run.events("notify_failed")] == ["ValueError"]
