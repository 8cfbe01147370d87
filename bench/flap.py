"""Flap check: N sweeps with the real Gatekeeper in the loop, counting what it re-creates.

    KUBEBUILDER_ASSETS=... GATEKEEPER_ASSETS=... python bench/flap.py --rounds 5

Starts its own control plane (etcd, kube-apiserver, kube-controller-manager with the garbage
collector) and Gatekeeper v3.21.1's manager under a temporary directory, on 127.0.0.1, and
stops them by PID at the end. The sweeper's namespace (its write-ahead records) is installed
exempt from Gatekeeper as docs/gatekeeper-exemption.md says. A few healthy templates and
constraints stay for the whole run. Each round makes two leftovers the way they happen (a
constraint switched to ``scoped`` without ``vap.k8s.io``, which v3.21.1 leaves bound; a
new-scheme binding a v3.22.1+ Gatekeeper made before a rollback), sweeps, lets Gatekeeper
reconcile (probe), and judges by uid: deleted objects back under their name are re-created
(wrong deletions), survivors with a new uid were replaced. Then it puts the constraint back.
Prints one line per round and a total; exit 1 if anything was re-created or replaced or a
sweep failed. Never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sweeper.testing.controlplane import envtest_assets  # noqa: E402
from sweeper.testing.flap import judge, snapshot  # noqa: E402
from sweeper.testing.gatekeeper_loop import apply_constraint, start_gatekeeper  # noqa: E402
from sweeper.testing.gatekeeper_manager import (  # noqa: E402
    GatekeeperManager,
    gatekeeper_assets,
)
from sweeper.testing.gatekeeper_templates import constraint, scoped_action, template  # noqa: E402
from sweeper.testing.rest import (  # noqa: E402
    BINDINGS,
    CRDS,
    TEMPLATES,
    Rest,
    wait_for,
)

MANIFESTS = ROOT / "tests" / "gatekeeper" / "manifests"
KIND = "GkFlap"
HEALTHY = [("deny-all", "deny"), ("warn-all", "warn"), ("dryrun-all", "dryrun")]
SWITCHED = "switched"
NOT_VAP = [scoped_action("deny", "validation.gatekeeper.sh")]


def make_leftovers(rest: Rest, manager: GatekeeperManager) -> None:
    """Switch one constraint to scoped (v3.21.1 keeps its binding) and add a new-scheme
    duplicate of a healthy binding (what a v3.22.1+ Gatekeeper made before a rollback)."""
    apply_constraint(rest, constraint(KIND, SWITCHED, action="scoped", scoped=NOT_VAP))
    legacy = rest.get(f"{BINDINGS}/gatekeeper-deny-all")
    meta = {"name": f"gatekeeper-{KIND.lower()}-deny-all"}
    meta["ownerReferences"] = legacy["metadata"]["ownerReferences"]
    body = {"apiVersion": legacy["apiVersion"], "kind": legacy["kind"], "metadata": meta}
    rest.create(BINDINGS, {**body, "spec": legacy["spec"]})
    manager.wait_reconciled()


def sweep(kubeconfig: Path, home: Path) -> tuple[int, dict]:
    """The sweep's exit code and what it deleted (kind, name) -> uid."""
    argv = [sys.executable, "-m", "sweeper", "sweep", "--kubeconfig", str(kubeconfig)]
    argv += ["--min-age", "0s", "--max-deletions", "0", "--max-deletion-percent", "0"]
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    for e in lines:
        if e.get("level") == "error":
            print(f"  sweep: {e.get('event')} {e.get('object_name', '')}: {e.get('error', '')}")
    deleted = {
        (e["object_kind"], e["object_name"]): e["object_uid"]
        for e in lines
        if e.get("event") == "deleted"
    }
    return done.returncode, deleted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    envtest, reason = envtest_assets(controller_manager=True)
    gatekeeper, reason2 = gatekeeper_assets()
    if envtest is None or gatekeeper is None:
        print(f"flap: cannot run: {reason or reason2}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sweeper-flap-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        running = start_gatekeeper(
            work, envtest=envtest, gatekeeper=gatekeeper, manifests=MANIFESTS, repo=ROOT
        )
        rest, manager = running.rest, running.manager
        try:
            rest.apply(f"{TEMPLATES}/{KIND.lower()}", template(KIND, rego=True))
            wait_for(lambda: rest.get(f"{CRDS}/{KIND.lower()}.constraints.gatekeeper.sh"), "CRD")
            for name, action in HEALTHY:
                apply_constraint(rest, constraint(KIND, name, action=action))
            apply_constraint(rest, constraint(KIND, SWITCHED))
            wait_for(lambda: rest.get(f"{BINDINGS}/gatekeeper-{SWITCHED}"), "bindings")
            manager.wait_reconciled()
            print(f"ready in {time.monotonic() - started:.1f}s: Gatekeeper v3.21.1 running")
            return run_rounds(args.rounds, rest, manager, running.plane.kubeconfig, work)
        finally:
            running.close()


def run_rounds(
    rounds: int, rest: Rest, manager: GatekeeperManager, kubeconfig: Path, work: Path
) -> int:
    total_deleted = total_back = failed = 0
    for n in range(1, rounds + 1):
        make_leftovers(rest, manager)
        before = snapshot(rest)
        code, deleted = sweep(kubeconfig, work)
        failed += code != 0
        manager.wait_reconciled()
        verdict = judge(before, deleted, snapshot(rest))
        back = len(verdict.recreated) + len(verdict.replaced) + len(verdict.vanished)
        total_deleted, total_back = total_deleted + len(deleted), total_back + back
        print(
            f"round {n}: exit {code}, deleted {len(deleted)}, "
            f"re-created {len(verdict.recreated)}, replaced {len(verdict.replaced)}, "
            f"vanished {len(verdict.vanished)}"
        )
        for problem in verdict.problems():
            print(f"  {problem}")
        apply_constraint(rest, constraint(KIND, SWITCHED))  # wanted again: Gatekeeper binds it
        wait_for(lambda: rest.get(f"{BINDINGS}/gatekeeper-{SWITCHED}"), "the binding back")
    print(
        f"{rounds} sweeps: deleted {total_deleted}, re-created or replaced {total_back}, "
        f"failed {failed}"
    )
    return 1 if total_back or failed else 0


if __name__ == "__main__":
    sys.exit(main())
