"""Helpers of the tests against a real control plane (envtest): a client per control plane,
a clean cluster per test, real clocks for sweeps, and a sweep's outcome per object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import SweepRun

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
        and key not in ("time", "ts", "timestamp", "sweep_id")
    }


def vap_names(api: RealApi) -> set[str]:
    return {
        item["metadata"]["name"]
        for kind in VAP_KINDS
        for item in api.items(resource_path(ADMISSION, kind))
    }
