"""Scripted misbehaviour for the fake API server: faults (delay, drop, status, raw body) and
hooks (an action run before a request is served).

Contract: plain values; matching is by method, path regex and optional query regex. The
owning Store holds them under its lock. Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class _Owner(Protocol):
    def remove_fault(self, fault: Fault) -> None: ...


class Fault:
    """An injected misbehaviour; `hits` counts the requests it applied to."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query: str | None,
        status: int | None,
        retry_after: str | None,
        body: bytes | None,
        drop: bool,
        delay: float,
        times: int | None,
        owner: _Owner,
        applied: bool = False,
    ) -> None:
        self.method, self.path, self.query = method.upper(), path, query
        self.status, self.retry_after, self.body = status, retry_after, body
        self.drop, self.delay, self.times = drop, delay, times
        # Serve the request for real first, then answer with the fault: a write that took
        # effect while its answer was lost (dropped) or replaced (a 503 from a proxy).
        self.applied = applied
        self.hits = 0
        self._path_re = re.compile(path)
        self._query_re = re.compile(query) if query is not None else None
        self._owner = owner

    def matches(self, method: str, path: str, raw_query: str) -> bool:
        """Whether a request is one this fault is aimed at (ignoring `times`)."""
        return (
            (self.method == "*" or self.method == method.upper())
            and self._path_re.search(path) is not None
            and (self._query_re is None or self._query_re.search(raw_query) is not None)
        )

    @property
    def exhausted(self) -> bool:
        """No applications left."""
        return self.times is not None and self.hits >= self.times

    def remove(self) -> None:
        """Stop applying this fault."""
        self._owner.remove_fault(self)

    def __repr__(self) -> str:
        return (
            f"Fault(method={self.method!r}, path={self.path!r}, status={self.status}, "
            f"drop={self.drop}, delay={self.delay}, times={self.times}, hits={self.hits}, "
            f"applied={self.applied})"
        )


@dataclass
class Hook:
    """An action run before a matching request is served."""

    method: str
    path: str
    action: Callable[[Any], None]
    times: int | None
    hits: int = 0
