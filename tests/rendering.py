"""Render what ships: the Helm chart (Helm's Go SDK, helm-python-sdk) and kustomize dirs.

Test helpers, not tests. Rendering needs no cluster; a missing engine skips the caller's
test with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import tool_env

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "cronjob" / "chart"
RELEASE = "gatekeeper-sweeper"  # the release name and namespace the kustomize base uses
NAMESPACE = "gatekeeper-sweeper"

Manifest = dict[str, Any]

# Every option and every optional object turned on (the NetworkPolicy needs its peers).
FULL_VALUES: dict[str, Any] = {
    "oneshot": {"enabled": True},
    "events": {"enabled": True, "namespace": "gatekeeper-sweeper"},
    "prometheusRule": {
        "enabled": True,
        "labels": {"release": "prometheus"},
        "runbookUrl": "https://wiki.example.com/runbooks/gatekeeper-sweeper",
    },
    "notify": {"existingSecret": "gatekeeper-sweeper-notify"},
    "gatekeeper": {"observe": True, "namespace": "opa-system"},
    "networkPolicy": {
        "enabled": True,
        "apiServer": {"cidrs": ["10.0.0.1/32", "172.18.0.2/32"]},
        "pushgateway": {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    },
                    "podSelector": {
                        "matchLabels": {"app.kubernetes.io/name": "prometheus-pushgateway"}
                    },
                }
            ]
        },
        "webhook": {"to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}]},
    },
    "sweeper": {
        "requestTimeout": "20s",
        "reasons": "owner-deleted,not-wanted",
        "includeUnowned": True,
        "exclude": ["^keep-", "-manual$"],
        "gatekeeperVapDefault": False,
        "gatekeeperVapbDefault": True,
        "maxDeletions": 1000000,
        "maxDeletionPercent": 12.5,
        "pageSize": 250,
        "qps": 2.5,
        "burst": 5,
        "concurrency": 2,
        "readConcurrency": 6,
        "readQps": 20.5,
        "readBurst": 40,
        "record": True,
        "recordNamespace": "sweeper-records",
        "recordRetention": "14d",
        "clusterName": "prod-eu-1",
        "output": "json",
        "pushgatewayUrl": "http://pushgateway.monitoring:9091",
        "insecureSkipTlsVerify": False,
        "extraEnv": [{"name": "TZ", "value": "UTC"}],
    },
    "podAnnotations": {"example.com/team": "platform"},
    "podLabels": {"example.com/cost-center": "infra"},
    "priorityClassName": "low-priority",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchExpressions": [
                            {"key": "node-role", "operator": "In", "values": ["system"]}
                        ]
                    },
                }
            ]
        }
    },
    "imagePullSecrets": [{"name": "registry"}],
    "serviceAccount": {"annotations": {"example.com/owner": "platform"}},
}


def helm() -> Any:
    """The helm_python module, or a skip naming what is missing."""
    return pytest.importorskip(
        "helm_python", reason="helm-python-sdk (the test extra) is needed to render the chart"
    )


def render_chart(values: dict[str, Any] | None = None) -> list[Manifest]:
    """Every object the chart renders with ``values``, as ``helm template`` would."""
    with helm().Chart.load(CHART) as chart:
        rendered = chart.render(values=values or {}, name=RELEASE, namespace=NAMESPACE)
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def kustomize(directory: Path, state_dir: Path) -> list[Manifest]:
    """``kubectl kustomize DIR``, its HOME, config and cache in ``state_dir`` (the test's tmp
    dir); skips when kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: it renders the kustomize dirs offline")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
        cwd=state_dir,
        env=tool_env(state_dir / "kubectl"),
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(objects: list[Manifest], kind: str, name_suffix: str = "") -> Manifest:
    """The single object of ``kind`` whose name ends with ``name_suffix``."""
    (found,) = [
        o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)
    ]
    return found


def env_of(job_spec: Manifest) -> list[Manifest]:
    """The sweeper container's env list of a Job spec."""
    (container,) = job_spec["template"]["spec"]["containers"]
    return container["env"]
