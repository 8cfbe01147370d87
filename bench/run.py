"""Benchmark of the sweeper at fleet scale. Not part of the test suite.

    python bench/run.py [--sizes 1000,10000,50000] [--quick] [--profile] [--json PATH]

For each size a generated Gatekeeper cluster (100 constraint kinds, 1% leftovers) is
seeded into a FakeApiServer running in its own process (bench/serve.py), and the real
sweeper runs against it as a subprocess; its CPU time and peak RSS come from os.wait4 on
that one child. The naive baseline (bench/naive.py) runs on an identical cluster. Planner
time is measured in this process: gather once, then plan() timed with perf_counter (best
of 3). Targets are printed, never asserted. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import (
    BENCH,
    PAGE_SIZE,
    PY,
    Server,
    machine,
    pages,
    run_child,
    summary_of,
    sweep_argv,
)
from report import report


def expected_requests(shape: dict[str, Any]) -> dict[str, int]:
    """What the "fewest requests" rule allows for a seeded cluster."""
    candidates = sum(shape["candidates"].values())
    # The first LIST: Gatekeeper's Deployments in gatekeeper-system (observing Gatekeeper).
    lists = 1 + pages(shape["bindings"]) + pages(shape["policies"]) + pages(shape["labelled_crds"])
    if shape["template_crd"]:
        lists += pages(shape["templates"]) + sum(pages(n) for n in shape["constraints_per_kind"])
    # GETs: the template CRD (presence and served version), one per absent referenced
    # constraint CRD (proof of absence), per candidate one re-check of its owner and one
    # read of the object itself (its deleted line carries the manifest).
    gets = 1 + shape["absent_kinds"] + 2 * candidates
    # Discovery: the admission group's v1 resources; and, when a referenced kind's CRD is
    # missing, the constraints group and each of its versions (v1beta1, v1, v1alpha1), to
    # prove the kind is not served under another plural.
    discovery = 1 + (1 + 3 if shape["absent_kinds"] else 0)
    return {
        "discovery": discovery,
        "list": lists,
        "get": gets,
        "delete": candidates,
        "total": discovery + lists + gets + candidates,
    }


# --- in-process planner probe ------------------------------------------------------------


def probe(info: dict[str, Any]) -> dict[str, float]:
    """Gather once, time plan() (best of 5), and split the bindings' gather cost."""
    import json as _json

    import urllib3
    from kubernetes.client import ApiClient

    from sweeper.cli import commands as cli
    from sweeper.cli import options
    from sweeper.cluster.gather import discover_vap_version, gather
    from sweeper.cluster.kube import KubeClient
    from sweeper.cluster.kubeconfig import load_configuration
    from sweeper.core.plan import plan
    from sweeper.core.records import BINDING_KIND, admission_object
    from sweeper.runs.sweep import _no_cyclic_gc

    ctx = cli.sweep.make_context("sweep", ["--kubeconfig", info["kubeconfig"], "--min-age", "0"])
    settings = options.build_settings(ctx.params)
    configuration = load_configuration(settings.access)
    client = KubeClient(ApiClient(configuration), access=settings.access)
    started = time.perf_counter()
    inventory = gather(client, vap_version=discover_vap_version(client) or "v1")
    gather_s = time.perf_counter() - started
    now = datetime.now(UTC)
    best = math.inf
    for _ in range(5):
        # As run_sweep runs it: with the cycle collector paused (sweep._no_cyclic_gc).
        with _no_cyclic_gc():
            t0 = time.perf_counter()
            result = plan(inventory, settings.rules, now=now)
            best = min(best, time.perf_counter() - t0)
    judged = len(result.verdicts)
    # The bindings list, split: HTTP (server included), json.loads, record construction.
    http = urllib3.PoolManager(ca_certs=configuration.ssl_ca_cert)  # the server's own CA
    headers = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json"}
    url = f"{info['url']}/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
    bodies, token = [], None
    t0 = time.perf_counter()
    for _ in range(10_000):  # bounded: at most 10,000 pages
        query = f"?limit={PAGE_SIZE}" + (f"&continue={token}" if token else "")
        bodies.append(http.request("GET", url + query, headers=headers).data)
        token = _json.loads(bodies[-1])["metadata"].get("continue")
        if not token:
            break
    fetch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    decoded = [_json.loads(body) for body in bodies]
    loads_s = time.perf_counter() - t0
    items = [item for page in decoded for item in page["items"]]
    t0 = time.perf_counter()
    for item in items:
        admission_object(BINDING_KIND, item)
    record_s = time.perf_counter() - t0
    n = max(1, len(items))
    return {
        "gather_s": gather_s,
        "plan_s": best,
        "judged": judged,
        "plan_per_s": judged / best if best else math.inf,
        "bytes_per_binding": sum(map(len, bodies)) / n,
        "fetch_us": fetch_s / n * 1e6,
        "loads_us": loads_s / n * 1e6,
        "record_us": record_s / n * 1e6,
    }


# --- measurements --------------------------------------------------------------------------


def measure_size(size: int, *, naive: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"size": size}
    with Server("--bindings", str(size)) as server:
        info, shape = server.info, server.info["shape"]
        result["seed_s"] = info["seed_seconds"]
        result["expected"] = expected_requests(shape)
        probe_run = run_child([PY, str(BENCH / "run.py"), "--probe", json.dumps(info)])
        if probe_run.code != 0:
            raise RuntimeError(f"probe failed: {probe_run.stderr[-500:]}")
        result["probe"] = json.loads(probe_run.stdout.strip().splitlines()[-1])
        server.command("reset")
        run = run_child(sweep_argv(info["kubeconfig"]))
        stats = server.command("stats")
    summary = summary_of(run.stdout)
    listed = sum(
        summary.get(k, 0)
        for k in ("listed_bindings", "listed_policies", "listed_templates", "listed_constraints")
    )
    result["sweeper"] = {
        "wall": run.wall,
        "cpu": run.cpu,
        "rss_mb": run.maxrss_mb,
        "code": run.code,
        "verbs": stats["verbs"],
        "total": stats["total"],
        "listed": listed,
        "deleted": summary.get("deleted"),
        "candidates": summary.get("candidates"),
        "stderr": run.stderr.strip()[-300:],
    }
    if naive:
        with Server("--bindings", str(size)) as server:
            server.command("reset")
            run = run_child([PY, str(BENCH / "naive.py"), server.info["kubeconfig"]])
            stats = server.command("stats")
        out = json.loads(run.stdout.strip().splitlines()[-1]) if run.code == 0 else {}
        result["naive"] = {
            "wall": run.wall,
            "cpu": run.cpu,
            "rss_mb": run.maxrss_mb,
            "code": run.code,
            "verbs": stats["verbs"],
            "total": stats["total"],
            "deleted": out.get("deleted"),
            "stderr": run.stderr.strip()[-300:],
        }
    return result


def measure_ratelimit(qps: float, deletions: int) -> dict[str, Any]:
    with Server("--scenario", "ratelimit", "--deletions", str(deletions)) as server:
        server.command("reset")
        argv = sweep_argv(server.info["kubeconfig"])
        argv[argv.index("--qps") + 1], argv[argv.index("--burst") + 1] = str(qps), "1"
        run = run_child(argv)
        stats = server.command("stats")
    summary = summary_of(run.stdout)
    window = (stats["apply_last"] or 0) - (stats["apply_first"] or 0)
    limited = stats["apply_requests"]
    return {
        "qps": qps,
        "deleted": summary.get("deleted"),
        "limited": limited,
        "window": window,
        "code": run.code,
        "vs_deletions": window / (deletions / qps),
        "vs_limited": window / max(1e-9, (limited - 1) / qps),
    }


def importtime_top(argv: list[str], count: int = 6) -> list[tuple[str, float]]:
    run = run_child([PY, "-X", "importtime", *argv])
    rows = []
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _self_us, cumulative, name = (
            part for part in line.replace("import time:", "|", 1).split("|")
        )
        if not name.startswith("  "):  # top level: what the entry point itself imported
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:count]


def measure_startup(repeats: int) -> dict[str, Any]:
    def median_wall(argv: list[str]) -> tuple[float, float]:
        runs = [run_child(argv) for _ in range(repeats)]
        return (
            statistics.median(r.wall for r in runs),
            statistics.median(r.maxrss_mb for r in runs),
        )

    bare, bare_rss = median_wall([PY, "-c", "pass"])
    version, version_rss = median_wall([PY, "-m", "sweeper", "version"])
    with Server("--scenario", "empty") as server:
        kubeconfig = server.info["kubeconfig"]
        empty, empty_rss = median_wall(sweep_argv(kubeconfig))
        empty_cpu = statistics.median(run_child(sweep_argv(kubeconfig)).cpu for _ in range(repeats))
        server.command("reset")
        run_child(sweep_argv(kubeconfig))
        empty_requests = server.command("stats")["verbs"]
        sweep_imports = importtime_top(sweep_argv(kubeconfig)[1:])
    return {
        "bare": bare,
        "bare_rss": bare_rss,
        "version": version,
        "version_rss": version_rss,
        "empty": empty,
        "empty_rss": empty_rss,
        "empty_cpu": empty_cpu,
        "empty_requests": empty_requests,
        "version_imports": importtime_top(["-m", "sweeper", "version"]),
        "sweep_imports": sweep_imports,
    }


def profile_sweep(size: int, top: int = 25) -> str:
    import pstats

    with Server("--bindings", str(size)) as server, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep.prof"
        argv = sweep_argv(server.info["kubeconfig"])
        run_child([PY, "-m", "cProfile", "-o", str(out), *argv[1:]])
        import io

        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.sort_stats("tottime").print_stats(top)
        return text.getvalue()


# --- report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--quick", action="store_true", help="1k and 10k only (~1 minute)")
    parser.add_argument(
        "--naive-max",
        type=int,
        default=10_000,
        help="run the naive baseline only up to this size (it is O(N) GETs)",
    )
    parser.add_argument("--rate-qps", type=float, default=200.0)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one 10k sweep and print the top functions",
    )
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # internal: planner probe child
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(json.loads(args.probe))))
        return
    sizes = [1000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    started = time.perf_counter()
    start = measure_startup(3 if args.quick else 5)
    results = []
    for size in sizes:
        print(f"[bench] {size:,} bindings ...", file=sys.stderr, flush=True)
        results.append(measure_size(size, naive=size <= args.naive_max))
    print("[bench] rate limit ...", file=sys.stderr, flush=True)
    rate = measure_ratelimit(args.rate_qps, 1000)
    lines = report(results, rate, start, machine=machine())
    lines.append(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
    print("\n".join(lines))
    if args.profile:
        print("\n== cProfile of one 10,000-binding sweep (tottime) ==")
        print(profile_sweep(10_000))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"machine": machine(), "sizes": results, "rate": rate, "startup": start}, indent=2
            )
        )


if __name__ == "__main__":
    main()
