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

from sweeper.testing.controlplane import envtest_assets
from sweeper.testing.gatekeeper_loop import start_gatekeeper
from sweeper.testing.gatekeeper_manager import gatekeeper_assets

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
    running = start_gatekeeper(
        workdir, envtest=envtest, gatekeeper=gatekeeper, manifests=MANIFESTS, repo=ROOT
    )
    try:
        build(running.rest, running.manager)
        (workdir / "sweeps").mkdir()
        yield Loop(running.rest, running.manager, running.plane.kubeconfig, workdir / "sweeps")
    finally:
        running.close()
