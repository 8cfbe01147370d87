"""Issue 23's targets: reads near the critical path, a dry run at read speed, a fleet on
every core, and the kubectl + jq peer beside it. Prints each target with its measured ratio
(median, min, max over interleaved runs); asserts nothing. Talks to 127.0.0.1 only.

    python bench/speed.py [--pairs 2] [--delays 20,100] [--skip-peer] [--json PATH]

- read phase (``discover_vap_version`` + ``gather``, in-process, default settings) at 10k
  bindings x 100 kinds, against two bounds: the round trips that cannot overlap with
  unlimited reads in flight, and the same at the configured concurrency and read budget
  (per-kind LISTs 32 at a time; reads beyond --read-burst at --read-qps);
- a dry run with ~600 candidates at default settings (no --qps, no --read-qps given): all
  shown, its time against its own read phase;
- 20 clusters at 20 ms, ``--all-contexts`` at the default --fleet-concurrency (4): CPU of the
  whole process tree (workers included, sampled from /proc) over wall, and the wall against
  slowest single cluster x ceil(20 / 4);
- the kubectl + jq peer (``peer.py``) at 1k bindings, when kubectl and jq are installed.

A real kube-apiserver (issue 20) plugs in through ``Server``-like objects: anything with
``.info`` (``kubeconfig``, ``shape``) and ``.command("reset"|"stats")`` can be passed to
``measure_reads``; the fake server's figure and the real one's then print side by side.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PY, ROOT, Server, machine, pages, sweep_argv
from latency import critical_path, read_phase

KINDS_IN_FLIGHT = 32  # gather's per-kind LIST pool at the default --read-concurrency 8
READ_QPS, READ_BURST = 50.0, 100  # the defaults
FLEET, FLEET_CONCURRENCY = 20, 4


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x (min {min(values):.2f}, max {max(values):.2f})"


def configured_path(shape: dict[str, Any], *, page_size: int = 500) -> int:
    """Round trips on the critical path when per-kind LISTs go KINDS_IN_FLIGHT at a time."""
    per_kind = shape["constraints_per_kind"]
    rounds = math.ceil(len(per_kind) / KINDS_IN_FLIGHT) if per_kind else 0
    kinds = rounds * max((pages(n, page_size) for n in per_kind), default=0)
    generated = max(pages(shape["bindings"], page_size), pages(shape["policies"], page_size))
    missing = 1 + (2 if shape["absent_kinds"] else 0)
    owners = max(
        pages(shape["labelled_crds"], page_size) + max(kinds, missing),
        1 + pages(shape["templates"], page_size) if shape["template_crd"] else 1,
    )
    return 1 + generated + owners


def measure_reads(server: Any, delay_ms: float, pairs: int) -> dict[str, Any]:
    """Read phase runs and both bounds, against any server with ``info`` and ``command``."""
    info = server.info
    read_phase(info["kubeconfig"], 8)  # warm-up
    runs, requests = [], 0
    for _ in range(pairs):
        server.command("reset")
        got = read_phase(info["kubeconfig"], 8)
        requests = server.command("stats")["total"]
        if got["failed"]:
            raise RuntimeError(f"read phase had {got['failed']} failed reads")
        runs.append(got["seconds"])
    unlimited = critical_path(info["shape"]) * delay_ms / 1000
    paced = max(0.0, (requests - READ_BURST) / READ_QPS)
    configured = max(configured_path(info["shape"]) * delay_ms / 1000, paced)
    return {
        "delay_ms": delay_ms,
        "runs": runs,
        "requests": requests,
        "bound_unlimited_s": unlimited,
        "bound_configured_s": configured,
        "rate_floor_s": paced,
    }


def measure_dry_run(pairs: int) -> dict[str, Any]:
    """~600 candidates; the dry run (in-process sweep) against its own read phase, A B A B;
    then once as the command, at default settings, to count what it shows."""
    from sweeper.cli import commands as cli
    from sweeper.cli import options
    from sweeper.output.report import Reporter
    from sweeper.runs.sweep import run_sweep

    args = ("--bindings", "6000", "--kinds", "100", "--leftover", "0.1", "--delay", "0.005")
    with Server(*args) as server:
        kubeconfig = server.info["kubeconfig"]
        argv = ["--kubeconfig", kubeconfig, "--dry-run", "--min-age", "0"]
        argv += ["--max-deletions", "0", "--max-deletion-percent", "0"]
        settings = options.build_settings(cli.sweep.make_context("sweep", list(argv)).params)
        ratios, shown = [], 0
        with open(os.devnull, "w") as sink:
            for _ in range(pairs):
                reads = read_phase(kubeconfig, 8)["seconds"]
                started = time.perf_counter()
                reporter = Reporter(stream=sink, level="info")
                result = run_sweep(settings, reporter=reporter)
                reporter.close()
                ratios.append((time.perf_counter() - started) / reads)
                shown = result.summary.would_delete if result.summary else -1
        done = subprocess.run(
            [PY, "-m", "sweeper", "sweep", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    summary = lines[-1] if lines else {}
    return {
        "ratios": ratios,
        "shown_in_process": shown,
        "candidates": summary.get("candidates"),
        "would_delete": sum(1 for line in lines if line.get("event") == "would_delete"),
        "exit_code": done.returncode,
        "interrupted": summary.get("interrupted"),
        "stderr": done.stderr[-300:],
    }


def _tree_ticks(root: int, seen: dict[int, int]) -> None:
    """Record utime+stime (clock ticks) of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    for pid, value in ticks.items():
        ancestor, hops = pid, 0
        while ancestor not in (0, 1, root) and hops < 20:
            ancestor, hops = parents.get(ancestor, 0), hops + 1
        if ancestor == root:
            seen[pid] = max(seen.get(pid, 0), value)


def run_tree(argv: list[str]) -> tuple[float, float, int]:
    """Wall, CPU of the whole process tree (sampled every 20 ms), and the exit code."""
    seen: dict[int, int] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            _tree_ticks(proc.pid, seen)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        proc.communicate(timeout=300)
    finally:
        done.set()
        sampler.join(timeout=5)
    return (
        time.perf_counter() - started,
        sum(seen.values()) / os.sysconf("SC_CLK_TCK"),
        proc.returncode,
    )


def measure_fleet(pairs: int) -> dict[str, Any]:
    servers = []
    try:
        for i in range(FLEET):
            servers.append(
                Server(
                    "--bindings",
                    "1000",
                    "--kinds",
                    "20",
                    "--delay",
                    "0.02",
                    "--context",
                    f"c{i:02d}",
                )
            )
        kubeconfig = os.pathsep.join(s.info["kubeconfig"] for s in servers)
        base = sweep_argv(kubeconfig, "--dry-run")
        ratios, cpu_wall, codes = [], [], set()
        for _ in range(pairs):  # A (each alone) B (the fleet)
            slowest = 0.0
            for i in range(FLEET):
                wall, _, code = run_tree([*base, "--context", f"c{i:02d}"])
                slowest, _ = max(slowest, wall), codes.add(code)
            wall, cpu, code = run_tree(
                [*base, "--all-contexts", "--fleet-concurrency", str(FLEET_CONCURRENCY)]
            )
            codes.add(code)
            ratios.append(wall / (slowest * math.ceil(FLEET / FLEET_CONCURRENCY)))
            cpu_wall.append(cpu / wall)
    finally:
        for server in servers:
            server.close()
    return {"ratios": ratios, "cpu_wall": cpu_wall, "codes": sorted(codes)}


def measure_peer(pairs: int) -> dict[str, Any] | None:
    if not (shutil.which("kubectl") and shutil.which("jq")):
        return None
    from peer import measure

    return measure(1000, pairs, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--delays", default="20,100", help="milliseconds, comma-separated")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    out: dict[str, Any] = {"reads": []}
    lines = [machine(), "(ratios in one run; the machine is shared: absolute times are noise)"]
    targets = {20.0: 1.6, 100.0: 1.3}
    for delay in (float(d) for d in args.delays.split(",") if d.strip()):
        with Server(
            "--bindings", "10000", "--kinds", "100", "--delay", str(delay / 1000)
        ) as server:
            row = measure_reads(server, delay, args.pairs)
        out["reads"].append(row)
        target = targets.get(delay)
        for name in ("configured", "unlimited"):
            bound = row[f"bound_{name}_s"]
            ratios = [run / bound for run in row["runs"]]
            mark = (
                ""
                if target is None or name != "configured"
                else (f" (target <= {target}x: {met(statistics.median(ratios) <= target)})")
            )
            lines.append(
                f"read phase at {delay:.0f} ms, 10k bindings x 100 kinds, "
                f"{row['requests']} requests: {spread(ratios)} of the {name} bound{mark}"
            )
        lines.append(
            f"  (read budget alone: {row['rate_floor_s']:.2f}s of pacing at 50/s, burst 100)"
        )
    dry = measure_dry_run(args.pairs)
    out["dry_run"] = dry
    lines.append(
        f"dry run, {dry['candidates']} candidates, default settings: {dry['would_delete']} shown, "
        f"exit {dry['exit_code']}, interrupted {dry['interrupted']}; time / its read phase "
        f"{spread(dry['ratios'])} (target <= 1.5x: "
        f"{'met' if statistics.median(dry['ratios']) <= 1.5 else 'MISSED'})"
    )
    if dry["exit_code"]:
        lines.append(f"  stderr: {dry['stderr']}")
    if not args.skip_fleet:
        fleet = measure_fleet(args.pairs)
        out["fleet"] = fleet
        lines.append(
            f"fleet, {FLEET} clusters at 20 ms, --fleet-concurrency {FLEET_CONCURRENCY}: "
            f"CPU/wall {spread(fleet['cpu_wall'])} (target > 1.5: "
            f"{'met' if statistics.median(fleet['cpu_wall']) > 1.5 else 'MISSED'}); "
            f"wall / (slowest x {math.ceil(FLEET / FLEET_CONCURRENCY)}) {spread(fleet['ratios'])} "
            f"(target <= 1.0x: {met(statistics.median(fleet['ratios']) <= 1.0)}); "
            f"exit codes {fleet['codes']}"
        )
    peer = None if args.skip_peer else measure_peer(args.pairs)
    if peer is not None:
        from peer import report as peer_report

        out["peer"] = peer
        lines += ["kubectl + jq peer (peer.py), interleaved:", *peer_report([peer])[2:]]
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
