"""One stored kind's objects for the fake API server, kept in the order LIST pages through them.

Contract: a `Collection` maps storage keys (`object_key`: the name, or `namespace/name` for
namespaced kinds) to object dicts and keeps the keys sorted, as kube-apiserver's storage
lists them; it holds no lock of its own (the owning Store's lock guards it). Stdlib only.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any


class Collection:
    """The stored objects of one (group, kind), keyed by name (or `namespace/name`)."""

    __slots__ = ("_names", "items")

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        """Sorted keys, cached until a key is added out of order."""
        if self._names is None:
            self._names = sorted(self.items)
        return self._names

    def put(self, key: str, obj: dict[str, Any]) -> None:
        """Store or overwrite one object."""
        new = key not in self.items
        self.items[key] = obj
        if new and self._names is not None:
            if not self._names or key > self._names[-1]:
                self._names.append(key)
            else:
                self._names = None

    def remove(self, key: str) -> None:
        """Drop one object (KeyError if absent)."""
        del self.items[key]
        if self._names is not None:
            del self._names[bisect_left(self._names, key)]


def object_key(namespaced: bool, namespace: str | None, name: str) -> str:
    """Storage key: the name, prefixed by `namespace/` for namespaced kinds."""
    return f"{namespace or 'default'}/{name}" if namespaced else name
