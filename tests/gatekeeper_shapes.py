"""Shared shapes for the tests of Gatekeeper's rules (sweeper.core.gatekeeper).

Gatekeeper defaults, want values, copy-and-edit helpers for API objects, the hypothesis
strategies for kinds and names, and the stored template/constraint/binding/policy the rule
tests start from. Data and builders only: no tests here.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from hypothesis import strategies as st

from sweeper.core import gatekeeper as gk
from sweeper.testing import objects as o

ON = gk.GatekeeperDefaults()
OFF = gk.GatekeeperDefaults(create_vap=False, create_vapb=False)
VAPB_OFF = gk.GatekeeperDefaults(create_vap=True, create_vapb=False)
VAP_OFF = gk.GatekeeperDefaults(create_vap=False, create_vapb=True)
YES, NO, UNKNOWN = gk.Want.YES, gk.Want.NO, gk.Want.UNKNOWN


def stored(obj: dict, uid: str = "uid-1") -> dict:
    """The object as the API server returns it after a create (uid assigned)."""
    obj = deepcopy(obj)
    obj["metadata"]["uid"] = uid
    return obj


def with_value(obj: dict, path: tuple, value: Any) -> dict:
    """A copy of obj with the value at path replaced (path of dict keys and list indexes)."""
    obj = deepcopy(obj)
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


def without(obj: dict, path: tuple) -> dict:
    """A copy of obj with the key at path removed."""
    obj = deepcopy(obj)
    node = obj
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return obj


# Strategies for generated kinds and constraint names (names and fingerprint tests).
DNS_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,280}[a-z0-9])?", fullmatch=True)
KIND = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,62}", fullmatch=True)

# Where a template's CEL code lives (templates, constraints and malformed-input tests).
CEL_SOURCE = ("spec", "targets", 0, "code", 0, "source")


def scoped(*entries: tuple[str, list[str]]) -> dict:
    return o.constraint(
        "K8sFoo",
        "bar",
        scoped=[
            {"action": action, "enforcementPoints": [{"name": p} for p in points]}
            for action, points in entries
        ],
    )


# Objects as the API server stores them, shared by several rule modules.
CEL_TEMPLATE = o.template("K8sFoo")
CONSTRAINT = stored(o.constraint("K8sFoo", "bar"))
UNOWNED = o.binding(CONSTRAINT, owned=False)
POLICY = o.policy(stored(o.template("K8sFoo")), owned=False)
