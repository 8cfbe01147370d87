"""Issue 23's targets: reads near the critical path, a dry run at read speed, a fleet on
every core, and the kubectl + jq peer beside it. Prints each target with its measured ratio
(median, min, max over interleaved runs); asserts nothing. Talks to 127.0.0.1 only.

    python bench/speed.py [--pairs 2] [--delays 20,100] [--big 50000] [--fleet-bindings 5000]
                          [--skip-peer] [--skip-fleet] [--json PATH]

- read phase (``discover_vap_version`` + ``gather``, in-process, default settings) at 10k
  bindings x 100 kinds, against two bounds: the round trips that cannot overlap with
  unlimited reads in flight, and the same at the configured concurrency and read budget
  (per-kind LISTs 32 at a time; reads beyond --read-burst at --read-qps); and against the
  raw replay at the same delay (``rawbound.py``: the same requests with urllib3 + json.loads
  alone, at the same concurrency), which also pays the server's time to serve each page;
- at 50k bindings (0 ms): the read phase and the whole dry run (in-process) against the raw
  replay, A B interleaved; peak RSS of the dry-run command and of the sweep command;
- a dry run with ~600 candidates at default settings (no --qps, no --read-qps given): all
  shown, its time against its own read phase;
- 20 clusters at 20 ms, ``--all-contexts`` at the default --fleet-concurrency (4): CPU of the
  whole process tree (workers included, sampled from /proc) over wall, and the wall against
  slowest single cluster x ceil(20 / 4). Each cluster holds --fleet-bindings (5,000) bindings
  over 20 kinds, so that decoding, not waiting, is most of a worker's time (at 1,000 the
  fleet is latency-bound and no process layout raises CPU/wall); the worker processes seen
  using CPU are counted;
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
from harness import PY, ROOT, Server, machine, pages, run_child, summary_of, sweep_argv
from latency import critical_path, read_phase
from rawbound import replay

KINDS_IN_FLIGHT = 32  # gather's per-kind LIST pool at the default --read-concurrency 8
READ_QPS, READ_BURST = 50.0, 100  # the defaults
FLEET, FLEET_CONCURRENCY = 20, 4
READ_CONCURRENCY = 8  # the default --read-concurrency


def ca_file(kubeconfig: str) -> str | None:
    """The CA the sweeper trusts for this kubeconfig (the raw replay verifies TLS as well)."""
    from sweeper.cli import commands as cli
    from sweeper.cli import options
    from sweeper.cluster.kubeconfig import load_configuration

    argv = ["--kubeconfig", kubeconfig]
    settings = options.build_settings(cli.sweep.make_context("sweep", argv).params)
    return load_configuration(settings.access).ssl_ca_cert


def raw_run(server: Any) -> dict[str, Any]:
    """One raw replay (``rawbound.replay``) at the default concurrency; its requests checked."""
    server.command("reset")
    got = replay(
        server.info,
        ca_file=ca_file(server.info["kubeconfig"]),
        concurrency=READ_CONCURRENCY,
        kinds_in_flight=KINDS_IN_FLIGHT,
    )
    sent = server.command("stats")["total"]
    if sent != got["requests"]:
        raise RuntimeError(f"raw replay counted {got['requests']} requests, server saw {sent}")
    return got


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
    read_phase(info["kubeconfig"], READ_CONCURRENCY)  # warm-up
    raw_run(server)
    runs, raws, requests, raw_requests = [], [], 0, 0
    for _ in range(pairs):  # A (sweeper) B (raw replay), interleaved
        server.command("reset")
        got = read_phase(info["kubeconfig"], READ_CONCURRENCY)
        requests = server.command("stats")["total"]
        if got["failed"]:
            raise RuntimeError(f"read phase had {got['failed']} failed reads")
        runs.append(got["seconds"])
        raw = raw_run(server)
        raws.append(raw["seconds"])
        raw_requests = raw["requests"]
    unlimited = critical_path(info["shape"]) * delay_ms / 1000
    paced = max(0.0, (requests - READ_BURST) / READ_QPS)
    configured = max(configured_path(info["shape"]) * delay_ms / 1000, paced)
    return {
        "delay_ms": delay_ms,
        "runs": runs,
        "raw_runs": raws,
        "requests": requests,
        "raw_requests": raw_requests,
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


UNPACED = ("--read-qps", "100000", "--read-burst", "100000")


def measure_big(bindings: int, pairs: int) -> dict[str, Any]:
    """At ``bindings`` (0 ms): the read phase at default settings and with the read budget
    lifted, and the in-process dry run, each beside a raw replay (A B interleaved); then the
    peak RSS of the dry-run command (it keeps the raw pages) and of the sweep command."""
    from sweeper.cli import commands as cli
    from sweeper.cli import options
    from sweeper.output.report import Reporter
    from sweeper.runs.sweep import run_sweep

    with Server("--bindings", str(bindings), "--kinds", "100") as server:
        kubeconfig = server.info["kubeconfig"]
        argv = ["--kubeconfig", kubeconfig, "--dry-run", "--min-age", "0"]
        argv += ["--max-deletions", "0", "--max-deletion-percent", "0"]
        settings = options.build_settings(cli.sweep.make_context("sweep", list(argv)).params)
        read_phase(kubeconfig, READ_CONCURRENCY, *UNPACED)  # warm-up
        raw_run(server)
        out: dict[str, Any] = {"bindings": bindings, "reads": [], "unpaced": [], "dry": []}
        out["raws"], requests = [], 0
        with open(os.devnull, "w") as sink:
            for _ in range(pairs):
                server.command("reset")
                out["reads"].append(read_phase(kubeconfig, READ_CONCURRENCY)["seconds"])
                requests = server.command("stats")["total"]
                out["raws"].append(raw_run(server)["seconds"])
                out["unpaced"].append(read_phase(kubeconfig, READ_CONCURRENCY, *UNPACED)["seconds"])
                started = time.perf_counter()
                reporter = Reporter(stream=sink, level="info")
                run_sweep(settings, reporter=reporter)
                reporter.close()
                out["dry"].append(time.perf_counter() - started)
        out["requests"] = requests
        out["rate_floor_s"] = max(0.0, (requests - READ_BURST) / READ_QPS)
        dry = run_child([PY, "-m", "sweeper", "sweep", *argv])
        real = run_child(sweep_argv(kubeconfig))
    out["rss_dry_mb"], out["rss_sweep_mb"] = dry.maxrss_mb, real.maxrss_mb
    out["codes"] = [dry.code, real.code]
    out["deleted"] = summary_of(real.stdout).get("deleted")
    return out


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


def run_tree(argv: list[str]) -> tuple[float, float, int, int]:
    """Wall, CPU of the whole process tree (sampled every 20 ms), the exit code, and how many
    processes of the tree used at least a tenth of the wall in CPU (busy workers)."""
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
    wall, tick = time.perf_counter() - started, os.sysconf("SC_CLK_TCK")
    busy = sum(1 for ticks in seen.values() if ticks / tick >= 0.1 * wall)
    return wall, sum(seen.values()) / tick, proc.returncode, busy


def measure_fleet(pairs: int, bindings: int) -> dict[str, Any]:
    servers = []
    try:
        for i in range(FLEET):
            servers.append(
                Server(
                    "--bindings",
                    str(bindings),
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
        ratios, cpu_wall, speedup, busy, codes = [], [], [], [], set()
        for _ in range(pairs):  # A (each alone) B (the fleet)
            slowest, total = 0.0, 0.0
            for i in range(FLEET):
                wall, _, code, _ = run_tree([*base, "--context", f"c{i:02d}"])
                slowest, total, _ = max(slowest, wall), total + wall, codes.add(code)
            wall, cpu, code, workers = run_tree(
                [*base, "--all-contexts", "--fleet-concurrency", str(FLEET_CONCURRENCY)]
            )
            codes.add(code)
            ratios.append(wall / (slowest * math.ceil(FLEET / FLEET_CONCURRENCY)))
            cpu_wall.append(cpu / wall)
            speedup.append(total / wall)
            busy.append(workers)
    finally:
        for server in servers:
            server.close()
    return {
        "bindings": bindings,
        "ratios": ratios,
        "cpu_wall": cpu_wall,
        "speedup": speedup,
        "busy": busy,
        "codes": sorted(codes),
    }


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
    parser.add_argument("--big", type=int, default=50_000, help="bindings; 0 skips it")
    parser.add_argument("--fleet-bindings", type=int, default=5000)
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
        raw_ratios = [run / raw for run, raw in zip(row["runs"], row["raw_runs"], strict=True)]
        lines.append(
            f"  read phase / raw replay at {delay:.0f} ms ({row['raw_requests']} requests, "
            f"urllib3 + json.loads, same concurrency, interleaved): {spread(raw_ratios)}"
        )
        lines.append(
            f"  (read budget alone: {row['rate_floor_s']:.2f}s of pacing at 50/s, burst 100)"
        )
    if args.big:
        big = measure_big(args.big, args.pairs)
        out["big"] = big
        floor = big["rate_floor_s"]
        paced = [run / max(raw, floor) for run, raw in zip(big["reads"], big["raws"], strict=True)]
        unpaced = [run / raw for run, raw in zip(big["unpaced"], big["raws"], strict=True)]
        dry = [run / max(raw, floor) for run, raw in zip(big["dry"], big["raws"], strict=True)]
        lines += [
            f"at {big['bindings']} bindings x 100 kinds, 0 ms, {big['requests']} requests "
            f"(read budget floor {floor:.2f}s at 50/s, burst 100):",
            f"  read phase, read budget lifted / raw replay: {spread(unpaced)}",
            f"  read phase, default settings / max(raw replay, budget floor): {spread(paced)}",
            f"  dry run (in-process, default settings) / max(raw replay, budget floor): "
            f"{spread(dry)} (target <= 1.5x: {met(statistics.median(dry) <= 1.5)})",
            f"  peak RSS: dry-run command {big['rss_dry_mb']:.0f} MB, sweep command "
            f"{big['rss_sweep_mb']:.0f} MB (target < 200 MB: "
            f"{met(max(big['rss_dry_mb'], big['rss_sweep_mb']) < 200)}); exit codes "
            f"{big['codes']}, deleted {big['deleted']}",
        ]
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
        fleet = measure_fleet(args.pairs, args.fleet_bindings)
        out["fleet"] = fleet
        lines.append(
            f"fleet, {FLEET} clusters of {fleet['bindings']} bindings x 20 kinds at 20 ms, "
            f"--fleet-concurrency {FLEET_CONCURRENCY}: "
            f"CPU/wall {spread(fleet['cpu_wall'])} (target > 1.5: "
            f"{'met' if statistics.median(fleet['cpu_wall']) > 1.5 else 'MISSED'}); "
            f"wall / (slowest x {math.ceil(FLEET / FLEET_CONCURRENCY)}) {spread(fleet['ratios'])} "
            f"(target <= 1.0x: {met(statistics.median(fleet['ratios']) <= 1.0)}); "
            f"exit codes {fleet['codes']}"
        )
        lines.append(
            f"  sum of the singles' walls / fleet wall {spread(fleet['speedup'])}; processes "
            f"busy >= 10% of the wall: {fleet['busy']} (parent, forkserver and workers)"
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
