"""The benchmarks' harness: a seeded fake API server in its own process, children timed and
measured (wall, CPU from ``os.wait4``, peak RSS from ``/proc``), and the machine's
description. Shared by ``run.py``, ``latency.py`` and ``peer.py``; measures nothing itself."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
PAGE_SIZE = 500
CHILD_TIMEOUT = 300.0  # seconds; no single child may run longer


# --- processes ----------------------------------------------------------------------------


class Server:
    """bench/serve.py in its own process, driven over stdin/stdout JSON lines."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [PY, str(BENCH / "serve.py"), *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench/serve.py exited with {self.proc.wait(timeout=10)}")
        return json.loads(line)

    def command(self, text: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ChildRun:
    wall: float
    cpu: float
    maxrss_mb: float
    code: int
    stdout: str
    stderr: str


def run_child(argv: list[str], *, timeout: float = CHILD_TIMEOUT) -> ChildRun:
    """Run one child; wall time, and CPU and peak RSS of that child alone (os.wait4)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWEEPER_", "KUBECONFIG"))}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, env=env)
        killer = threading.Timer(timeout, proc.kill)  # bounds every child
        killer.start()
        hwm = [0]
        done = threading.Event()
        watcher = threading.Thread(target=_watch_hwm, args=(proc.pid, hwm, done), daemon=True)
        watcher.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
            watcher.join(timeout=5)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss of a child starts from this process's RSS at fork (Linux keeps the
        # pre-exec high-water mark), so the child's own VmHWM is the figure reported.
        return ChildRun(
            wall,
            usage.ru_utime + usage.ru_stime,
            (hwm[0] or usage.ru_maxrss) / 1024,
            proc.returncode,
            out.read(),
            err.read(),
        )


def _watch_hwm(pid: int, hwm: list[int], done: threading.Event) -> None:
    """Poll the child's VmHWM (peak RSS of its own address space) until it exits."""
    path = f"/proc/{pid}/status"
    while not done.is_set():  # bounded by the child's life (and CHILD_TIMEOUT)
        try:
            with open(path) as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        hwm[0] = max(hwm[0], int(line.split()[1]))
                        break
        except (OSError, ValueError):
            pass
        done.wait(0.005)


def sweep_argv(kubeconfig: str, *extra: str) -> list[str]:
    return [
        PY,
        "-m",
        "sweeper",
        "sweep",
        "--kubeconfig",
        kubeconfig,
        "--min-age",
        "0",
        "--max-deletions",
        "0",
        "--max-deletion-percent",
        "0",
        "--qps",
        "1000",
        "--burst",
        "1000",
        *extra,
    ]


def summary_of(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if '"sweep_summary"' in line:
            return json.loads(line)
    return {}


# --- expectations --------------------------------------------------------------------------


def pages(count: int, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(count / size))


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rev = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        rev = "unknown"
    return (
        f"sweeper {rev}; nproc {os.cpu_count()}, CPU {model}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}"
    )
