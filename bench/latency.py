"""Latency benchmark: the read phase against a server 5-50 ms away, and a fleet run.

    python bench/latency.py [--bindings 10000] [--kinds 100] [--delays 5,20,50] [--pairs 2]
                            [--fleet 20] [--fleet-bindings 1000] [--fleet-kinds 20]
                            [--fleet-delay 20] [--json PATH]

Not part of the test suite; prints its targets, never asserts them. Talks to 127.0.0.1 only.

Read phase: bench/serve.py (in its own process) delays every request by D ms; this process
times ``discover_vap_version`` + ``gather`` (what a sweep reads before it decides) with
``--read-concurrency 1`` (reads one after another, as before) and 8 (the default), the two
interleaved A B A B so machine drift lands in both. The bound is the critical path: the
round trips that cannot overlap given gather's ordering (discovery; bindings' pages, beside
policies'; then the labelled CRD list before the kind lists, the template CRD GET before
the templates LIST, the GET of a missing kind's CRD before discovery of the constraints
group and then its versions), times D.

Fleet: N clusters, each in its own serve.py, one kubeconfig of N contexts. Each cluster is
swept alone (``--context cI --dry-run``), then all together (``--all-contexts --dry-run``),
interleaved; the target compares the fleet's wall time with (slowest single cluster) x
ceil(N / --fleet-concurrency).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Server, machine, pages, run_child, summary_of, sweep_argv

READ_BOUNDS = (1, 8)
FLEET_CONCURRENCY = 4


def critical_path(shape: dict[str, Any], *, page_size: int = 500) -> int:
    """Round trips of the read phase that cannot overlap, whatever the read bound."""
    generated = max(pages(shape["bindings"], page_size), pages(shape["policies"], page_size))
    kinds = max((pages(n, page_size) for n in shape["constraints_per_kind"]), default=0)
    labelled = pages(shape["labelled_crds"], page_size)
    missing = 1 + (2 if shape["absent_kinds"] else 0)  # GET the CRD; discovery: group, versions
    owners = max(
        labelled + max(kinds, missing),
        1 + pages(shape["templates"], page_size) if shape["template_crd"] else 1,
    )
    return 1 + generated + owners  # 1: discovery of the admission group


def read_phase(kubeconfig: str, read_concurrency: int, *extra: str) -> dict[str, Any]:
    """Time one read phase in this process, as ``sweep.judge`` reads (without the plan);
    ``extra``: more sweep options (``--read-qps``, say)."""
    from sweeper.cli import commands as cli
    from sweeper.cli import options
    from sweeper.cluster.gather import discover_vap_version, gather
    from sweeper.runs.sweep import Runtime, _no_cyclic_gc, connect

    argv = ["--kubeconfig", kubeconfig, "--read-concurrency", str(read_concurrency), *extra]
    settings = options.build_settings(cli.sweep.make_context("sweep", argv).params)
    client = connect(settings, Runtime(), started=time.monotonic())
    started = time.perf_counter()
    version = discover_vap_version(client) or "v1"
    with _no_cyclic_gc():
        inventory = gather(client, vap_version=version, concurrency=read_concurrency)
    seconds = time.perf_counter() - started
    listed = len(inventory.bindings) + len(inventory.policies) + len(inventory.constraints)
    return {"seconds": seconds, "listed": listed, "failed": len(inventory.failed_lists)}


def measure_reads(bindings: int, kinds: int, delays: list[float], pairs: int) -> list[dict]:
    out = []
    for delay in delays:
        with Server(
            "--bindings", str(bindings), "--kinds", str(kinds), "--delay", str(delay / 1000)
        ) as server:
            info = server.info
            runs: dict[int, list[float]] = {bound: [] for bound in READ_BOUNDS}
            requests: dict[int, int] = {}
            read_phase(info["kubeconfig"], READ_BOUNDS[-1])  # warm-up: imports, TLS, caches
            for _ in range(pairs):  # A B A B
                for bound in READ_BOUNDS:
                    server.command("reset")
                    got = read_phase(info["kubeconfig"], bound)
                    requests[bound] = server.command("stats")["total"]
                    if got["failed"]:
                        raise RuntimeError(f"read phase had {got['failed']} failed reads")
                    runs[bound].append(got["seconds"])
        rtts = critical_path(info["shape"])
        out.append(
            {
                "delay_ms": delay,
                "bindings": bindings,
                "kinds": kinds,
                "critical_rtts": rtts,
                "bound_s": rtts * delay / 1000,
                "runs": {str(b): v for b, v in runs.items()},
                "requests": {str(b): n for b, n in requests.items()},
            }
        )
    return out


def measure_fleet(
    clusters: int, bindings: int, kinds: int, delay: float, pairs: int
) -> dict[str, Any]:
    servers = []
    try:
        for i in range(clusters):
            servers.append(
                Server(
                    "--bindings",
                    str(bindings),
                    "--kinds",
                    str(kinds),
                    "--delay",
                    str(delay / 1000),
                    "--context",
                    f"c{i:02d}",
                )
            )
        kubeconfig = os.pathsep.join(s.info["kubeconfig"] for s in servers)
        # The clusters' own sweeps and the fleet run with the same options.
        base = sweep_argv(kubeconfig, "--dry-run")
        singles: list[list[float]] = []
        fleets: list[float] = []
        codes: set[int] = set()
        for _ in range(pairs):  # A (every cluster alone) B (the fleet) A B
            walls = []
            for i in range(clusters):
                run = run_child([*base, "--context", f"c{i:02d}"])
                codes.add(run.code)
                walls.append(run.wall)
            singles.append(walls)
            run = run_child(
                [*base, "--all-contexts", "--fleet-concurrency", str(FLEET_CONCURRENCY)]
            )
            codes.add(run.code)
            fleets.append(run.wall)
            fleet_line = summary_of_fleet(run.stdout)
        per_cluster = summary_of(run.stdout)
    finally:
        for server in servers:
            server.close()
    slowest = [max(walls) for walls in singles]
    rounds = math.ceil(clusters / FLEET_CONCURRENCY)
    return {
        "clusters": clusters,
        "bindings": bindings,
        "kinds": kinds,
        "delay_ms": delay,
        "singles_slowest": slowest,
        "singles_median": [statistics.median(w) for w in singles],
        "fleet": fleets,
        "rounds": rounds,
        "codes": sorted(codes),
        "fleet_summary": fleet_line,
        "last_cluster_summary_ms": per_cluster.get("duration_ms"),
    }


def summary_of_fleet(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if '"fleet_summary"' in line:
            return json.loads(line)
    return {}


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}s"
    return f"{statistics.median(values):.3f}s (min {min(values):.3f}, max {max(values):.3f})"


def report(reads: list[dict], fleet: dict | None) -> list[str]:
    lines = [machine(), "", "Read phase (discovery + gather), A B interleaved:"]
    for row in reads:
        seq, par = row["runs"]["1"], row["runs"]["8"]
        bound = row["bound_s"]
        ratio = statistics.median(par) / bound if bound else math.nan
        lines.append(
            f"  {row['delay_ms']:>4.0f} ms x {row['bindings']} bindings, {row['kinds']} kinds: "
            f"read-concurrency 1 {spread(seq)}; 8 {spread(par)}; "
            f"speed-up {statistics.median(seq) / statistics.median(par):.2f}x; "
            f"bound {row['critical_rtts']} RTTs = {bound:.3f}s"
            + (f", 8 is {ratio:.2f}x the bound" if bound else "")
            + f"; requests {row['requests']['1']} vs {row['requests']['8']}"
        )
    zero = next((r for r in reads if r["delay_ms"] == 0), None)
    for row in reads:
        if row["delay_ms"] == 20:
            par = statistics.median(row["runs"]["8"])
            ratio = par / row["bound_s"]
            mark = "met" if ratio <= 1.5 else "MISSED"
            lines.append(f"  target: read phase <= 1.5x the bound at 20 ms: {ratio:.2f}x [{mark}]")
            if zero is not None:
                extra = (par - statistics.median(zero["runs"]["8"])) / row["bound_s"]
                lines.append(f"  (latency's share alone, minus the 0 ms run: {extra:.2f}x)")
    if fleet:
        slowest = statistics.median(fleet["singles_slowest"])
        target = slowest * fleet["rounds"]
        ratio = statistics.median(fleet["fleet"]) / target
        lines += [
            "",
            f"Fleet: {fleet['clusters']} clusters x {fleet['bindings']} bindings, "
            f"{fleet['kinds']} kinds, {fleet['delay_ms']:.0f} ms; exit codes {fleet['codes']}",
            f"  each alone: slowest {spread(fleet['singles_slowest'])}, "
            f"median {spread(fleet['singles_median'])}",
            f"  --all-contexts --fleet-concurrency {FLEET_CONCURRENCY}: {spread(fleet['fleet'])}",
            f"  target: <= 1.5x slowest x ceil({fleet['clusters']}/{FLEET_CONCURRENCY}) = "
            f"{target:.2f}s: {ratio:.2f}x [{'met' if ratio <= 1.5 else 'MISSED'}]",
            f"  fleet_summary: clusters {fleet['fleet_summary'].get('clusters')}, "
            f"would_delete {fleet['fleet_summary'].get('would_delete')}, "
            f"exit {fleet['fleet_summary'].get('exit_code')}",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bindings", type=int, default=10_000)
    parser.add_argument("--kinds", type=int, default=100)
    parser.add_argument("--delays", default="0,5,20,50", help="milliseconds, comma-separated")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--fleet", type=int, default=20, help="clusters; 0 skips the fleet run")
    parser.add_argument("--fleet-bindings", type=int, default=1000)
    parser.add_argument("--fleet-kinds", type=int, default=20)
    parser.add_argument("--fleet-delay", type=float, default=20.0)
    parser.add_argument("--fleet-pairs", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",") if d.strip()]
    reads = measure_reads(args.bindings, args.kinds, delays, args.pairs)
    fleet = (
        measure_fleet(
            args.fleet, args.fleet_bindings, args.fleet_kinds, args.fleet_delay, args.fleet_pairs
        )
        if args.fleet
        else None
    )
    print("\n".join(report(reads, fleet)))
    if args.json:
        Path(args.json).write_text(json.dumps({"reads": reads, "fleet": fleet}, indent=2))


if __name__ == "__main__":
    main()
