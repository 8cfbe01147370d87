"""The write-ahead record of deletions: ConfigMaps that hold each manifest before its DELETE.

Pure (no I/O). A record is the fields of the sweep's ``deleting`` line (sweep id, cluster
uid, time, object, reason, manifest) as one JSON text, stored in ConfigMaps of the record
namespace, labelled ``sweeper.gatekeeper.sh/record=v1`` for listing. A text longer than one
ConfigMap holds is split into parts, each naming its index and the count; a record whose
parts are not all there is incomplete (its write failed, so that object was not deleted).
``sweeper restore --from-cluster`` and ``explain`` read records back through ``assemble``;
the sweep prunes what ``expired`` names.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sweeper.core.reasons import ANNOTATION_PREFIX, RECORD_LABEL, RECORD_SWEEP_LABEL
from sweeper.core.records import parse_timestamp

RECORD_FORMAT = "v1"
SELECTOR = f"{RECORD_LABEL}={RECORD_FORMAT}"
RECORD_ID_LABEL = f"{ANNOTATION_PREFIX}record-id"
OBJECT_ANNOTATION = f"{ANNOTATION_PREFIX}object"  # "Kind/name", for `kubectl get -o wide`
MANAGED_BY = ("app.kubernetes.io/managed-by", "gatekeeper-sweeper")
DATA_KEY, PART_KEY, PARTS_KEY = "record.json", "part", "parts"
NAME_PREFIX = "sweeper-record-"
# A ConfigMap's data is limited to 1 MiB (1,048,576 bytes); a part's text (ASCII: JSON with
# non-ASCII escaped) stays well below, with room for the other keys.
CHUNK_CHARS = 768 * 1024
# Restore refuses a manifest (and a line) beyond these: a line is not a way to push 60 MiB
# at the API server. So the sweep never deletes an object it could not restore.
MAX_MANIFEST_CHARS = 1024 * 1024
MAX_LINE_CHARS = MAX_MANIFEST_CHARS + 64 * 1024
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


class RecordError(ValueError):
    """A record that cannot be written (too large to restore); one line."""


def manifest_size(manifest: Mapping[str, Any]) -> int:
    """The size of a manifest as a log line or record carries it (compact, ASCII JSON)."""
    return len(json.dumps(manifest, separators=(",", ":")))


def check_restorable_size(manifest: Mapping[str, Any]) -> None:
    """``RecordError`` when restore would refuse this manifest as too large."""
    size = manifest_size(manifest)
    if size > MAX_MANIFEST_CHARS:
        raise RecordError(
            f"manifest is {size} bytes, more than restore accepts ({MAX_MANIFEST_CHARS})"
        )


def record_id(sweep_id: str, kind: str, name: str, uid: str) -> str:
    """The name of one object's record in one sweep (a DNS label, at most 63 characters)."""
    digest = hashlib.sha256(f"{kind}/{name}/{uid}".encode()).hexdigest()[:16]
    sweep = _NOT_DNS.sub("-", sweep_id.lower()).strip("-")[:24] or "sweep"
    return f"{NAME_PREFIX}{sweep}-{digest}"


def configmaps(entry: Mapping[str, Any], *, namespace: str) -> list[dict[str, Any]]:
    """The ConfigMaps of one record (``entry``: the ``deleting`` line's fields), in order."""
    check_restorable_size(entry.get("manifest") or {})
    text = json.dumps(entry, separators=(",", ":"))  # ASCII: a character is a byte
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
    base = record_id(
        str(entry["sweep_id"]),
        str(entry["object_kind"]),
        str(entry["object_name"]),
        str(entry["object_uid"]),
    )
    labels = {
        RECORD_LABEL: RECORD_FORMAT,
        RECORD_SWEEP_LABEL: base[len(NAME_PREFIX) :].rsplit("-", 1)[0],
        RECORD_ID_LABEL: base,
        MANAGED_BY[0]: MANAGED_BY[1],
    }
    count = len(chunks)
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": base if count == 1 else f"{base}-{index}",
                "namespace": namespace,
                "labels": dict(labels),
                "annotations": {
                    OBJECT_ANNOTATION: f"{entry['object_kind']}/{entry['object_name']}"
                },
            },
            "data": {DATA_KEY: chunk, PART_KEY: str(index), PARTS_KEY: str(count)},
        }
        for index, chunk in enumerate(chunks)
    ]


@dataclass(frozen=True, slots=True)
class Assembled:
    """What the record ConfigMaps of a namespace hold."""

    entries: tuple[tuple[str, str], ...]  # (record id, JSON text), oldest first
    incomplete: tuple[str, ...]  # record ids with missing or inconsistent parts


def assemble(items: Iterable[Mapping[str, Any]]) -> Assembled:
    """Put the parts of each record back together; never raises (a malformed ConfigMap
    makes its record incomplete)."""
    groups: dict[str, list[tuple[int, int, str, str]]] = {}
    for item in items:
        meta = item.get("metadata") if isinstance(item, Mapping) else None
        data = item.get("data") if isinstance(item, Mapping) else None
        labels = meta.get("labels") if isinstance(meta, Mapping) else None
        rid = labels.get(RECORD_ID_LABEL) if isinstance(labels, Mapping) else None
        if not isinstance(rid, str):
            rid = str(meta.get("name")) if isinstance(meta, Mapping) else "?"
        part = _part(data)
        created = meta.get("creationTimestamp") if isinstance(meta, Mapping) else None
        groups.setdefault(rid, []).append((*part, str(created or "")))
    entries, incomplete = [], []
    for rid, parts in groups.items():
        parts.sort()
        counts = {count for _, count, _, _ in parts}
        indexes = [index for index, _, _, _ in parts]
        if len(counts) != 1 or indexes != list(range(next(iter(counts)))):
            incomplete.append(rid)
            continue
        created = min(stamp for _, _, _, stamp in parts)
        entries.append((created, rid, "".join(text for _, _, text, _ in parts)))
    entries.sort()
    return Assembled(tuple((rid, text) for _, rid, text in entries), tuple(sorted(incomplete)))


def _part(data: Any) -> tuple[int, int, str]:
    """(index, count, text) of one part; (-1, 0, "") when it is malformed."""
    if not isinstance(data, Mapping):
        return (-1, 0, "")
    text, index, count = data.get(DATA_KEY), data.get(PART_KEY, "0"), data.get(PARTS_KEY, "1")
    if not (isinstance(text, str) and str(index).isdigit() and str(count).isdigit()):
        return (-1, 0, "")
    return (int(index), int(count), text)


def expired(
    items: Iterable[Mapping[str, Any]], *, now: datetime, retention: timedelta
) -> list[tuple[str, str, str]]:
    """(name, uid, resourceVersion) of each record ConfigMap created longer than
    ``retention`` before ``now``; none when retention is 0 (keep forever). A ConfigMap
    without a readable creationTimestamp is kept."""
    if retention <= timedelta(0):
        return []
    old = []
    for item in items:
        meta = item.get("metadata") if isinstance(item, Mapping) else None
        if not isinstance(meta, Mapping):
            continue
        created = parse_timestamp(meta.get("creationTimestamp"))
        name, uid, version = meta.get("name"), meta.get("uid"), meta.get("resourceVersion")
        if created is None or not all(isinstance(v, str) for v in (name, uid, version)):
            continue
        if now - created > retention:
            old.append((str(name), str(uid), str(version)))
    return old
