"""The layout is the architecture: each layer imports only the layers below it.

Checked by package, not by a list of module names, so a new module is covered the day it
is added: the pure core loads nothing that does I/O (proved in a fresh interpreter), and
the imports between subpackages, read from the source, run downward only.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import sweeper

PACKAGE = Path(sweeper.__file__).parent
# Lower layers first; a layer may import those before it in this order, never after.
LAYERS = ("core", "cluster", "output", "testing", "runs", "cli")
# What a layer may import from the layers below it (None: any lower layer).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "cluster": {"core"},
    "output": {"core", "cluster"},
    "testing": {"core", "cluster"},
    "runs": {"core", "cluster", "output"},
    "cli": {"core", "cluster", "output", "testing", "runs"},
}
IO_PACKAGES = ("kubernetes", "urllib3", "tenacity", "click", "requests", "pythonjsonlogger")
TOP_LEVEL_MODULES_AT_MOST = 3


def core_modules() -> list[str]:
    """Every module of ``sweeper.core``, found on disk."""
    core = PACKAGE / "core"
    return ["sweeper.core"] + [f"sweeper.core.{m.name}" for m in pkgutil.iter_modules([core])]


def loaded_after_importing(modules: list[str]) -> set[str]:
    """Module names in ``sys.modules`` after a fresh interpreter imports ``modules``."""
    code = f"import {', '.join(modules)}, sys; print(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


def imported_sweeper_modules(path: Path) -> set[str]:
    """The ``sweeper...`` modules a source file imports, at any depth (lazy imports too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sweeper"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sweeper":
                found |= {f"sweeper.{a.name}" for a in node.names}
            elif node.module.startswith("sweeper."):
                found.add(node.module)
    return found


def layer_of(module: str) -> str | None:
    """``sweeper.core.plan`` -> ``core``; top-level modules belong to no layer."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def layer_imports() -> dict[tuple[str, str], list[str]]:
    """(importing layer, imported layer) -> the files that make that edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for layer in LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for module in imported_sweeper_modules(path):
                target = layer_of(module)
                if target and target != layer:
                    edges.setdefault((layer, target), []).append(path.name)
    return edges


def test_the_pure_core_loads_no_io_module() -> None:
    modules = core_modules()
    assert len(modules) > 10  # the discovery found the core, not an empty folder
    loaded = loaded_after_importing(modules)
    assert set(modules) <= loaded
    outside = {
        name
        for name in loaded
        if name.split(".")[0] in IO_PACKAGES
        or (name.startswith("sweeper.") and not name.startswith("sweeper.core"))
    }
    assert not outside


def test_the_check_sees_an_io_import() -> None:
    """The same check flags the shell: it would catch a core module that grew an I/O import."""
    loaded = loaded_after_importing(["sweeper.cluster.gather"])
    assert {"sweeper.cluster.kube", "urllib3", "tenacity", "kubernetes"} <= loaded


def test_layers_import_downward_only() -> None:
    wrong = {
        f"{source} imports {target} ({', '.join(sorted(set(files)))})"
        for (source, target), files in layer_imports().items()
        if target not in ALLOWED[source]
    }
    assert not wrong


def test_the_layer_order_has_no_cycle() -> None:
    """ALLOWED only points at earlier layers, so no chain of imports can come back."""
    for layer, allowed in ALLOWED.items():
        assert all(LAYERS.index(lower) < LAYERS.index(layer) for lower in allowed)


def test_every_module_lives_in_a_layer() -> None:
    top = [m.name for m in pkgutil.iter_modules([PACKAGE]) if not m.ispkg]
    assert len(top) <= TOP_LEVEL_MODULES_AT_MOST, top
    packages = {m.name for m in pkgutil.iter_modules([PACKAGE]) if m.ispkg}
    assert packages == set(LAYERS)


def test_each_layer_says_what_it_may_import() -> None:
    for layer in LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))
        assert doc and "may import" in doc.lower(), layer


def test_the_edge_reader_sees_an_upward_import(tmp_path: Path) -> None:
    """A planted ``from sweeper.runs...`` in a core-shaped file is found as an edge."""
    planted = tmp_path / "x.py"
    planted.write_text("def f():\n    from sweeper.runs.sweep import run_sweep\n")
    assert imported_sweeper_modules(planted) == {"sweeper.runs.sweep"}
    assert layer_of("sweeper.runs.sweep") == "runs"
