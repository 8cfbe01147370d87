"""Gatekeeper in the loop: sweep a cluster the real Gatekeeper reconciles, let it catch up,
and judge the sweep by uid. A deleted object that is back (same name, new uid) is one
Gatekeeper still wanted: a wrong deletion. A survivor with a new uid was deleted and
re-created behind the sweep's back. Helpers only: no tests here; ``bench/flap.py`` uses the
same judge outside pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sweeper.testing.flap import POLICY, Verdict, judge, snapshot
from sweeper.testing.gatekeeper_manager import GatekeeperManager
from sweeper.testing.rest import BINDINGS, POLICIES, Rest

# No guard may stop these sweeps: the leftovers are the point; min-age 0: they are seconds old.
SWEEP_FLAGS = ("--min-age", "0s", "--max-deletions", "0", "--max-deletion-percent", "0")


@dataclass
class Run:
    """One ``sweeper`` command's exit code and JSON lines."""

    argv: list[str]
    code: int
    events: list[dict]
    stderr: str
    log: Path

    def of(self, event: str) -> list[dict]:
        return [e for e in self.events if e.get("event") == event]

    def verdicts(self) -> dict[str, tuple[str, str]]:
        """object name -> (event, reason) of every per-object line."""
        return {
            e["object_name"]: (e["event"], e.get("reason"))
            for e in self.events
            if "object_name" in e
        }

    def deleted(self) -> dict[tuple[str, str], str]:
        return {(e["object_kind"], e["object_name"]): e["object_uid"] for e in self.of("deleted")}

    def summary(self) -> dict:
        (line,) = self.of("sweep_summary") or self.of("restore_summary")
        return line


@dataclass
class Loop:
    """The session's cluster: its API, its Gatekeeper, and the sweeper run against them."""

    rest: Rest
    manager: GatekeeperManager
    kubeconfig: Path
    workdir: Path
    runs: int = 0

    def sweeper(self, *argv: str) -> Run:
        """Run ``python -m sweeper ARGV --kubeconfig ...``; its stdout is kept as a log file."""
        self.runs += 1
        log = self.workdir / f"run-{self.runs}.log"
        full = [sys.executable, "-m", "sweeper", *argv, "--kubeconfig", str(self.kubeconfig)]
        env = {"HOME": str(self.workdir), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            full, capture_output=True, text=True, env=env, timeout=120, check=False
        )
        log.write_text(done.stdout)
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return Run(full, done.returncode, events, done.stderr, log)

    def sweep(self, *flags: str) -> tuple[Run, Verdict]:
        """Reconcile, snapshot, sweep, let Gatekeeper reconcile, judge by uid."""
        self.manager.wait_reconciled()
        before = snapshot(self.rest)
        run = self.sweeper("sweep", *SWEEP_FLAGS, *flags)
        assert run.code in (0, 1, 4), f"sweep exited {run.code}: {run.stderr}"
        self.manager.wait_reconciled()
        return run, judge(before, run.deleted(), snapshot(self.rest))

    def restore(self, run: Run, *flags: str) -> tuple[Run, Verdict]:
        """``sweeper restore`` from a sweep's log, then judge what Gatekeeper did with it."""
        self.manager.wait_reconciled()
        restored = self.sweeper("restore", *flags, str(run.log))
        # what restore created is a survivor like any other: it keeps the uid restore gave it
        created = snapshot(self.rest)
        self.manager.wait_reconciled()
        return restored, judge(created, {}, snapshot(self.rest))

    def uid(self, kind: str, name: str) -> str | None:
        path = f"{POLICIES if kind == POLICY else BINDINGS}/{name}"
        obj = self.rest.get(path)
        return obj["metadata"]["uid"] if obj else None
