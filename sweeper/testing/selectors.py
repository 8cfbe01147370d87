"""Label selectors as the fake API server understands them: equality terms only.

Contract: `parse_label_selector` compiles a selector string into a pure predicate over an
object dict, or refuses it (ValueError) when it uses a form the fake does not serve; it
never half-serves a selector. Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_SELECTOR_TERM = re.compile(
    r"\s*([A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?)\s*==?\s*"
    r"((?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?)\s*"
)

Selector = Callable[[dict[str, Any]], bool]


def parse_label_selector(expr: str) -> Selector | None:
    """Compile an equality label selector (`k=v`, `k==v`, comma-joined: all must hold).

    The sweeper lists with `gatekeeper.sh/constraint=yes` and `gatekeeper.sh/system=yes`;
    other selector forms are refused (ValueError) rather than half-served."""
    if not expr.strip():
        return None
    wanted: dict[str, str] = {}
    for term in expr.split(","):
        m = _SELECTOR_TERM.fullmatch(term)
        if m is None:
            raise ValueError(
                f"unable to parse requirement: {term!r} (the fake API server "
                "serves key=value label selectors only)"
            )
        if wanted.get(m[1], m[2]) != m[2]:
            return lambda obj: False
        wanted[m[1]] = m[2]

    def select(obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata")
        labels = meta.get("labels") if isinstance(meta, dict) else None
        return isinstance(labels, dict) and all(labels.get(k) == v for k, v in wanted.items())

    return select
