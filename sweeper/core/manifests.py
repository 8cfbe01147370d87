"""An object as it can be logged and created again: what the API server owns taken out.

Pure. The sweep logs each deleted (or, in a dry run, would-be deleted) object as its
``manifest``; ``sweeper restore`` creates it again from that field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
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
