"""The sweeper against a real kube-apiserver (envtest), beside the fake server. Not a test.

    KUBEBUILDER_ASSETS=DIR python bench/real.py [--bindings 10000] [--workers 8]

Starts etcd and kube-apiserver (``sweeper.testing.controlplane``) in a temporary folder,
seeds the cluster shape of ``bench/serve.py`` (100 constraint kinds, 1% leftovers) through
the REST API with a few threads, then runs the real sweeper as a subprocess
(``harness.sweep_argv``) and counts its requests by verb in the API server's audit log. The
same sweep then runs against the fake server seeded with the same shape (``serve.py``).
Prints both side by side; asserts nothing. Everything talks to 127.0.0.1 only; the control
plane is stopped by PID when it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import Server, machine, run_child, summary_of, sweep_argv
from run import expected_requests
from serve import GONE_KINDS, cluster_shape, kind_name

from sweeper.testing import objects as make
from sweeper.testing.controlplane import envtest_assets, start_control_plane
from sweeper.testing.realapi import RealApi

KINDS = 100
LEFTOVER = 0.01
AUDIT_ONLY = [{"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]}]


def seed(api: RealApi, bindings: int, workers: int) -> dict[str, Any]:
    """The shape of ``serve.seed_cluster`` on a real server: templates, CRDs and policies one
    by one, then constraints and, last, bindings (a binding enforces at once) in parallel."""
    api.create_crd(make.template_crd())
    for i in range(KINDS):
        template = api.create(make.template(kind_name(i)))
        api.create_crd(make.constraint_crd(template))
        api.create(make.policy(template))
    for g in range(GONE_KINDS):
        api.create(make.policy(make.template(f"K8sGone{g}", uid=str(uuid.uuid4()))))
    leftovers = round(bindings * LEFTOVER)
    kind_gone, owner_deleted = leftovers // 5, (2 * leftovers) // 5
    not_wanted = leftovers - kind_gone - owner_deleted
    live = bindings - kind_gone - owner_deleted
    per_kind: Counter[str] = Counter(kind_name(i % KINDS).lower() for i in range(live))

    def constraint(i: int) -> dict[str, Any]:
        scoped = {"scoped": AUDIT_ONLY} if i < not_wanted else {}
        return api.create(make.constraint(kind_name(i % KINDS), f"c{i:06d}", **scoped))

    with ThreadPoolExecutor(workers) as pool:
        owners = list(pool.map(constraint, range(live)))
        ghosts = [
            make.constraint(kind_name(j % KINDS), f"d{j:06d}", uid=str(uuid.uuid4()))
            for j in range(owner_deleted)
        ] + [
            make.constraint(f"K8sGone{j % GONE_KINDS}", f"g{j:06d}", uid=str(uuid.uuid4()))
            for j in range(kind_gone)
        ]
        bodies = [
            make.binding(o, action="Warn" if i < not_wanted else "Deny")
            for i, o in enumerate(owners)
        ] + [make.binding(g) for g in ghosts]
        list(pool.map(api.create, bodies))
    return cluster_shape(
        bindings=bindings,
        kinds=KINDS,
        per_kind=per_kind,
        owner_deleted=owner_deleted,
        kind_gone=kind_gone,
        not_wanted=not_wanted,
    )


def audited_verbs(audit_log: Path, offset: int, user: str) -> Counter[str]:
    """Requests by verb that ``user`` completed after ``offset`` in the audit log."""
    with open(audit_log, "rb") as fh:
        fh.seek(offset)
        events = [json.loads(line) for line in fh.read().splitlines() if line.strip()]
    verbs: Counter[str] = Counter()
    for e in events:
        if e["stage"] == "ResponseComplete" and e["user"]["username"] == user:
            uri = e["requestURI"].split("?")[0]
            discovery = uri.count("/") <= 3 and e["verb"] == "get"  # /api, /apis/g, /apis/g/v
            verbs["discovery" if discovery else e["verb"]] += 1
    return verbs


def measure(run: Any, verbs: dict[str, int]) -> dict[str, Any]:
    summary = summary_of(run.stdout)
    listed = sum(
        summary.get(k, 0)
        for k in ("listed_bindings", "listed_policies", "listed_templates", "listed_constraints")
    )
    return {
        "wall": run.wall,
        "cpu": run.cpu,
        "rss_mb": run.maxrss_mb,
        "code": run.code,
        "listed": listed,
        "deleted": summary.get("deleted"),
        "verbs": dict(verbs),
        "total": sum(verbs.values()),
        "stderr": run.stderr.strip()[-300:],
    }


def on_real(bindings: int, workers: int, assets: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sweeper-bench-envtest-") as tmp:
        t0 = time.perf_counter()
        plane = start_control_plane(Path(tmp), assets=assets)
        try:
            started = time.perf_counter() - t0
            api = RealApi(plane.server, plane.admin_token, plane.ca_file)
            t0 = time.perf_counter()
            shape = seed(api, bindings, workers)
            seeded = time.perf_counter() - t0
            assert plane.audit_log is not None
            offset = plane.audit_log.stat().st_size
            run = run_child(sweep_argv(str(plane.kubeconfig)))
            verbs = audited_verbs(plane.audit_log, offset, "admin")
        finally:
            plane.stop()
    objects = 1 + KINDS * 3 + GONE_KINDS + 2 * bindings  # roughly: templates, CRDs, ...
    return {
        "start_s": started,
        "seed_s": seeded,
        "seed_per_s": objects / seeded,
        "shape": shape,
        "sweeper": measure(run, verbs),
    }


def on_fake(bindings: int) -> dict[str, Any]:
    with Server("--bindings", str(bindings)) as server:
        server.command("reset")
        run = run_child(sweep_argv(server.info["kubeconfig"]))
        stats = server.command("stats")
    return {"seed_s": server.info["seed_seconds"], "sweeper": measure(run, stats["verbs"])}


def report(bindings: int, real: dict[str, Any], fake: dict[str, Any]) -> list[str]:
    r, f = real["sweeper"], fake["sweeper"]
    expected = expected_requests(real["shape"])
    rows = [
        ("exit code", r["code"], f["code"]),
        ("wall s", f"{r['wall']:.2f}", f"{f['wall']:.2f}"),
        ("CPU s (sweeper)", f"{r['cpu']:.2f}", f"{f['cpu']:.2f}"),
        ("peak RSS MB", f"{r['rss_mb']:.0f}", f"{f['rss_mb']:.0f}"),
        ("objects listed", r["listed"], f["listed"]),
        ("deleted", r["deleted"], f["deleted"]),
        ("requests", r["total"], f["total"]),
        (
            "  by verb",
            json.dumps(r["verbs"], sort_keys=True),
            json.dumps(f["verbs"], sort_keys=True),
        ),
        (
            "wall us / object",
            f"{r['wall'] / max(1, r['listed']) * 1e6:.0f}",
            f"{f['wall'] / max(1, f['listed']) * 1e6:.0f}",
        ),
    ]
    width = max(len(str(a)) for _, a, _ in rows) + 2
    lines = [
        f"== {bindings:,} bindings: real kube-apiserver vs fake server ==",
        machine(),
        f"control plane started in {real['start_s']:.1f} s; seeded in {real['seed_s']:.1f} s "
        f"({real['seed_per_s']:.0f} objects/s); the fake server seeded in {fake['seed_s']:.1f} s",
        f"expected requests (the fewest-requests rule): {expected['total']} {expected}",
        f"{'':18}{'real':<{width}}fake",
    ]
    lines += [f"{name:18}{a!s:<{width}}{b}" for name, a, b in rows]
    ratio = r["wall"] / f["wall"] if f["wall"] else float("nan")
    lines.append(f"real / fake wall time: {ratio:.2f}x")
    for side, data in (("real", r), ("fake", f)):
        if data["code"] != 0:
            lines.append(f"{side} stderr: {data['stderr']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8, help="seeding threads")
    args = parser.parse_args()
    assets, reason = envtest_assets()
    if assets is None:
        sys.exit(f"bench/real.py: {reason}")
    print(f"[bench] real kube-apiserver, {args.bindings:,} bindings ...", file=sys.stderr)
    real = on_real(args.bindings, args.workers, assets)
    print("[bench] fake server ...", file=sys.stderr)
    fake = on_fake(args.bindings)
    print("\n".join(report(args.bindings, real, fake)))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
