"""Pytest fixtures for tests against a real control plane (envtest).

Contract: ``control_plane`` (etcd + kube-apiserver, nothing is ever garbage collected) and
``gc_control_plane`` (a separate etcd + kube-apiserver + kube-controller-manager running the
garbage collector) are session-scoped, started on first use under the session's tmp dir and
always stopped by PID in a finalizer (also on test failure, Ctrl-C and SIGTERM). Both skip, saying
why, when ``KUBEBUILDER_ASSETS`` does not name the binaries. Load with
``pytest_plugins = ["sweeper.testing.fixtures"]``; mark such tests ``@pytest.mark.envtest``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from sweeper.testing.controlplane import ControlPlane, envtest_assets, start_control_plane


def _terminate_like_ctrl_c() -> None:
    """SIGTERM (a CI step's timeout) ends the run like Ctrl-C, so that the finalizers stop
    the control planes; without it the processes would outlive the run."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, interrupt)


def _plane(factory: pytest.TempPathFactory, name: str, *, gc: bool) -> Iterator[ControlPlane]:
    assets, reason = envtest_assets(controller_manager=gc)
    if assets is None:
        pytest.skip(reason)
    _terminate_like_ctrl_c()
    plane = start_control_plane(
        factory.mktemp(name), assets=assets, controller_manager=gc, timeout=120.0
    )
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver on 127.0.0.1, no garbage collector: any state stays put."""
    yield from _plane(tmp_path_factory, "envtest", gc=False)


@pytest.fixture(scope="session")
def gc_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A separate etcd + kube-apiserver + kube-controller-manager (garbage collector)."""
    yield from _plane(tmp_path_factory, "envtest-gc", gc=True)
