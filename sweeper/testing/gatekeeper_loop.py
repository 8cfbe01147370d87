"""Gatekeeper in the loop: a real control plane with the garbage collector, and the real
Gatekeeper manager running against it, installed as the docs say.

Shared by the ``gatekeeper`` tests and ``bench/flap.py``: the control plane (etcd,
kube-apiserver, kube-controller-manager), Gatekeeper's CRDs and namespace, the sweeper's
namespace exempt from Gatekeeper (label, Config and ``--exempt-namespace``, as
``docs/gatekeeper-exemption.md`` says, so the write-ahead records can be written), the
Deployment describing the manager, and the manager itself. Everything lives under
``workdir``; ``close`` stops the processes by PID.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sweeper.testing.controlplane import ControlPlane, start_control_plane
from sweeper.testing.gatekeeper_exemption import documented_exemption
from sweeper.testing.gatekeeper_manager import GatekeeperManager, install_gatekeeper
from sweeper.testing.rest import Rest, constraints_path, wait_for


@dataclass
class RunningGatekeeper:
    """The control plane, a client of it and the running manager."""

    plane: ControlPlane
    rest: Rest
    manager: GatekeeperManager

    def close(self) -> None:
        """Stop the manager, then the control plane (by PID)."""
        try:
            self.manager.kill()
            self.rest.close()
        finally:
            self.plane.stop()


def start_gatekeeper(
    workdir: Path,
    *,
    envtest: Path,
    gatekeeper: Path,
    manifests: Path,
    repo: Path,
    timeout: float = 120.0,
) -> RunningGatekeeper:
    """Start the control plane and Gatekeeper in ``workdir``, installed as the docs say."""
    plane = start_control_plane(
        workdir / "plane", assets=envtest, controller_manager=True, timeout=timeout
    )
    rest = Rest(plane.server, plane.admin_token, plane.ca_file)
    exemption = documented_exemption(repo)
    manager = GatekeeperManager(
        binary=gatekeeper / "manager",
        manifests=manifests,
        workdir=workdir / "gatekeeper",
        kubeconfig=plane.kubeconfig,
        rest=rest,
        exempt_namespaces=exemption.exempt_namespaces,
    )
    running = RunningGatekeeper(plane, rest, manager)
    try:
        install_gatekeeper(rest, manifests)
        exemption.install(rest)
        manager.describe()
        manager.start()
    except BaseException:
        running.close()
        raise
    return running


def apply_constraint(rest: Rest, obj: dict, *, timeout: float = 60.0) -> None:
    """Apply a constraint, waiting while its fresh kind is not served yet."""
    path = f"{constraints_path(obj['kind'])}/{obj['metadata']['name']}"

    def applied() -> bool:
        try:
            rest.apply(path, obj)
        except Exception:
            return False
        return True

    wait_for(
        applied, f"constraint {obj['kind']}/{obj['metadata']['name']} applied", timeout=timeout
    )
