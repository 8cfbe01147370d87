"""Observing Gatekeeper never raises (sweeper.core.observe, property-based): any value at
any path of the chart's Deployments, and any value in place of the list, gives an
observation or a problem."""

from __future__ import annotations

import copy
from typing import Any

from chart_deployments import IMAGE, VAP, VAPB, chart
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweeper.core import observe as ob

# --- fuzz: never raise -------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["yes", "manager", "/manager", IMAGE, "--", "--operation", f"{VAP}=false"])
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
PATHS = [
    ("metadata",),
    ("metadata", "labels"),
    ("metadata", "name"),
    ("spec",),
    ("spec", "replicas"),
    ("spec", "template"),
    ("spec", "template", "metadata"),
    ("spec", "template", "spec"),
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "containers", 0),
    ("spec", "template", "spec", "containers", 0, "args"),
    ("spec", "template", "spec", "containers", 0, "args", 1),
    ("spec", "template", "spec", "containers", 0, "command"),
    ("spec", "template", "spec", "containers", 0, "image"),
    ("spec", "template", "spec", "containers", 0, "name"),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(PATHS),
    value=junk,
    args=st.lists(
        st.sampled_from(
            [
                "--operation",
                "generate",
                "-operation=audit,generate",
                f"{VAP}",
                "--",
                f"{VAPB}=0",
                "x",
                "-",
                "--port",
                "=",
                "-=",
                "--operation=status",
            ]
        ),
        max_size=6,
    ),
)
def test_observe_never_raises(path: tuple, value: Any, args: list[str]) -> None:
    deployments = chart()
    target = copy.deepcopy(deployments[0])
    target["spec"]["template"]["spec"]["containers"][0]["args"] = [*args, "x", "y"]
    node = target
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    found = ob.observe([target, deployments[1]])
    assert found.observed or found.problem
    config = ob.resolve(found)
    assert isinstance(config.vap_default, bool) and isinstance(config.fields(), dict)


@settings(max_examples=100, deadline=None)
@given(value=junk)
def test_observe_of_any_value_never_raises(value: Any) -> None:
    assert isinstance(ob.observe(value), ob.Observation)
    assert isinstance(ob.observe([value, value]), ob.Observation)
