"""Helpers of the tests against a real control plane (envtest): a client per control plane,
a clean cluster per test, real clocks for sweeps, and a sweep's outcome per object."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import FakeTime, SweepRun, settings_for

from sweeper.output import logschema
from sweeper.output.report import Reporter
from sweeper.runs.sweep import Runtime, run_sweep
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import ADMISSION, RealApi, resource_path

VAP_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
OBJECT_EVENTS = (
    "deleted",
    "would_delete",
    "already_gone",
    "conflict",
    "delete_failed",
    "owner_back",
    "undecided",
    "too_young",
    "excluded",
    "reported",
    "interrupted",
)
# Summary fields that measure time, not what the sweep decided.
_TIMING = ("duration", "seconds", "elapsed", "started", "finished")


def api_for(plane: ControlPlane) -> RealApi:
    return RealApi(plane.server, plane.admin_token, plane.ca_file)


def real_now() -> datetime:
    """A sweep's clock on a real server: objects were created moments ago by its clock."""
    return datetime.now(UTC) + timedelta(minutes=1)


def real_sweep(kubeconfig: str | Path, **changes: Any) -> SweepRun:
    """One sweep in-process with the real clocks and waits (a real server's admission and
    garbage collector move on their own time); its parsed JSON lines."""
    stream = io.StringIO()
    settings = settings_for(str(kubeconfig), **changes)
    reporter = Reporter(stream=stream, level=settings.log_level, cluster_name=settings.cluster_name)
    result = run_sweep(settings, reporter=reporter, runtime=Runtime(environ={}))
    reporter.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        logschema.check(line)
    return SweepRun(result, lines, FakeTime())


def outcomes(run: SweepRun) -> dict[str, str]:
    """Object name -> "EVENT REASON" for every per-object line of a sweep."""
    return {
        line["object_name"]: f"{line['event']} {line.get('reason', '')}".strip()
        for line in run.lines
        if line["event"] in OBJECT_EVENTS
    }


def decisions(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without its timings and timestamps."""
    return {
        key: value
        for key, value in summary.items()
        if not any(word in key for word in _TIMING)
        and key not in ("time", "ts", "timestamp", "sweep_id", "cluster_uid")
    }


def vap_names(api: RealApi) -> set[str]:
    return {
        item["metadata"]["name"]
        for kind in VAP_KINDS
        for item in api.items(resource_path(ADMISSION, kind))
    }


RECORD_NAMESPACE = "gatekeeper-sweeper"  # where a sweep outside a pod writes its records


def ensure_namespace(api: RealApi, name: str = RECORD_NAMESPACE) -> None:
    """Create a Namespace unless it exists: a real server refuses objects (the write-ahead
    records) in a namespace that does not exist."""
    if api.get(resource_path("v1", "Namespace", name)) is None:
        api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
