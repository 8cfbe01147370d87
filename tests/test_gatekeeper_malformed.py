"""Gatekeeper's rules never raise on malformed input: any JSON value at any path of a template,
constraint, binding or policy parses to an answer, and fingerprints recover every generated
binding (sweeper.core.gatekeeper, property-based)."""

from __future__ import annotations

from typing import Any

from gatekeeper_shapes import (
    CEL_SOURCE,
    CEL_TEMPLATE,
    CONSTRAINT,
    DNS_LABEL,
    KIND,
    OFF,
    ON,
    POLICY,
    UNOWNED,
    scoped,
    stored,
    with_value,
    without,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeper.core import gatekeeper as gk
from sweeper.testing import objects as o

# --- never raise on malformed input ----------------------------------------------------------

KEYS = st.sampled_from(
    [
        "name",
        "kind",
        "uid",
        "controller",
        "apiVersion",
        "action",
        "Action",
        "enforcementPoints",
        "engine",
        "source",
        "generateVAP",
        "code",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        ["scoped", "deny", "vap.k8s.io", "*", "Allow", gk.CEL_ENGINE, "gatekeeper-k8sfoo"]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

TEMPLATE_PATHS = [
    ("metadata",),
    ("metadata", "name"),
    ("spec",),
    ("spec", "crd"),
    ("spec", "crd", "spec", "names", "kind"),
    ("spec", "targets"),
    ("spec", "targets", 0),
    ("spec", "targets", 0, "code"),
    ("spec", "targets", 0, "code", 0),
    ("spec", "targets", 0, "code", 0, "engine"),
    CEL_SOURCE,
    (*CEL_SOURCE, "generateVAP"),
    (*CEL_SOURCE, "failurePolicy"),
    (*CEL_SOURCE, "variables"),
    (*CEL_SOURCE, "matchCondition"),
    (*CEL_SOURCE, "validations"),
]
SCOPED = scoped(("deny", ["vap.k8s.io"]))
CONSTRAINT_PATHS = [
    ("kind",),
    ("metadata",),
    ("metadata", "name"),
    ("spec",),
    ("spec", "enforcementAction"),
    ("spec", "scopedEnforcementActions"),
    ("spec", "scopedEnforcementActions", 0),
    ("spec", "scopedEnforcementActions", 0, "action"),
    ("spec", "scopedEnforcementActions", 0, "enforcementPoints"),
    ("spec", "scopedEnforcementActions", 0, "enforcementPoints", 0),
    ("spec", "scopedEnforcementActions", 0, "enforcementPoints", 0, "name"),
]
OWNED = o.binding(CONSTRAINT)
BINDING_PATHS = [
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "ownerReferences"),
    ("metadata", "ownerReferences", 0),
    ("metadata", "ownerReferences", 0, "controller"),
    ("metadata", "ownerReferences", 0, "uid"),
    ("spec",),
    ("spec", "policyName"),
    ("spec", "paramRef"),
    ("spec", "paramRef", "name"),
    ("spec", "paramRef", "parameterNotFoundAction"),
]
POLICY_PATHS = [
    ("metadata", "name"),
    ("spec", "paramKind"),
    ("spec", "paramKind", "kind"),
    ("spec", "paramKind", "apiVersion"),
]


def check_owner_parsing(obj: Any) -> None:
    if isinstance(obj, dict):
        owner = gk.controller_owner(obj)
        assert owner is None or isinstance(owner, gk.OwnerRef)
        gk.has_owner_references(obj)


@settings(max_examples=300)
@given(value=JSON, path=st.sampled_from(TEMPLATE_PATHS), which=st.booleans())
def test_template_parsing_never_raises(value: Any, path: tuple, which: bool) -> None:
    obj = with_value(o.template("K8sFoo"), path, value) if which else value
    facts = gk.parse_template(obj)
    assert facts.problem is None or isinstance(facts.problem, str)
    for defaults in (ON, OFF):
        gk.wants_policy(facts, defaults)


@settings(max_examples=300)
@given(value=JSON, path=st.sampled_from(CONSTRAINT_PATHS), which=st.booleans())
def test_constraint_parsing_never_raises(value: Any, path: tuple, which: bool) -> None:
    facts = gk.parse_constraint(with_value(SCOPED, path, value) if which else value)
    assert facts.problem is not None or all(a in gk.BINDABLE_ACTIONS for a in facts.vap_actions)
    for defaults in (ON, OFF):
        gk.wants_binding(facts, template=gk.parse_template(CEL_TEMPLATE), defaults=defaults)


@settings(max_examples=300)
@given(value=JSON, path=st.sampled_from(BINDING_PATHS), which=st.booleans(), owned_=st.booleans())
def test_binding_fingerprint_and_owners_never_raise(
    value: Any, path: tuple, which: bool, owned_: bool
) -> None:
    into_refs = path[:2] == ("metadata", "ownerReferences") and len(path) > 2
    base = OWNED if owned_ or into_refs else without(OWNED, ("metadata", "ownerReferences"))
    obj = with_value(base, path, value) if which else value
    result = gk.binding_fingerprint(obj)
    assert result is None or (isinstance(result, tuple) and len(result) == 2)
    check_owner_parsing(obj)


@settings(max_examples=300)
@given(value=JSON, path=st.sampled_from(POLICY_PATHS), which=st.booleans())
def test_policy_fingerprint_never_raises(value: Any, path: tuple, which: bool) -> None:
    obj = with_value(POLICY, path, value) if which else value
    result = gk.policy_fingerprint(obj)
    assert result is None or isinstance(result, str)
    check_owner_parsing(obj)


@given(surrogate=st.sampled_from(["\ud800", "\udfff"]), text=st.text(max_size=300))
def test_lone_surrogates_from_json_do_not_raise(surrogate: str, text: str) -> None:
    # json.loads turns "\ud800" escapes into lone surrogates; nothing may choke on them.
    name = surrogate + text * 2
    binding = with_value(UNOWNED, ("spec", "paramRef", "name"), name)
    binding = with_value(binding, ("metadata", "name"), gk.binding_name("k8sfoo", name))
    assert gk.binding_fingerprint(binding) == ("k8sfoo", name)


@given(kind=KIND, name=DNS_LABEL, legacy=st.booleans())
def test_fingerprint_recovers_any_generated_binding(kind: str, name: str, legacy: bool) -> None:
    binding = o.binding(stored(o.constraint(kind, name)), owned=False, legacy=legacy)
    assert gk.binding_fingerprint(binding) == (kind.lower(), name)
