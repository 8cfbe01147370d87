"""Seed a generated Gatekeeper cluster into a FakeApiServer and serve it from THIS process.

Run by ``bench/run.py`` as a separate process, so the sweeper's peak RSS and CPU time are
measured alone. Protocol (one JSON object per line):

- on start, after seeding, prints ``{"url", "kubeconfig", "shape", "seed_seconds"}``;
- then reads commands on stdin: ``stats`` (request counts by verb and timestamps of the
  rate-limited phase), ``reset`` (empty the request log), ``quit``.

``--delay S`` makes every request wait S seconds before it is served (a stand-in for the
round trip to a real API server); ``--context`` names the kubeconfig's context.

Listens on 127.0.0.1 only. Scenarios: ``cluster`` (N bindings over K kinds, 1% leftovers),
``ratelimit`` (a fixed number of owner-deleted bindings), ``empty`` (no Gatekeeper at all).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sweeper.core import gatekeeper as gk
from sweeper.testing import FakeApiServer, RecordedRequest
from sweeper.testing import objects as make

GONE_KINDS = 2  # templates removed first: their bindings are owner-kind-gone


class TimedServer(FakeApiServer):
    """A FakeApiServer that also keeps the monotonic time of every request it receives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timed: list[tuple[float, RecordedRequest]] = []
        self._timed_lock = threading.Lock()

    def _record(self, request: RecordedRequest) -> None:
        # CLOCK_MONOTONIC is system-wide on Linux: comparable with the parent's clock.
        with self._timed_lock:
            self.timed.append((time.monotonic(), request))

    def clear_requests(self) -> None:
        with self._timed_lock:
            self.timed.clear()


def kind_name(i: int) -> str:
    return f"K8sBench{i:03d}"


def seed_cluster(server: FakeApiServer, bindings: int, kinds: int, leftover: float) -> dict:
    """Seed ``bindings`` VAPBs over ``kinds`` live constraint kinds; returns the shape."""
    created = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.create(make.template_crd())
    templates = []
    for i in range(kinds):
        template = server.create(make.template(kind_name(i), created=created))
        server.create(make.constraint_crd(template))
        server.create(make.policy(template, created=created))
        templates.append(template)
    leftovers = round(bindings * leftover)
    kind_gone = leftovers // 5
    owner_deleted = (2 * leftovers) // 5
    not_wanted = leftovers - kind_gone - owner_deleted
    # The removed templates' policies stay behind too (owner-deleted policies).
    for g in range(GONE_KINDS):
        gone = make.template(f"K8sGone{g}", uid=str(uuid.uuid4()))
        server.create(make.policy(gone, created=created))
    per_kind: Counter[str] = Counter()
    audit_only = [{"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]}]
    live = bindings - kind_gone - owner_deleted
    for i in range(live):
        kind = kind_name(i % kinds)
        if i < not_wanted:  # the constraint exists but no longer wants a binding
            stored = server.create(
                make.constraint(kind, f"c{i:06d}", scoped=audit_only, created=created)
            )
            server.create(make.binding(stored, created=created, action="Warn"))
        else:
            stored = server.create(make.constraint(kind, f"c{i:06d}", created=created))
            server.create(make.binding(stored, created=created))
        per_kind[kind.lower()] += 1
    for j in range(owner_deleted):  # the constraint went while Gatekeeper was down
        gone = make.constraint(kind_name(j % kinds), f"d{j:06d}", uid=str(uuid.uuid4()))
        server.create(make.binding(gone, created=created))
    for j in range(kind_gone):  # the template (CRD and constraints) went first
        gone = make.constraint(f"K8sGone{j % GONE_KINDS}", f"g{j:06d}", uid=str(uuid.uuid4()))
        server.create(make.binding(gone, created=created))
    return cluster_shape(
        bindings=bindings,
        kinds=kinds,
        per_kind=per_kind,
        owner_deleted=owner_deleted,
        kind_gone=kind_gone,
        not_wanted=not_wanted,
    )


def cluster_shape(
    *,
    bindings: int,
    kinds: int,
    per_kind: dict[str, int],
    owner_deleted: int,
    kind_gone: int,
    not_wanted: int,
) -> dict:
    """What a seeded cluster holds, as the harness checks a sweep's summary against it."""
    return {
        "bindings": bindings,
        "policies": kinds + GONE_KINDS,
        "labelled_crds": kinds,
        "templates": kinds,
        "constraints_per_kind": [per_kind[kind_name(i).lower()] for i in range(kinds)],
        "absent_kinds": min(GONE_KINDS, kind_gone),
        "template_crd": True,
        "candidates": {
            "owner-deleted": owner_deleted + GONE_KINDS,
            "owner-kind-gone": kind_gone,
            "not-wanted": not_wanted,
        },
    }


def seed_ratelimit(server: FakeApiServer, deletions: int) -> dict:
    """One live kind with a few wanted bindings and ``deletions`` owner-deleted ones."""
    created = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.create(make.template_crd())
    template = server.create(make.template(kind_name(0), created=created))
    server.create(make.constraint_crd(template))
    server.create(make.policy(template, created=created))
    for i in range(10):
        stored = server.create(make.constraint(kind_name(0), f"c{i:06d}", created=created))
        server.create(make.binding(stored, created=created))
    for j in range(deletions):
        gone = make.constraint(kind_name(0), f"d{j:06d}", uid=str(uuid.uuid4()))
        server.create(make.binding(gone, created=created))
    return {
        "bindings": deletions + 10,
        "policies": 1,
        "labelled_crds": 1,
        "templates": 1,
        "constraints_per_kind": [10],
        "absent_kinds": 0,
        "template_crd": True,
        "candidates": {"owner-deleted": deletions},
    }


def stats(server: TimedServer) -> dict:
    """Requests by verb, and the window of the re-check/DELETE phase (after the last LIST)."""
    with server._timed_lock:
        timed = list(server.timed)
    verbs = Counter(request.verb for _, request in timed)
    last_list = max((i for i, (_, r) in enumerate(timed) if r.verb == "list"), default=-1)
    tail = [(t, r) for t, r in timed[last_list + 1 :] if r.verb in ("get", "delete")]
    deletes = [t for t, r in tail if r.verb == "delete"]
    return {
        "verbs": dict(verbs),
        "total": len(timed),
        "paths": dict(Counter(f"{r.verb} {r.resource or r.path}" for _, r in timed)),
        "apply_requests": len(tail),
        "apply_first": tail[0][0] if tail else None,
        "apply_last": deletes[-1] if deletes else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=("cluster", "ratelimit", "empty"), default="cluster")
    parser.add_argument("--bindings", type=int, default=1000)
    parser.add_argument("--kinds", type=int, default=100)
    parser.add_argument("--leftover", type=float, default=0.01)
    parser.add_argument("--deletions", type=int, default=1000)
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        help="seconds every request waits before it is served (a network RTT)",
    )
    parser.add_argument("--context", default="fake", help="the kubeconfig's context name")
    args = parser.parse_args()
    started = time.perf_counter()
    server = TimedServer().start()
    if args.scenario == "cluster":
        shape = seed_cluster(server, args.bindings, args.kinds, args.leftover)
    elif args.scenario == "ratelimit":
        shape = seed_ratelimit(server, args.deletions)
    else:
        shape = {
            "bindings": 0,
            "policies": 0,
            "labelled_crds": 0,
            "templates": 0,
            "constraints_per_kind": [],
            "absent_kinds": 0,
            "template_crd": False,
            "candidates": {},
        }
    seconds = time.perf_counter() - started
    if args.delay > 0:  # after seeding: every request from now on pays the round trip
        server.inject(path=".*", delay=args.delay, times=None)
    with tempfile.TemporaryDirectory(prefix="sweeper-bench-") as tmp:
        kubeconfig = server.write_kubeconfig(Path(tmp) / "kubeconfig", context=args.context)
        print(
            json.dumps(
                {
                    "url": server.url,
                    "kubeconfig": kubeconfig,
                    "shape": shape,
                    "seed_seconds": seconds,
                    "token": server.token,
                }
            ),
            flush=True,
        )
        for line in sys.stdin:  # bounded by the parent closing stdin or sending quit
            command = line.strip()
            if command == "stats":
                print(json.dumps(stats(server)), flush=True)
            elif command == "reset":
                server.clear_requests()
                print(json.dumps({"ok": True}), flush=True)
            elif command == "quit":
                break
    server.stop()


if __name__ == "__main__":
    assert gk.CONSTRAINTS_GROUP  # the package is importable: run from the repo root
    main()
