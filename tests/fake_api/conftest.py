"""The `server` fixture of the fake API server's own tests: a FakeApiServer on a fixed clock, so
creation timestamps are known (it overrides the one in tests/conftest.py for this directory)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_calls import FIXED

from sweeper.testing import FakeApiServer


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=lambda: FIXED) as srv:
        yield srv
