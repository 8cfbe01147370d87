"""Helpers for the restore tests: run a restore in-process, build `deleted` lines, check lines."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers import CLUSTER_UID

from sweeper.cluster.retry import Retrier, RetryPolicy
from sweeper.core.manifests import clean_manifest
from sweeper.core.restore_lines import Filters
from sweeper.core.settings import ClusterAccess
from sweeper.runs.restore import RestoreRequest, connect, run_restore
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make

BINDING = "ValidatingAdmissionPolicyBinding"
POLICY = "ValidatingAdmissionPolicy"
RESTORE_TIME = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# The restore's lines: every field and its type (for docs/logging.md).
COMMON = {
    "time": str,
    "level": str,
    "msg": str,
    "restore_id": str,
    "schema_version": int,
    "event": str,
}
COMMON_OPTIONAL = {"cluster_uid": str}  # the target's, once it is read
PER_OBJECT = {
    "object_kind": str,
    "object_name": str,
    "reason": str,
    "dry_run": bool,
    "owner_references_dropped": list,
    "source_sweep_id": str,
    "source_cluster_uid": str,
    "deleted_at": str,
}
OPTIONAL = {"object_uid": str, "error": str, "manifest": dict}
SUMMARY = {
    "exit_code": int,
    "dry_run": bool,
    "selected": int,
    "restored": int,
    "would_restore": int,
    "exists": int,
    "failed": int,
    "owner_references_dropped_count": int,
    "not_attempted": int,
    "duration_ms": int,
}


def check_line(line: dict[str, Any]) -> None:
    """A restore line has exactly the documented fields, with their types."""
    required = {**COMMON, **(SUMMARY if line["event"] == "restore_summary" else PER_OBJECT)}
    optional = {"error": str} if line["event"] == "restore_summary" else OPTIONAL
    optional = {**optional, **COMMON_OPTIONAL}
    assert line["event"] in {
        "restored",
        "would_restore",
        "exists",
        "restore_failed",
        "restore_summary",
    }
    assert ("manifest" in line) == (line["event"] == "would_restore"), line
    assert required.keys() <= line.keys() <= required.keys() | optional.keys(), line
    for key, value in line.items():
        assert isinstance(value, {**required, **optional}[key]), (key, value)
    assert _TIME.fullmatch(line["time"]) and line["schema_version"] == 1
    assert line["level"] in {"info", "warning", "error"}
    assert all(isinstance(item, str) for item in line.get("owner_references_dropped", []))


@dataclass
class RestoreRun:
    code: int
    lines: list[dict[str, Any]]
    stderr: str
    sleeps: list[float]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == event]

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {line["object_name"]: line for line in self.lines if "object_name" in line}

    @property
    def summary(self) -> dict[str, Any]:
        assert [line["event"] for line in self.lines].count("restore_summary") == 1
        assert self.lines[-1]["event"] == "restore_summary"
        return self.lines[-1]


def restore(
    kubeconfig: str,
    *paths: str,
    filters: Filters | None = None,
    dry_run: bool = False,
    stdin: str = "",
    from_cluster: bool = False,
    record_namespace: str = "gatekeeper-sweeper",
    cluster_uid: str | None = None,
    restore_id: str | None = None,
) -> RestoreRun:
    """Run a restore in-process; retries wait on a fake clock."""
    out, err, sleeps = io.StringIO(), io.StringIO(), []
    access = ClusterAccess(kubeconfig=kubeconfig, request_timeout=5.0)
    request = RestoreRequest(
        paths,
        filters or Filters(),
        dry_run=dry_run,
        from_cluster=from_cluster,
        record_namespace=record_namespace,
        cluster_uid=cluster_uid,
    )
    code = run_restore(
        request,
        connect=lambda: connect(
            access, environ={}, retrier=Retrier(RetryPolicy(), sleep=sleeps.append)
        ),
        out=out,
        err=err,
        stdin=io.StringIO(stdin),
        # The wall clock: the sweep lines restored here carry the wall clock's time, and
        # restore refuses lines dated in the future.
        now=lambda: datetime.now(UTC),
        restore_id=restore_id,
    )
    lines = [json.loads(text) for text in out.getvalue().splitlines()]
    for line in lines:
        check_line(line)
    return RestoreRun(code, lines, err.getvalue(), sleeps)


def deleted_line(
    obj: dict[str, Any],
    *,
    sweep_id: str = "aaaaaaaaaaaa",
    time: str = "2026-01-01T01:00:00.000Z",
    cluster_uid: str = CLUSTER_UID,
    event: str = "deleted",
) -> str:
    """A `deleted` line as the sweep writes it, with the manifest the API server returned."""
    return json.dumps(
        {
            "time": time,
            "level": "info",
            "msg": "deleted",
            "sweep_id": sweep_id,
            "schema_version": 1,
            "cluster_uid": cluster_uid,
            "event": event,
            "object_kind": obj["kind"],
            "object_name": obj["metadata"]["name"],
            "object_uid": obj["metadata"]["uid"],
            "reason": "owner-deleted",
            "detail": "",
            "manifest": clean_manifest(obj),
        }
    )


def write(tmp_path: Path, *lines: str, name: str = "sweep.log") -> str:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def gatekeeper(server: FakeApiServer, constraint_name: str = "must-have-owner"):
    """A live template and constraint with their policy and binding; returns all four."""
    server.create(make.template_crd())
    template = server.create(make.template("K8sRequiredLabels"))
    server.create(make.constraint_crd(template))
    constraint = server.create(make.constraint("K8sRequiredLabels", constraint_name))
    policy = server.create(make.policy(template))
    binding = server.create(make.binding(constraint))
    return template, constraint, policy, binding


def delete(server: FakeApiServer, *objs: dict[str, Any]) -> None:
    for obj in objs:
        server.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def stored(server: FakeApiServer, obj: dict[str, Any]) -> dict[str, Any] | None:
    return server.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def posts(server: FakeApiServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST"]


RESTORE_MARKS = ("sweeper.gatekeeper.sh/restored-at", "sweeper.gatekeeper.sh/restore-id")


def unmarked(obj: dict[str, Any]) -> dict[str, Any]:
    """``clean_manifest(obj)`` without the annotations a restore adds (asserted present)."""
    clean = clean_manifest(obj)
    annotations = clean["metadata"].get("annotations") or {}
    assert all(mark in annotations for mark in RESTORE_MARKS), annotations
    for mark in RESTORE_MARKS:
        annotations.pop(mark)
    if not annotations:
        clean["metadata"].pop("annotations")
    return clean
