"""The README's fault table names real tests: it cannot point at something that is gone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fault_table_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Safety under faults", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "`" in line]


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_test_named_in_the_fault_table_exists() -> None:
    rows = _fault_table_rows()
    assert len(rows) >= 20
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[1]
        for reference in re.findall(r"`([^`]+)`", cell):
            file, _, name = reference.rpartition("::")
            path = ROOT / (file or "tests/test_faults.py")
            if name.endswith(".py"):  # a whole file
                assert (ROOT / name).is_file(), reference
                continue
            assert path.is_file(), reference
            assert name.split("[")[0] in _test_names(path), reference
