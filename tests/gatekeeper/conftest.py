"""Gatekeeper in the loop: one control plane with the garbage collector and one real
Gatekeeper v3.21.1 manager per session, shared by every test marked ``gatekeeper``.

Needs ``KUBEBUILDER_ASSETS`` (etcd, kube-apiserver, kube-controller-manager) and
``GATEKEEPER_ASSETS`` (Gatekeeper's ``manager``); without them every test here skips, saying
why. Everything the processes write is under the session's tmp dir; they are stopped by PID
in a finalizer. The uninstall test runs last: it removes Gatekeeper's CRDs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gk_loop import Loop
from gk_world import build

from sweeper.testing.controlplane import envtest_assets, start_control_plane
from sweeper.testing.gatekeeper_exemption import documented_exemption
from sweeper.testing.gatekeeper_manager import (
    GatekeeperManager,
    gatekeeper_assets,
    install_gatekeeper,
)
from sweeper.testing.rest import Rest

MANIFESTS = Path(__file__).parent / "manifests"
ROOT = Path(__file__).resolve().parents[2]
LAST = "test_gk_uninstall"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The uninstall test goes last (it removes Gatekeeper's CRDs for good)."""
    items.sort(key=lambda item: item.module is not None and item.module.__name__ == LAST)


def _assets() -> tuple[Path, Path]:
    envtest, reason = envtest_assets(controller_manager=True)
    if envtest is None:
        pytest.skip(reason)
    gatekeeper, reason = gatekeeper_assets()
    if gatekeeper is None:
        pytest.skip(reason)
    return envtest, gatekeeper


@pytest.fixture(scope="session")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """The control plane, Gatekeeper running with its describing Deployment, the world."""
    envtest, gatekeeper = _assets()
    workdir = tmp_path_factory.mktemp("gatekeeper-loop")
    plane = start_control_plane(
        workdir / "plane", assets=envtest, controller_manager=True, timeout=120.0
    )
    rest = Rest(plane.server, plane.admin_token, plane.ca_file)
    # Installed as the docs say: the sweeper's namespace (its write-ahead records go there)
    # exempt from Gatekeeper by label, Config and --exempt-namespace.
    exemption = documented_exemption(ROOT)
    manager = GatekeeperManager(
        binary=gatekeeper / "manager",
        manifests=MANIFESTS,
        workdir=workdir / "gatekeeper",
        kubeconfig=plane.kubeconfig,
        rest=rest,
        exempt_namespaces=exemption.exempt_namespaces,
    )
    try:
        install_gatekeeper(rest, MANIFESTS)
        exemption.install(rest)
        manager.describe()
        manager.start()
        build(rest, manager)
        (workdir / "sweeps").mkdir()
        yield Loop(rest, manager, plane.kubeconfig, workdir / "sweeps")
    finally:
        manager.kill()
        rest.close()
        plane.stop()
