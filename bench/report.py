"""The benchmark's printed report (``bench/run.py``): figures per size, the rate limit,
start-up, and each target marked MET or MISSED. Formatting only: no measurement here."""

from __future__ import annotations

import json
from typing import Any


def mark(ok: bool) -> str:
    return "MET   " if ok else "MISSED"


def report(
    sizes: list[dict[str, Any]], rate: dict[str, Any], start: dict[str, Any], *, machine: str
) -> list[str]:
    """The printed report: per size, rate limit, start-up, and the targets."""
    lines = [f"machine: {machine}", ""]
    lines.append("== per size (sweeper subprocess; server in its own process) ==")
    for r in sizes:
        lines += size_lines(r, start)
    lines += rate_and_startup_lines(rate, start)
    lines += target_lines(sizes, rate)
    return lines


def size_lines(r: dict[str, Any], start: dict[str, Any]) -> list[str]:
    """What one cluster size measured, beside the naive baseline."""
    lines: list[str] = []
    s, p, e = r["sweeper"], r["probe"], r["expected"]
    per_obj = s["listed"] or 1
    lines += [
        f"-- {r['size']:,} bindings: listed {s['listed']:,} objects, candidates "
        f"{s['candidates']}, deleted {s['deleted']}, exit {s['code']}"
        + (f", stderr: {s['stderr']}" if s["stderr"] else ""),
        f"   requests measured {s['total']:>6}  {json.dumps(s['verbs'], sort_keys=True)}",
        f"   requests expected {e['total']:>6}  "
        f"{json.dumps({k: v for k, v in e.items() if k != 'total'}, sort_keys=True)}"
        + (
            "   OK: identical"
            if all(s["verbs"].get(k, 0) == v for k, v in e.items() if k != "total")
            and s["total"] == e["total"]
            else "   DIFFERENCE (see verbs)"
        ),
        f"   wall {s['wall']:.2f} s = {s['wall'] / per_obj * 1e6:.1f} us/object; "
        f"CPU {s['cpu']:.2f} s = {s['cpu'] / per_obj * 1e6:.1f} us/object "
        f"(CPU/wall {s['cpu'] / s['wall']:.2f}); {per_obj / s['wall']:,.0f} objects/s",
        f"   peak RSS {s['rss_mb']:.1f} MB "
        f"(+{(s['rss_mb'] - start['empty_rss']) * 1024 / per_obj:.2f} KB/object over the "
        f"empty-cluster sweep's {start['empty_rss']:.1f} MB)",
        f"   planner (in-process, best of 5): {p['plan_s'] * 1e3:.1f} ms for {p['judged']:,}"
        f" VAPs+VAPBs = {p['plan_per_s']:,.0f} objects/s "
        f"({p['plan_s'] / s['wall'] * 100:.1f}% of the sweep's wall time)",
        f"   gather of bindings, per binding ({p['bytes_per_binding']:.0f} B of JSON): "
        f"HTTP+server {p['fetch_us']:.1f} us, json.loads {p['loads_us']:.1f} us, "
        f"admission_object {p['record_us']:.1f} us",
    ]
    if "naive" in r:
        n = r["naive"]
        lines.append(
            f"   naive: wall {n['wall']:.2f} s, CPU {n['cpu']:.2f} s, peak RSS "
            f"{n['rss_mb']:.1f} MB, requests {n['total']} "
            f"{json.dumps(n['verbs'], sort_keys=True)}"
            f", deleted {n['deleted']}, exit {n['code']}"
            + (f", stderr: {n['stderr']}" if n["stderr"] else "")
        )
        lines.append(
            f"   sweeper vs naive: {n['wall'] / s['wall']:.1f}x faster (wall), "
            f"{n['cpu'] / s['cpu']:.1f}x less CPU, {n['total'] / s['total']:.1f}x fewer "
            f"requests, RSS x{s['rss_mb'] / n['rss_mb']:.2f}"
        )
    return lines


def rate_and_startup_lines(rate: dict[str, Any], start: dict[str, Any]) -> list[str]:
    """The rate limit's apply window and the start-up costs."""
    return [
        "",
        "== rate limit: 1,000 owner-deleted bindings, --qps "
        f"{rate['qps']:g} --burst 1 --concurrency 4 ==",
        f"   deleted {rate['deleted']}, exit {rate['code']}; {rate['limited']} rate-limited "
        f"requests (re-check GET, object GET, DELETE) in the apply phase",
        f"   apply window / (1000/Q)            = {rate['vs_deletions']:.3f}",
        f"   apply window / ((requests-1)/Q)     = {rate['vs_limited']:.3f}",
        "",
        "== start-up (median of repeats; ratios to a bare `python -c pass` "
        f"= {start['bare'] * 1e3:.0f} ms, {start['bare_rss']:.1f} MB) ==",
        f"   sweeper version        x{start['version'] / start['bare']:.1f} wall, "
        f"RSS {start['version_rss']:.1f} MB",
        f"   empty-cluster sweep    x{start['empty'] / start['bare']:.1f} wall, "
        f"RSS {start['empty_rss']:.1f} MB, CPU {start['empty_cpu']:.2f} s, requests "
        f"{json.dumps(start['empty_requests'], sort_keys=True)}",
        "   top importers, `sweeper version` (cumulative ms): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in start["version_imports"]),
        "   top importers, empty sweep (cumulative ms): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in start["sweep_imports"]),
    ]


def target_lines(sizes: list[dict[str, Any]], rate: dict[str, Any]) -> list[str]:
    """Each target, MET or MISSED (printed, never asserted)."""
    lines = ["", "== targets (printed, not asserted) =="]
    planning = min(r["probe"]["plan_per_s"] for r in sizes)
    lines.append(
        f"   {mark(planning >= 200_000)} planning throughput >= 200,000 objects/s: "
        f"lowest {planning:,.0f}/s"
    )
    ten = next((r for r in sizes if r["size"] == 10_000 and "naive" in r), None)
    if ten:
        s, n = ten["sweeper"], ten["naive"]
        lines.append(
            f"   {mark(n['wall'] / s['wall'] >= 5)} 10k end to end >= 5x faster "
            f"than naive: {n['wall'] / s['wall']:.1f}x"
        )
        lines.append(
            f"   {mark(n['total'] / s['total'] >= 20)} 10k >= 20x fewer requests "
            f"than naive: {n['total'] / s['total']:.1f}x"
        )
    fifty = next((r for r in sizes if r["size"] == 50_000), None)
    if fifty:
        rss = fifty["sweeper"]["rss_mb"]
        lines.append(f"   {mark(rss <= 250)} peak RSS at 50k <= 250 MB: {rss:.1f} MB")
    lo, hi = sizes[0]["sweeper"], sizes[-1]["sweeper"]
    if len(sizes) > 1 and hi["listed"] > lo["listed"]:
        slope = (hi["rss_mb"] - lo["rss_mb"]) * 1024 / (hi["listed"] - lo["listed"])
        lines.append(
            f"   {mark(slope <= 1.0)} RSS growth <= ~1 KB per listed object: "
            f"{slope:.2f} KB/object (slope between {sizes[0]['size']:,} and "
            f"{sizes[-1]['size']:,} bindings)"
        )
    exact = all(r["sweeper"]["total"] == r["expected"]["total"] for r in sizes)
    lines.append(f"   {mark(exact)} measured requests == expected at every size")
    lines.append(
        f"   {mark(rate['vs_deletions'] <= 1.10)} 1,000 deletions <= 1.10 x 1000/Q: "
        f"{rate['vs_deletions']:.2f} (each deletion also spends tokens on its re-check "
        f"GET and its object GET: vs the {rate['limited']} limited requests the ratio is "
        f"{rate['vs_limited']:.2f})"
    )
    return lines
