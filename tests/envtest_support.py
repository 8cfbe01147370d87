"""Helpers of the tests against a real control plane (envtest): a client per control plane,
a clean cluster per test, real clocks for sweeps, and a sweep's outcome per object."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import FakeTime, SweepRun, settings_for
from scenarios.building import Cluster

from sweeper.output import logschema
from sweeper.output.report import Reporter
from sweeper.runs.sweep import Runtime, run_sweep
from sweeper.testing import objects as make
from sweeper.testing.controlplane import KCM, ControlPlane
from sweeper.testing.realapi import ADMISSION, RealApi, path_of, resource_path

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
# The real servers share two cores with the rest of the suite: the tests' 5 s is too tight.
REQUEST_TIMEOUT = 30.0
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
    changes.setdefault("request_timeout", REQUEST_TIMEOUT)
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
# Gatekeeper's webhook, and the VAPs v3.22+ generates, skip a namespace with this label
# (docs/gatekeeper-exemption.md; examples/gatekeeper-exemption labels the sweeper's).
IGNORE_LABEL = "admission.gatekeeper.sh/ignore"


def ensure_namespace(api: RealApi, name: str = RECORD_NAMESPACE) -> None:
    """Create a Namespace unless it exists, labelled as the documented exemption labels the
    sweeper's: a real server refuses objects (the write-ahead records) in a namespace that
    does not exist."""
    if api.get(resource_path("v1", "Namespace", name)) is None:
        api.create(namespace(name))


def namespace(name: str) -> dict[str, Any]:
    """A Namespace exempt from Gatekeeper (``IGNORE_LABEL``), as the sweeper's should be."""
    labels = {IGNORE_LABEL: "sweeper"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def exempting(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objects`` with every VAP scoped as Gatekeeper v3.22+ generates it: its webhook's
    namespaceSelector (no ``IGNORE_LABEL``) in ``matchConstraints``. A leftover VAP whose
    ``paramKind`` is no longer served denies every write it matches (``failurePolicy:
    Fail``) from the moment admission loads it, about a second after its creation, records
    and Events included; the selector keeps it out of the sweeper's labelled namespace."""
    scoped = []
    for obj in objects:
        if obj["kind"] == VAP_KINDS[0]:
            obj = json.loads(json.dumps(obj))
            selector = {"matchExpressions": [{"key": IGNORE_LABEL, "operator": "DoesNotExist"}]}
            obj["spec"]["matchConstraints"]["namespaceSelector"] = selector
        scoped.append(obj)
    return scoped


# --- the garbage collector (gc_control_plane) --------------------------------------------

WATCHED_KIND = "K8sGcWatched"  # a constraint kind the collector is given time to watch


@contextlib.contextmanager
def collector_paused(plane: ControlPlane) -> Iterator[None]:
    """SIGSTOP kube-controller-manager (by its PID) for the block, SIGCONT after: what is
    installed and removed meanwhile is never watched by the collector, deterministically
    (as when a kind comes and goes between two of its discovery resyncs)."""
    pid = plane.processes[KCM].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def watched_kind_objects() -> list[dict[str, Any]]:
    """The template CRD, a template and the constraint CRD of ``WATCHED_KIND``."""
    c = Cluster()
    c.template(WATCHED_KIND, policy=False)
    return c.objects


def collector_watches(api: RealApi, attempt: int) -> bool:
    """One probe: a binding owned by a fresh constraint of ``WATCHED_KIND``; the constraint
    is deleted normally; true when the collector removes the binding within two seconds."""
    owner = api.create(make.constraint(WATCHED_KIND, f"gc-probe-{attempt}"))
    probe = make.binding(owner)
    api.create(probe)
    api.delete(path_of(owner))
    try:
        api.wait_for("probe collected", lambda: api.get(path_of(probe)) is None, timeout=2.0)
        return True
    except TimeoutError:
        api.delete(path_of(probe))  # not collected yet: take it away ourselves
        return False


def wait_until_collector_watches(api: RealApi, timeout: float = 90.0) -> None:
    """Poll (with fresh probes) until the collector acts on ``WATCHED_KIND`` owners: it starts
    watching a new CRD's kind at its next discovery resync (every 30 s)."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while not collector_watches(api, attempt):
        attempt += 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"the garbage collector does not watch {WATCHED_KIND}")
