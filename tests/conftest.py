"""Shared fixtures: a fake API server on 127.0.0.1 and a kubeconfig that points at it; one
real Loki per session for the ``loki`` tests (from ``$LOKI_ASSETS``, skipped without); a
session check that the run left /var/lib/prometheus and the user's home as it found them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CLUSTER_UID, T0, tool_env
from loki_service import Loki, assets_problem, start_loki
from machine_state import changes, machine_state

from sweeper.testing import FakeApiServer

# control_plane and gc_control_plane: a real etcd + kube-apiserver (envtest), session-scoped.
pytest_plugins = ["sweeper.testing.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loki: runs against a real Loki and logcli from $LOKI_ASSETS (skipped, saying why, "
        "without them)",
    )


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=lambda: T0, cluster_uid=CLUSTER_UID) as fake:
        yield fake


@pytest.fixture
def kubeconfig(server: FakeApiServer, tmp_path: Path) -> str:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture(scope="session", autouse=True)
def machine_left_as_found() -> Iterator[None]:
    """Fails the run (an error at the last test's teardown) when it added, changed or removed
    a file in /var/lib/prometheus or the user's home: every program a test starts keeps its
    state in the test's tmp dir (tests/machine_state.py)."""
    before = machine_state()
    yield
    changed = changes(before, machine_state())
    if changed:
        pytest.fail(
            "the test run touched files outside its tmp dirs:\n" + "\n".join(changed),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def loki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loki]:
    """One Loki for the session, all its state in a tmp dir, stopped by PID at the end."""
    problem = assets_problem(os.environ.get("LOKI_ASSETS"))
    if problem is not None:
        pytest.skip(problem)
    directory = tmp_path_factory.mktemp("loki")
    assets = Path(os.environ["LOKI_ASSETS"]).resolve()
    service = start_loki(assets, directory, tool_env(directory / "home"))
    yield service
    service.stop()


@pytest.fixture(scope="session")
def control_plane(control_plane):
    """The plugin's control plane as a real install leaves it: the sweeper's namespace
    exists (labelled as the documented exemption labels it), so sweeps can write their
    write-ahead records."""
    from envtest_support import api_for, ensure_namespace

    ensure_namespace(api_for(control_plane))
    return control_plane


@pytest.fixture(scope="module")
def wiped_after_module(control_plane) -> Iterator[None]:
    """The module's last objects go at its end: a kept binding or a live constraint enforces
    on every write, and the control plane is shared with the rest of the session."""
    from envtest_support import api_for

    yield
    api_for(control_plane).wipe()


@pytest.fixture(scope="session")
def gc_control_plane(gc_control_plane):
    """The plugin's garbage-collecting control plane, with the sweeper's namespace."""
    from envtest_support import api_for, ensure_namespace

    ensure_namespace(api_for(gc_control_plane))
    return gc_control_plane


@pytest.fixture(scope="session")
def gc_watched(gc_control_plane):
    """The GC control plane with ``WATCHED_KIND``'s CRDs installed: the collector watches that
    kind only from its next discovery resync (~30 s), so the tests that need it run last
    (``pytest_collection_modifyitems``) and wait for it with
    ``wait_until_collector_watches``; the CRDs are created by the first GC test, and the other
    envtest tests run during the wait."""
    from envtest_support import api_for, watched_kind_objects

    api = api_for(gc_control_plane)
    api.load(watched_kind_objects())
    return api


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that need the collector to watch a new kind run last (a stable sort)."""
    items.sort(key=lambda item: "test_envtest_gc_watched" in item.nodeid)
