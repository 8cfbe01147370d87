"""Shared fixtures: a fake API server on 127.0.0.1 and a kubeconfig that points at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CLUSTER_UID, T0

from sweeper.testing import FakeApiServer

# control_plane and gc_control_plane: a real etcd + kube-apiserver (envtest), session-scoped.
pytest_plugins = ["sweeper.testing.fixtures"]


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=lambda: T0, cluster_uid=CLUSTER_UID) as fake:
        yield fake


@pytest.fixture
def kubeconfig(server: FakeApiServer, tmp_path: Path) -> str:
    return server.write_kubeconfig(tmp_path / "kubeconfig")
