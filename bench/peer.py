"""The sweeper beside the script a user would write instead (bench/peer.sh: kubectl + jq).

    python bench/peer.py [--sizes 1000,10000] [--pairs 2] [--delay 0]

Not part of the test suite; never asserts. Talks to 127.0.0.1 only. For each size and pair,
two identically seeded clusters are served (bench/serve.py, one process each); the peer
runs against one and the sweeper (``--min-age 0``, guards off) against the other, A B A B,
so machine drift lands in both. Reported: wall time, requests (the servers' logs) and
leftovers found (the peer: bindings whose owner uid is gone, plus policies whose template is
gone; the sweeper: its candidates), as ratios, with the spread over the pairs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BENCH, Server, machine, run_child, summary_of, sweep_argv


def run_peer(kubeconfig: str, home: str) -> dict[str, Any]:
    # kubectl caches discovery under $HOME: a private, empty one, as on a first run.
    run = run_child(["env", f"HOME={home}", "bash", str(BENCH / "peer.sh"), kubeconfig])
    out = json.loads(run.stdout.strip().splitlines()[-1]) if run.code == 0 else {}
    return {
        "wall": run.wall,
        "code": run.code,
        "found": out.get("bindings_gone", 0) + out.get("policies_gone", 0),
        "stderr": run.stderr.strip()[-300:],
    }


def run_sweeper(kubeconfig: str) -> dict[str, Any]:
    run = run_child(sweep_argv(kubeconfig))
    summary = summary_of(run.stdout)
    return {
        "wall": run.wall,
        "code": run.code,
        "found": summary.get("candidates", 0),
        "deleted": summary.get("deleted", 0),
        "stderr": run.stderr.strip()[-300:],
    }


def measure(size: int, pairs: int, delay: float) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {"peer": [], "sweeper": []}
    seed = ["--bindings", str(size), "--delay", str(delay / 1000)]
    for _ in range(pairs):
        with (
            Server(*seed) as for_peer,
            Server(*seed) as for_sweeper,
            tempfile.TemporaryDirectory() as home,
        ):
            for name, server in (("peer", for_peer), ("sweeper", for_sweeper)):  # A B
                server.command("reset")
                row = (
                    run_peer(server.info["kubeconfig"], home)
                    if name == "peer"
                    else run_sweeper(server.info["kubeconfig"])
                )
                row["requests"] = server.command("stats")["total"]
                rows[name].append(row)
    return {"size": size, "delay_ms": delay, **rows}


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    return (
        f"{med:.2f} (min {min(values):.2f}, max {max(values):.2f})"
        if len(values) > 1
        else f"{med:.2f}"
    )


def report(results: list[dict[str, Any]]) -> list[str]:
    lines = [machine(), ""]
    for r in results:
        peer, sweeper = r["peer"], r["sweeper"]
        walls = [p["wall"] / s["wall"] for p, s in zip(peer, sweeper, strict=True)]
        reqs = [p["requests"] / s["requests"] for p, s in zip(peer, sweeper, strict=True)]
        found = [s["found"] / max(1, p["found"]) for p, s in zip(peer, sweeper, strict=True)]
        codes = {p["code"] for p in peer} | {s["code"] for s in sweeper}
        lines += [
            f"{r['size']} bindings, {r['delay_ms']:.0f} ms per request "
            f"(exit codes {sorted(codes)}):",
            f"  wall s: peer {spread([p['wall'] for p in peer])}, "
            f"sweeper {spread([s['wall'] for s in sweeper])}; peer/sweeper {spread(walls)}",
            f"  requests: peer {peer[0]['requests']}, sweeper {sweeper[0]['requests']}; "
            f"peer/sweeper {spread(reqs)}",
            f"  leftovers found: peer {peer[0]['found']}, sweeper {sweeper[0]['found']}; "
            f"sweeper/peer {spread(found)}",
        ]
        errors = [row["stderr"] for row in peer + sweeper if row["code"] != 0]
        lines += [f"  error: {e}" for e in errors[:2]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0, help="milliseconds per request")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    for tool in ("kubectl", "jq"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/peer.py: {tool} is not installed (jq: apt-get install -y jq)")
    results = [measure(int(size), args.pairs, args.delay) for size in args.sizes.split(",")]
    print("\n".join(report(results)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
