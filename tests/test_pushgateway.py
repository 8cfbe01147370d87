"""Sweeps push to a real Prometheus Pushgateway (the Debian ``prometheus-pushgateway`` binary).

The fixture starts it on 127.0.0.1 on a free port, without persistence (Debian's build
defaults ``--persistence.file`` to /var/lib/prometheus/pushgateway.data: an empty value keeps
the metrics in memory only, so no test reads what an earlier gateway left there or writes
there), in its own session with HOME and the working directory in the test's tmp dir, and
stops it by PID at teardown; the tests skip with the reason when the binary is absent
(``.ci/run`` installs it). Each test runs ``sweeper sweep`` through the CLI against the fake
API server and reads the gateway's ``/metrics`` back.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from helpers import NOW, tool_env
from prometheus_client.parser import text_string_to_metric_families

from sweeper import __version__
from sweeper.cli.commands import cli
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

BINARY_NAMES = ("prometheus-pushgateway", "pushgateway")
JOB = "gatekeeper-sweeper"
START_TIMEOUT_SECONDS = 10.0
USER, PASSWORD = "sweeper", "s3cret-Pa55"
# What a sweep found in the cluster: pushed only when it read the whole cluster.
FINDINGS = {
    f"gatekeeper_sweeper_{name}"
    for name in (
        "objects_listed",
        "objects_candidates",
        "objects_would_delete",
        "objects_undecided",
        "last_full_read_timestamp_seconds",
    )
}


def pushgateway_binary() -> str | None:
    for name in BINARY_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return (
        "/usr/bin/prometheus-pushgateway"
        if Path("/usr/bin/prometheus-pushgateway").exists()
        else None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Gateway:
    """A running Pushgateway: its URL, and how to read it (with credentials if it wants)."""

    url: str
    process: subprocess.Popen[bytes]
    auth: tuple[str, str] | None = None

    def push_url(self, user: str = USER, password: str = PASSWORD) -> str:
        """The URL the sweeper is given, credentials included when the gateway wants them."""
        if self.auth is None:
            return self.url
        return self.url.replace("http://", f"http://{user}:{password}@")

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample of the sweeper's job: (name, labels) -> value."""
        response = requests.get(f"{self.url}/metrics", auth=self.auth, timeout=5)
        response.raise_for_status()
        found = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.labels.get("job") == JOB:
                    found[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return found

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``gatekeeper_sweeper_<name>`` of cluster ``prod`` (or as given)."""
        wanted = {"job": JOB, "cluster": "prod", "instance": ""} | labels
        return self.samples().get((f"gatekeeper_sweeper_{name}", frozenset(wanted.items())))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_gateway(binary: str, tmp_path: Path, *, auth: tuple[str, str] | None) -> Gateway:
    port = free_port()
    args = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        "--persistence.file=",  # in memory only: nothing read from or written to /var/lib
        "--log.level=error",
    ]
    if auth is not None:
        bcrypt = pytest.importorskip("bcrypt", reason="bcrypt (the test extra) hashes the password")
        hashed = bcrypt.hashpw(auth[1].encode(), bcrypt.gensalt(rounds=4)).decode()
        config = tmp_path / "web-config.yml"
        config.write_text(f"basic_auth_users:\n  {auth[0]}: '{hashed}'\n")
        args.append(f"--web.config.file={config}")
    log = (tmp_path / "pushgateway.log").open("wb")
    process = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=tool_env(tmp_path),
        start_new_session=True,  # Ctrl-C reaches pytest only; the fixture stops it by PID
    )
    gateway = Gateway(f"http://127.0.0.1:{port}", process, auth)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:  # a real process: poll until it answers
        if process.poll() is not None:
            pytest.fail(f"the Pushgateway exited: {(tmp_path / 'pushgateway.log').read_text()}")
        try:
            if requests.get(f"{gateway.url}/-/ready", auth=auth, timeout=0.5).ok:
                return gateway
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    gateway.stop()
    pytest.fail("the Pushgateway did not answer within 10 s")


@pytest.fixture
def start_pushgateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Starts real Pushgateways on demand; stops them all at teardown."""
    binary = pushgateway_binary()
    if binary is None:
        pytest.skip(
            "prometheus-pushgateway is not installed (Debian package prometheus-pushgateway; "
            ".ci/run installs it)"
        )
    started: list[Gateway] = []

    def start(*, auth: tuple[str, str] | None = None) -> Gateway:
        gateway = start_gateway(binary, tmp_path / str(len(started)), auth=auth)
        started.append(gateway)
        return gateway

    (tmp_path / "0").mkdir()
    (tmp_path / "1").mkdir()
    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[FakeApiServer, str]]:
    with FakeApiServer() as server:
        seed_sample_cluster(server, now=NOW)
        yield server, server.write_kubeconfig(tmp_path / "kubeconfig")


def run_sweep(kubeconfig: str, pushgateway_url: str, *options: str) -> tuple[int, list[str], str]:
    """``sweeper sweep`` through the CLI: exit code, stdout lines, stderr."""
    args = ["sweep", "--kubeconfig", kubeconfig, "--min-age", "0", "--cluster-name", "prod"]
    result = CliRunner().invoke(
        cli, [*args, "--pushgateway-url", pushgateway_url, *options], catch_exceptions=False
    )
    return result.exit_code, result.stdout.splitlines(), result.stderr


def events(lines: list[str]) -> list[str]:
    import json

    return [json.loads(line)["event"] for line in lines]


def test_push_add_keeps_the_last_success_across_a_failed_sweep(
    start_pushgateway: Callable[..., Gateway], api: tuple[FakeApiServer, str]
) -> None:
    gateway = start_pushgateway()
    server, kubeconfig = api
    code, lines, _ = run_sweep(kubeconfig, gateway.url)
    assert code == 0 and "metrics_push_failed" not in events(lines)
    success = gateway.value("last_success_timestamp_seconds")
    first_run = gateway.value("last_run_timestamp_seconds")
    assert success is not None and success == first_run
    assert gateway.value("exit_code") == 0
    assert gateway.value("objects_deleted") == 6
    assert gateway.value("objects_candidates", reason="owner-deleted") == 2
    assert gateway.value("build_info", version=__version__) == 1
    assert gateway.value("dry_run") == 0
    assert gateway.value("cluster_read") == 1
    assert gateway.value("last_full_read_timestamp_seconds") == first_run

    # The next sweep may not list bindings: RBAC, exit code 2.
    server.inject(
        method="GET", path=".*/validatingadmissionpolicybindings$", status=403, times=None
    )
    code, lines, _ = run_sweep(kubeconfig, gateway.url)
    assert code == 2 and "metrics_push_failed" not in events(lines)
    assert gateway.value("exit_code") == 2
    assert gateway.value("last_run_timestamp_seconds") >= first_run
    assert gateway.value("objects_deleted") == 0  # every gauge pushed again replaces its value
    # Not pushed by a failed sweep: the group keeps the last successful sweep's value.
    assert gateway.value("last_success_timestamp_seconds") == success


def test_an_unreadable_cluster_pushes_no_object_counts(
    start_pushgateway: Callable[..., Gateway], api: tuple[FakeApiServer, str]
) -> None:
    gateway = start_pushgateway()
    server, kubeconfig = api
    assert run_sweep(kubeconfig, gateway.url, "--dry-run")[0] == 0
    read_at = gateway.value("last_full_read_timestamp_seconds")
    found = {key: value for key, value in gateway.samples().items() if key[0] in FINDINGS}
    assert gateway.value("objects_would_delete") == 6
    assert gateway.value("objects_listed", kind="bindings") > 0

    # Every request fails now, discovery first, with an error not worth retrying (a real
    # clock runs here): exit code 4, nothing read.
    server.inject(path=".*", status=400, times=None)
    code, lines, _ = run_sweep(kubeconfig, gateway.url, "--dry-run")
    assert code == 4 and "metrics_push_failed" not in events(lines)
    assert gateway.value("exit_code") == 4
    assert gateway.value("cluster_read") == 0
    # No zeros that would read as "no leftovers": the last full read's counts and time stay.
    assert gateway.value("objects_would_delete") == 6
    assert gateway.value("last_full_read_timestamp_seconds") == read_at
    assert {key: v for key, v in gateway.samples().items() if key[0] in FINDINGS} == found


def test_a_dry_run_and_the_version_are_gauges(
    start_pushgateway: Callable[..., Gateway], api: tuple[FakeApiServer, str]
) -> None:
    gateway = start_pushgateway()
    _, kubeconfig = api
    assert run_sweep(kubeconfig, gateway.url, "--dry-run")[0] == 0
    assert gateway.value("dry_run") == 1
    assert gateway.value("objects_deleted") == 0
    assert gateway.value("objects_would_delete") == 6
    build = [key for key in gateway.samples() if key[0] == "gatekeeper_sweeper_build_info"]
    assert build == [
        (
            "gatekeeper_sweeper_build_info",
            frozenset(
                {("job", JOB), ("cluster", "prod"), ("instance", ""), ("version", __version__)}
            ),
        )
    ]
    assert run_sweep(kubeconfig, gateway.url)[0] == 0
    assert gateway.value("dry_run") == 0
    assert gateway.value("objects_deleted") == 6


def test_a_retired_clusters_group_is_deleted_with_one_request(
    start_pushgateway: Callable[..., Gateway], api: tuple[FakeApiServer, str]
) -> None:
    gateway = start_pushgateway()
    _, kubeconfig = api
    assert run_sweep(kubeconfig, gateway.url)[0] == 0
    assert gateway.value("exit_code") == 0
    # The command docs/fleet.md gives for a cluster that no longer exists.
    requests.delete(f"{gateway.url}/metrics/job/{JOB}/cluster/prod", timeout=5).raise_for_status()
    assert gateway.samples() == {}


def test_basic_auth_credentials_in_the_url_are_sent(
    start_pushgateway: Callable[..., Gateway], api: tuple[FakeApiServer, str]
) -> None:
    gateway = start_pushgateway(auth=(USER, PASSWORD))
    _, kubeconfig = api
    assert requests.get(f"{gateway.url}/metrics", timeout=5).status_code == 401

    code, lines, stderr = run_sweep(kubeconfig, gateway.push_url(password="wrong-password"))
    assert code == 0 and stderr == ""
    assert events(lines).count("metrics_push_failed") == 1
    assert "wrong-password" not in "\n".join(lines)
    assert gateway.samples() == {}

    code, lines, _ = run_sweep(kubeconfig, gateway.push_url())
    assert code == 0 and "metrics_push_failed" not in events(lines)
    assert gateway.value("exit_code") == 0
    assert PASSWORD not in "\n".join(lines)


def test_a_dead_gateway_is_one_line_and_changes_no_exit_code(
    start_pushgateway: Callable[..., Gateway], api: tuple[FakeApiServer, str]
) -> None:
    gateway = start_pushgateway()
    gateway.stop()  # it ran, and is gone: connection refused
    _, kubeconfig = api
    code, lines, stderr = run_sweep(kubeconfig, gateway.url)
    assert code == 0 and stderr == ""
    seen = events(lines)
    assert seen.count("metrics_push_failed") == 1
    assert seen[-1] == "sweep_summary"
    assert seen.index("metrics_push_failed") == len(seen) - 2
