"""What a test run may not touch: /var/lib/prometheus and the user's home.

Every external program the suite starts keeps its state in the test's tmp dir (Pushgateway
without a persistence file, kubectl and promtool with HOME, KUBECONFIG, the cache dirs and
TMPDIR there: ``helpers.tool_env``). ``conftest.py`` snapshots these places when the session
starts and fails the run when one was added, changed or removed by the end.

The home directory is watched at its top level (a new or changed entry, e.g. a ``.kube`` or a
``pushgateway.data`` appearing) and, in full, in the directories where the programs the suite
drives keep state by default. Its other directories (tool chains, editors, shells, agents)
are written by other programs on a shared machine while the suite runs, and no program the
suite starts writes there.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_DIRS = (Path("/var/lib/prometheus"),)
# kubectl (.kube), helm (.config/helm, .cache/helm, .local/share/helm, .helm), promtool and
# the Go programs (.cache, .config), Docker-style credentials (.docker).
HOME_STATE_DIRS = (".kube", ".cache", ".config", ".local", ".helm", ".docker")

State = dict[str, tuple[int, int] | None]  # path -> (mtime_ns, size) of a file; None: a dir


def _entry(path: Path) -> tuple[int, int] | None:
    info = path.lstat()
    return None if path.is_dir() and not path.is_symlink() else (info.st_mtime_ns, info.st_size)


def tree_state(root: Path) -> State:
    """Every file and directory under ``root`` (itself excluded); unreadable dirs are skipped."""
    found: State = {}
    for directory, dirs, files in os.walk(root, onerror=lambda _: None):
        for name in (*dirs, *files):
            path = Path(directory, name)
            try:
                found[str(path)] = _entry(path)
            except OSError:  # gone between the listing and the lstat
                continue
    return found


def home_state(home: Path) -> State:
    """The top level of ``home``, and everything in its tools' state directories."""
    found: State = {}
    try:
        children = list(home.iterdir())
    except OSError:
        return found
    for child in children:
        try:
            found[str(child)] = _entry(child)
        except OSError:
            continue
        if child.name in HOME_STATE_DIRS:
            found |= tree_state(child)
    return found


def machine_state(home: Path | None = None, system_dirs: tuple[Path, ...] = SYSTEM_DIRS) -> State:
    found = home_state(home or Path.home())
    for root in system_dirs:
        found |= tree_state(root)
    return found


def changes(before: State, after: State) -> list[str]:
    """One line per path added, removed or changed between two snapshots."""
    lines = [f"added: {path}" for path in sorted(after.keys() - before.keys())]
    lines += [f"removed: {path}" for path in sorted(before.keys() - after.keys())]
    lines += [
        f"changed: {path}"
        for path in sorted(before.keys() & after.keys())
        if before[path] != after[path]
    ]
    return lines
