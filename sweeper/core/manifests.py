"""An object as it can be logged and created again: what the API server owns taken out.

Pure. The sweep logs each deleted (or, in a dry run, would-be deleted) object as its
``manifest``; ``sweeper restore`` creates it again from that field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

SERVER_OWNED_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def clean_manifest(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``obj`` without what the API server owns: ``status`` and the
    server-set metadata (uid, resourceVersion, generation, timestamps, managedFields)."""
    clean = copy.deepcopy(dict(obj))
    clean.pop("status", None)
    metadata = clean.get("metadata")
    if isinstance(metadata, dict):
        for key in SERVER_OWNED_METADATA:
            metadata.pop(key, None)
    return clean


def listed_manifests(
    pages: Iterable[tuple[str, bytes]], uids: Collection[str], *, api_version: str
) -> dict[str, dict[str, Any]]:
    """The manifests of the listed objects whose uid is in ``uids``, by uid, from raw LIST
    pages as ``(kind, body)``: what a GET of each would log, without that GET.

    A list's items may omit their ``apiVersion`` and ``kind`` (kube-apiserver leaves them
    out of typed lists): they are set from the list. Pages that do not decode are skipped
    (their objects then have no manifest here)."""
    wanted = set(uids)
    found: dict[str, dict[str, Any]] = {}
    for kind, body in pages:
        if len(found) == len(wanted):
            break
        try:
            page = json.loads(body)
        except ValueError:
            continue
        items = page.get("items") if isinstance(page, dict) else None
        for item in items if isinstance(items, list) else []:
            metadata = item.get("metadata") if isinstance(item, dict) else None
            uid = metadata.get("uid") if isinstance(metadata, dict) else None
            if isinstance(uid, str) and uid in wanted:
                found[uid] = clean_manifest({**item, "apiVersion": api_version, "kind": kind})
    return found
