"""The pure core imports nothing that does I/O (architecture.md, "Boundaries")."""

from __future__ import annotations

import subprocess
import sys

CORE = (
    "sweeper.gatekeeper",
    "sweeper.records",
    "sweeper.inventory",
    "sweeper.verdicts",
    "sweeper.plan",
    "sweeper.recheck",
    "sweeper.summary",
    "sweeper.paths",
    "sweeper.errors",
    "sweeper.reasons",
    "sweeper.settings",
    "sweeper.explain",
    "sweeper.explanation",
    "sweeper.facts",
    "sweeper.observe",
    "sweeper.manager_args",
    "sweeper.manifests",
    "sweeper.restore_lines",
)
SHELL_ONLY = ("sweeper.kube", "sweeper.gather", "urllib3", "tenacity", "kubernetes")


def loaded_after_importing(modules: tuple[str, ...]) -> set[str]:
    """Module names in ``sys.modules`` after a fresh interpreter imports ``modules``."""
    code = f"import {', '.join(modules)}, sys; print(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


def test_the_pure_core_loads_no_io_module() -> None:
    loaded = loaded_after_importing(CORE)
    assert set(CORE) <= loaded
    assert not {name for name in loaded if name.split(".")[0] in SHELL_ONLY or name in SHELL_ONLY}


def test_the_check_sees_an_io_import() -> None:
    """The same check flags the shell: it would catch a core module that grew an I/O import."""
    loaded = loaded_after_importing(("sweeper.gather",))
    assert {"sweeper.kube", "urllib3", "tenacity", "kubernetes"} <= loaded
