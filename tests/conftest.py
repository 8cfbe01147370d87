"""Shared fixtures: a fake API server on 127.0.0.1 and a kubeconfig that points at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import T0

from sweeper.testing import FakeApiServer

# control_plane and gc_control_plane: a real etcd + kube-apiserver (envtest), session-scoped.
pytest_plugins = ["sweeper.testing.fixtures"]


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=lambda: T0) as fake:
        yield fake


@pytest.fixture
def kubeconfig(server: FakeApiServer, tmp_path: Path) -> str:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


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
