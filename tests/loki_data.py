"""What the ``loki`` tests ship and what they read back: real sweeps' stdout, the labels the
shipped log agent (examples/log-agent/config.alloy) gives it, and the LogQL, rules and panels
as the repository's files hold them (so editing a doc edits the test).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from helpers import NOW
from loki_service import Loki, push_lines

from sweeper.cli.commands import cli
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

ROOT = Path(__file__).resolve().parent.parent
AGENT_EXAMPLE = ROOT / "examples" / "log-agent" / "config.alloy"
LOKI_RULES = ROOT / "cronjob" / "chart" / "files" / "loki-rules.yaml"
DASHBOARD = ROOT / "docs" / "dashboard.json"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEFAULT_SELECTOR = '{app="gatekeeper-sweeper"}'
# The stream labels the example agent gives the CronJob's pods: `app` from the pod label
# app.kubernetes.io/name, `namespace` the pods' namespace (the kustomize base's and the chart's).
AGENT_LABELS = {"app": "gatekeeper-sweeper", "namespace": "gatekeeper-sweeper"}


# --- real sweeps ------------------------------------------------------------------------------


def sweep_stdout(
    server: FakeApiServer, kubeconfig: str, *options: str, cluster: str | None = None
) -> list[str]:
    """``sweeper sweep`` through the CLI, as the CronJob runs it: its stdout lines, unchanged."""
    args = ["sweep", "--kubeconfig", kubeconfig, "--min-age", "0", *options]
    if cluster is not None:
        args += ["--cluster-name", cluster]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.stdout.splitlines()


MODES: dict[str, tuple[str, ...]] = {
    "clean": (),
    "dry_run": ("--dry-run",),
    "guard": ("--max-deletions", "1"),  # exit 3, nothing deleted
    "failing": (),  # every DELETE answers 422, one constraint list 500: exit 1
}


def sample_sweep(state_dir: Path, mode: str, cluster: str | None) -> list[str]:
    """One sweep of a fresh sample cluster (6 leftovers, 1 reported) in ``mode``."""
    with FakeApiServer(clock=lambda: NOW) as server:
        seed_sample_cluster(server, now=NOW)
        if mode == "failing":
            server.inject(method="DELETE", status=422, times=None)
            server.inject(method="GET", path=".*/k8sallowedrepos$", status=500, times=None)
        state_dir.mkdir(parents=True, exist_ok=True)
        kubeconfig = server.write_kubeconfig(state_dir / "kubeconfig")
        return sweep_stdout(server, kubeconfig, *MODES[mode], cluster=cluster)


@dataclass(frozen=True)
class Shipment:
    """A sweep's lines as a log agent read them at ``at`` and shipped them with ``labels``."""

    at: datetime
    lines: tuple[str, ...]
    labels: Mapping[str, str]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


def ship(loki: Loki, tenant: str, shipments: Iterable[Shipment]) -> None:
    """Push every shipment, oldest first (Loki refuses a line 1 h older than its stream's
    newest, as it would an agent's)."""
    for shipment in sorted(shipments, key=lambda s: s.at):
        push_lines(loki, tenant, shipment.labels, list(shipment.lines), shipment.at)


def records_within(
    shipments: Iterable[Shipment], start: datetime, end: datetime, where: Callable[..., bool]
) -> list[dict[str, Any]]:
    """The JSON lines shipped between ``start`` and ``end`` for which ``where(line)`` holds."""
    return [
        record
        for shipment in shipments
        if start < shipment.at <= end
        for record in shipment.records()
        if where(record)
    ]


# --- the queries as the repository's files hold them -----------------------------------------


def documented_queries() -> list[tuple[str, str]]:
    """(file, query) for every LogQL query in README.md and docs/*.md: each ```logql block,
    and each inline code span that parses the sweeper's lines (``... | json ...``)."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```logql\n(.*?)```", text, flags=re.S):
            found.append((path.name, " ".join(block.split())))
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for span in re.findall(r"`([^`\n]+)`", prose):
            if DEFAULT_SELECTOR in span and "| json" in span:
                found.append((path.name, span))
    return found


def restore_recipe() -> str:
    """The shell block of docs/logging.md that exports deleted lines with logcli."""
    text = (ROOT / "docs" / "logging.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S) if "logcli" in b]
    return block


def loki_panels() -> list[dict[str, Any]]:
    return [
        p for p in json.loads(DASHBOARD.read_text())["panels"] if p["datasource"]["type"] == "loki"
    ]


def dashboard_variable(name: str) -> dict[str, Any]:
    (variable,) = [
        v for v in json.loads(DASHBOARD.read_text())["templating"]["list"] if v["name"] == name
    ]
    return variable


def substitute(expr: str, variables: Mapping[str, str]) -> str:
    """A panel's query as Grafana sends it: ``$name`` replaced, longest names first."""
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(f"${name}", variables[name])
    assert "$" not in expr.replace("$labels", ""), f"a variable was left: {expr}"
    return expr
