"""What ``sweeper restore`` reads: log files (``-`` is stdin) or the record ConfigMaps.

Contract: every line is read and judged (``restore_lines``) before anything is written; the
selected deletions come back with one error per refused line, nothing is decided here about
the cluster. The only request is the LIST of the records (``--from-cluster``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from sweeper.cluster.kube import KubeClient
from sweeper.cluster.ledger import list_records
from sweeper.core import ledger
from sweeper.core.restore_lines import BadInput, BadLine, Deletion, Filters, deletion, parse_line


@dataclass
class Selection:
    """What the input held: the deletions to restore and every line that was refused."""

    deletions: list[Deletion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "ORIGIN: why", one per bad line
    sweeper_lines: int = 0
    deleted_lines: int = 0


# --- reading ------------------------------------------------------------------------------


def select(lines: Iterable[tuple[str, str]], filters: Filters) -> Selection:
    """Read every ``(origin, text)`` line; keep the selected deletions, note each bad line.
    Several lines about one object are all kept here: ``resolve`` merges them."""
    found = Selection()
    for origin, text in lines:
        try:
            fields = parse_line(text)
            if fields is None:
                continue
            found.sweeper_lines += 1
            if fields.get("event") in ("deleting", "deleted"):
                found.deleted_lines += 1
            if filters.selects(fields):
                found.deletions.append(deletion(fields, origin))
        except BadLine as error:
            found.errors.append(f"{origin}: {error}")
    return found


def _numbered(name: str, handle: Iterable[str]) -> Iterator[tuple[str, str]]:
    for number, text in enumerate(handle, start=1):
        yield f"{name}:{number}", text


def read_sources(paths: Iterable[str], filters: Filters, *, stdin: TextIO) -> Selection:
    """``select`` over files (``-`` is stdin); ``BadInput`` naming a file that cannot be read."""
    handles: list[tuple[str, TextIO]] = []
    try:
        for path in paths:
            if path == "-":
                handles.append(("<stdin>", stdin))
                continue
            try:
                handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
            except OSError as error:
                raise BadInput(f"cannot read {path}: {error.strerror or error}") from None
            handles.append((path, handle))
        try:
            return select(
                (line for name, handle in handles for line in _numbered(name, handle)), filters
            )
        except OSError as error:  # a read failing midway (a directory, an I/O error)
            raise BadInput(f"cannot read input: {error.strerror or error}") from None
    finally:
        for name, handle in handles:
            if name != "<stdin>":
                handle.close()


def read_records(client: KubeClient, namespace: str, filters: Filters, *, err: TextIO) -> Selection:
    """``select`` over the records of ``namespace``; an incomplete one (its write failed,
    so that sweep did not delete the object) is one warning on ``err``, and skipped."""
    assembled = ledger.assemble(list_records(client, namespace))
    for rid in assembled.incomplete:
        err.write(
            f"sweeper: warning: record {namespace}/{rid} is incomplete (its write failed, so "
            "its object was not deleted by that sweep); skipped\n"
        )
    return select(
        ((f"configmap {namespace}/{rid}", text) for rid, text in assembled.entries), filters
    )
