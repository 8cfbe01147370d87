"""The repository explains itself: every document it mentions is in it, and README names
every layer of the package."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where a reader follows a reference: the docs, the shipped manifests and the code.
READ_BY_PEOPLE = ("README.md", "CONTRIBUTING.md", "docs", "cronjob", "sweeper", "bench")
MD_REFERENCE = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


def files_read_by_people(files: list[str]) -> list[str]:
    return [
        f
        for f in files
        if f.split("/")[0] in READ_BY_PEOPLE
        and f.endswith((".md", ".py", ".yaml", ".tpl", ".json", ".txt"))
    ]


def missing_references(files: list[str]) -> set[tuple[str, str]]:
    """(file, reference) for every ``NAME.md`` mentioned that no tracked file is called."""
    names = {Path(f).name for f in files}
    missing = set()
    for f in files_read_by_people(files):
        for ref in MD_REFERENCE.findall((ROOT / f).read_text(errors="replace")):
            if Path(ref).name not in names and not ref.startswith(("http", "//")):
                missing.add((f, ref))
    return missing


def test_every_document_mentioned_is_in_the_repository() -> None:
    files = tracked_files()
    assert "docs/decisions.md" in files and "docs/architecture.md" in files
    assert not missing_references(files)


def test_the_reference_check_sees_a_dead_link() -> None:
    assert MD_REFERENCE.findall("see `gatekeeper-reference.md`, then docs/x.md.") == [
        "gatekeeper-reference.md",
        "docs/x.md",
    ]


def test_nothing_points_outside_the_repository() -> None:
    pointing = [
        f for f in files_read_by_people(tracked_files()) if "../shared" in (ROOT / f).read_text()
    ]
    assert not pointing


def test_readme_names_every_subpackage() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1]
    packages = sorted(p.name for p in (ROOT / "sweeper").iterdir() if (p / "__init__.py").exists())
    assert len(packages) >= 5
    assert [p for p in packages if f"`sweeper/{p}/`" not in section] == []


def test_the_decision_table_has_every_row() -> None:
    decisions = (ROOT / "docs" / "decisions.md").read_text()
    rows = re.findall(r"^\| (\d+b?) \|", decisions, flags=re.M)
    expected = [str(n) for n in range(1, 13)]
    expected[6:6] = ["6b"]
    expected[8:8] = ["7b"]
    assert rows == expected
