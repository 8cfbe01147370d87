"""The check that a test run leaves /var/lib/prometheus and the home directory as it found
them (tests/machine_state.py; conftest.py runs it over the whole session) can fail."""

from __future__ import annotations

import os
from pathlib import Path

from machine_state import changes, machine_state


def test_a_file_added_changed_or_removed_is_reported(tmp_path: Path) -> None:
    home, system = tmp_path / "home", tmp_path / "var-lib-prometheus"
    (home / ".kube").mkdir(parents=True)
    (home / ".pyenv" / "versions").mkdir(parents=True)
    system.mkdir()
    (system / "pushgateway.data").write_bytes(b"someone-else")
    (home / ".profile").write_text("x")
    before = machine_state(home, (system,))
    assert changes(before, machine_state(home, (system,))) == []

    (home / ".kube" / "cache").mkdir()
    (home / ".kube" / "cache" / "discovery.json").write_text("{}")
    (system / "pushgateway.data").write_bytes(b"overwritten!")
    os.utime(home / ".profile", ns=(0, 0))
    (home / "pushgateway.data").write_text("")
    (home / ".pyenv" / "versions" / "x").write_text("not a place the suite's programs write")
    assert changes(before, machine_state(home, (system,))) == [
        f"added: {home / '.kube' / 'cache'}",
        f"added: {home / '.kube' / 'cache' / 'discovery.json'}",
        f"added: {home / 'pushgateway.data'}",
        f"changed: {home / '.profile'}",
        f"changed: {system / 'pushgateway.data'}",
    ]
    (system / "pushgateway.data").unlink()
    assert f"removed: {system / 'pushgateway.data'}" in changes(
        before, machine_state(home, (system,))
    )
