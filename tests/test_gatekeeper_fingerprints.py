"""Gatekeeper's fingerprints: recognising a generated binding or policy from its name and spec,
including bindings whose new and legacy names collide (sweeper.core.gatekeeper)."""

from __future__ import annotations

from typing import Any

import pytest
from gatekeeper_shapes import CONSTRAINT, POLICY, UNOWNED, stored, with_value, without

from sweeper.core import gatekeeper as gk
from sweeper.testing import objects as o

# --- fingerprints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        pytest.param(UNOWNED, ("k8sfoo", "bar"), id="new-name"),
        pytest.param(
            o.binding(CONSTRAINT, owned=False, legacy=True), ("k8sfoo", "bar"), id="legacy-name"
        ),
        pytest.param(
            o.binding(stored(o.constraint("K8sOther", "k8sfoo-bar")), owned=False, legacy=True),
            ("k8sother", "k8sfoo-bar"),
            id="collision-legacy-of-other-kind",
        ),
        pytest.param(
            o.binding(stored(o.constraint("K8sFoo", "a" * 300)), owned=False),
            ("k8sfoo", "a" * 300),
            id="truncated-name",
        ),
        pytest.param(o.binding(CONSTRAINT), None, id="owned"),
        pytest.param(
            with_value(UNOWNED, ("metadata", "ownerReferences"), [{"x": 1}]),
            None,
            id="malformed-owner-still-an-owner",
        ),
        pytest.param(
            with_value(UNOWNED, ("metadata", "ownerReferences"), []),
            ("k8sfoo", "bar"),
            id="empty-owner-list",
        ),
        pytest.param(
            with_value(UNOWNED, ("metadata", "name"), "gatekeeper-k8sfoo-baz"),
            None,
            id="name-mismatch",
        ),
        pytest.param(
            with_value(UNOWNED, ("spec", "policyName"), "gatekeeper-K8sFoo"),
            None,
            id="policy-name-not-lowercase",
        ),
        pytest.param(
            with_value(UNOWNED, ("spec", "policyName"), "k8sfoo"), None, id="policy-without-prefix"
        ),
        pytest.param(
            with_value(UNOWNED, ("spec", "policyName"), "gatekeeper-"), None, id="policy-empty-kind"
        ),
        pytest.param(
            with_value(UNOWNED, ("spec", "paramRef", "parameterNotFoundAction"), "Deny"),
            None,
            id="not-found-action-deny",
        ),
        pytest.param(without(UNOWNED, ("spec", "paramRef")), None, id="no-param-ref"),
        pytest.param(
            o.foreign_binding("gatekeeper-k8sfoo-bar", policy_name="gatekeeper-k8sfoo"),
            None,
            id="foreign-with-gatekeeper-name",
        ),
        pytest.param(None, None, id="none"),
    ],
)
def test_binding_fingerprint(binding: Any, expected: tuple[str, str] | None) -> None:
    assert gk.binding_fingerprint(binding) == expected


def test_collision_new_name_fingerprints_by_spec() -> None:
    # The same name, gatekeeper-k8sfoo-bar, read two ways: the spec decides which owner it had.
    new = o.binding(CONSTRAINT, owned=False)
    legacy = o.binding(stored(o.constraint("K8sOther", "k8sfoo-bar")), owned=False, legacy=True)
    assert new["metadata"]["name"] == legacy["metadata"]["name"]
    assert gk.binding_fingerprint(new) == ("k8sfoo", "bar")
    assert gk.binding_fingerprint(legacy) == ("k8sother", "k8sfoo-bar")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(POLICY, "k8sfoo", id="unowned"),
        pytest.param(o.policy(stored(o.template("K8sFoo"))), None, id="owned"),
        pytest.param(
            with_value(POLICY, ("spec", "paramKind", "apiVersion"), "constraints.gatekeeper.sh/v1"),
            "k8sfoo",
            id="any-version",
        ),
        pytest.param(
            with_value(POLICY, ("spec", "paramKind", "apiVersion"), "example.com/v1"),
            None,
            id="foreign-param-group",
        ),
        pytest.param(
            with_value(POLICY, ("spec", "paramKind", "apiVersion"), "constraints.gatekeeper.sh"),
            None,
            id="no-version",
        ),
        pytest.param(
            with_value(POLICY, ("metadata", "name"), "gatekeeper-k8sbar"), None, id="name-mismatch"
        ),
        pytest.param(without(POLICY, ("spec", "paramKind")), None, id="no-param-kind"),
        pytest.param(
            o.policy(
                stored(o.template("K8sFoo")),
                api_version="admissionregistration.k8s.io/v1beta1",
                owned=False,
            ),
            "k8sfoo",
            id="v1beta1",
        ),
        pytest.param([], None, id="not-a-mapping"),
    ],
)
def test_policy_fingerprint(policy: Any, expected: str | None) -> None:
    assert gk.policy_fingerprint(policy) == expected
