"""A throw-away Grafana Loki for the ``loki`` tests: the single binary (monolithic,
``target: all``) from ``$LOKI_ASSETS``, on free 127.0.0.1 ports, every byte of its state
(chunks, index, WAL, ruler rules and WAL) in one tmp dir, in its own session, stopped by PID.

Multi-tenant (``auth_enabled``, no real auth: the ``X-Scope-OrgID`` header names the tenant),
so each scenario gets a tenant of its own and its data and rules see nothing of the others'.
The ruler reads ``DIR/rules/<tenant>/*.yaml`` and evaluates every ``EVAL_INTERVAL``.

``push_lines`` ships a sweep's stdout lines as a log agent does: each line unchanged, in one
stream whose labels are the few the agent sets (``examples/log-agent/``), the rest stays in
the JSON.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

READY_TIMEOUT_SECONDS = 60.0
EVAL_INTERVAL = "1s"  # the ruler's evaluation and poll interval (Loki's default: 1m)


def assets_problem(assets: str | None) -> str | None:
    """Why the Loki tests cannot run here, or None when they can."""
    if not assets:
        return "LOKI_ASSETS is not set (the folder with loki and logcli; .ci/run sets it)"
    missing = [name for name in ("loki", "logcli") if not os.access(Path(assets, name), os.X_OK)]
    if missing:
        return f"LOKI_ASSETS={assets} has no executable {' or '.join(missing)}"
    return None


def _free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def config(directory: Path, http_port: int, grpc_port: int, alertmanager_port: int) -> str:
    """Loki's YAML config: everything on 127.0.0.1, everything under ``directory``."""
    data = directory / "data"
    return f"""
target: all
auth_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: {http_port}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: {grpc_port}
  log_level: warn
  graceful_shutdown_timeout: 1s
common:
  instance_addr: 127.0.0.1
  path_prefix: {data}
  replication_factor: 1
  storage:
    filesystem:
      chunks_directory: {data}/chunks
      rules_directory: {directory}/rules
  ring:
    kvstore:
      store: inmemory
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
  wal:
    dir: {data}/wal
  # Lines hours or days old (pushed now) are answered from the ingester: no look-back limit.
  query_store_max_look_back_period: -1ns
frontend:
  scheduler_address: 127.0.0.1:{grpc_port}
frontend_worker:
  scheduler_address: 127.0.0.1:{grpc_port}
querier:
  query_ingesters_within: 0
schema_config:
  configs:
    - from: 2020-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  reject_old_samples: false
  unordered_writes: true
  max_query_lookback: 0
  retention_period: 0
ruler:
  enable_api: true
  evaluation_interval: {EVAL_INTERVAL}
  poll_interval: {EVAL_INTERVAL}
  rule_path: {data}/ruler-tmp
  wal:
    dir: {data}/ruler-wal
  alertmanager_url: http://127.0.0.1:{alertmanager_port}
  ring:
    kvstore:
      store: inmemory
compactor:
  working_directory: {data}/compactor
analytics:
  reporting_enabled: false
tracing:
  enabled: false
"""


@dataclass
class Loki:
    """A running Loki: its URL, its dir (rules go in ``rules/<tenant>/``) and its binaries."""

    url: str
    directory: Path
    process: subprocess.Popen[bytes]
    logcli: Path

    def _get(self, tenant: str, path: str, **params: Any) -> Any:
        response = requests.get(
            f"{self.url}{path}", params=params, headers={"X-Scope-OrgID": tenant}, timeout=30
        )
        assert response.ok, f"{path} {params}: HTTP {response.status_code}: {response.text}"
        return response.json()

    def push(self, tenant: str, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]):
        """One stream: ``labels``, and (nanoseconds since the epoch, line) entries."""
        values = [[str(ns), line] for ns, line in entries]
        body = {"streams": [{"stream": dict(labels), "values": values}]}
        response = requests.post(
            f"{self.url}/loki/api/v1/push",
            json=body,
            headers={"X-Scope-OrgID": tenant},
            timeout=30,
        )
        assert response.status_code == 204, f"push: HTTP {response.status_code}: {response.text}"

    def instant(self, tenant: str, query: str, at: datetime) -> dict[str, Any]:
        """``/query``: the ``data`` of an instant query (a vector) at ``at``."""
        return self._get(tenant, "/loki/api/v1/query", query=query, time=_ns(at))["data"]

    def range(
        self, tenant: str, query: str, start: datetime, end: datetime, step: str = "60s"
    ) -> dict[str, Any]:
        """``/query_range``: streams (a log query) or a matrix (a metric query)."""
        found = self._get(
            tenant,
            "/loki/api/v1/query_range",
            query=query,
            start=_ns(start),
            end=_ns(end),
            step=step,
            limit=5000,
            direction="forward",
        )
        return found["data"]

    def rule_groups(self, tenant: str) -> list[dict[str, Any]]:
        """The ruler's groups, rules and their alerts (Prometheus' ``/api/v1/rules`` shape)."""
        return self._get(tenant, "/prometheus/api/v1/rules")["data"]["groups"]

    def stop(self) -> None:
        """TERM, then KILL after 15 s: only this PID."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)


def start_loki(assets: Path, directory: Path, env: Mapping[str, str]) -> Loki:
    """Start Loki with all state in ``directory``; returns once ``/ready`` answers 200."""
    http_port, grpc_port, alertmanager_port = _free_ports(3)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "rules").mkdir(exist_ok=True)
    config_file = directory / "loki.yaml"
    config_file.write_text(config(directory, http_port, grpc_port, alertmanager_port))
    log = (directory / "loki.log").open("wb")
    process = subprocess.Popen(
        [str(assets / "loki"), f"-config.file={config_file}"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,  # a relative default path lands here, never in the caller's cwd
        env=dict(env),
        start_new_session=True,  # Ctrl-C reaches pytest only; the fixture stops it by PID
    )
    loki = Loki(f"http://127.0.0.1:{http_port}", directory, process, assets / "logcli")
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:  # a real process: poll until it answers
        if process.poll() is not None:
            raise RuntimeError(f"loki exited: {(directory / 'loki.log').read_text()[-3000:]}")
        try:
            if requests.get(f"{loki.url}/ready", timeout=1).status_code == 200:
                return loki
        except requests.RequestException:
            pass
        time.sleep(0.05)
    loki.stop()
    raise RuntimeError(f"loki not ready after {READY_TIMEOUT_SECONDS:.0f} s")


def push_lines(
    loki: Loki, tenant: str, labels: Mapping[str, str], lines: list[str], at: datetime
) -> None:
    """Ship a sweep's stdout as a log agent does: one stream with the agent's ``labels``,
    each line as it was written, stamped when it was read (from ``at``, 1 ms apart)."""
    start = _ns(at)
    loki.push(tenant, labels, [(start + i * 1_000_000, line) for i, line in enumerate(lines)])


def stream_lines(data: dict[str, Any]) -> list[str]:
    """The lines of a log query's answer, oldest first across all streams."""
    assert data["resultType"] == "streams", data["resultType"]
    entries = [tuple(value) for stream in data["result"] for value in stream["values"]]
    return [line for _, line in sorted(entries, key=lambda entry: int(entry[0]))]


def vector(data: dict[str, Any], *labels: str) -> dict[tuple[str, ...], float]:
    """An instant metric query's answer: (values of ``labels``) -> sample value."""
    assert data["resultType"] == "vector", data["resultType"]
    return {
        tuple(sample["metric"].get(label, "") for label in labels): float(sample["value"][1])
        for sample in data["result"]
    }


def parsed(lines: Iterable[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]
