"""Shared fixtures: a fake API server on 127.0.0.1 and a kubeconfig that points at it; a
session check that the run left /var/lib/prometheus and the user's home as it found them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import T0
from machine_state import changes, machine_state

from sweeper.testing import FakeApiServer


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=lambda: T0) as fake:
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
