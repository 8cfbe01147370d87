"""Gatekeeper's rules for names and ownership: binding and policy names (truncation vectors,
legacy collisions, any text) and owner references (sweeper.core.gatekeeper)."""

from __future__ import annotations

from typing import Any

import pytest
from gatekeeper_shapes import DNS_LABEL, KIND
from hypothesis import given
from hypothesis import strategies as st

from sweeper.core import gatekeeper as gk

# --- names ---------------------------------------------------------------------------------

# Truncated vectors: full = "gatekeeper-<lower kind>-<name>"; expected = full[:244] with trailing
# "-" and "." stripped, then "-" + the first 8 hex digits of sha256(full), the digest computed
# once with `printf '%s' "$full" | sha256sum | cut -c1-8` (coreutils, not this code).
NAME_VECTORS = [
    pytest.param(
        "K8sRequiredLabels",
        "ns-must-have-owner",
        "gatekeeper-k8srequiredlabels-ns-must-have-owner",
        id="short-kind-lowercased",
    ),
    pytest.param("k8sfoo", "bar", "gatekeeper-k8sfoo-bar", id="lowercase-kind"),
    pytest.param("K8sFoo", "x" * 235, "gatekeeper-k8sfoo-" + "x" * 235, id="exactly-253-kept"),
    pytest.param(
        "K8sFoo", "x" * 236, "gatekeeper-k8sfoo-" + "x" * 226 + "-024d30ec", id="254-truncated"
    ),
    pytest.param(
        "K8sRequiredLabels",
        "a" * 300,
        "gatekeeper-k8srequiredlabels-" + "a" * 215 + "-79150527",
        id="300-char-name",
    ),
    pytest.param(
        "K8sFoo",
        "b" * 223 + "-.-" + "c" * 50,
        "gatekeeper-k8sfoo-" + "b" * 223 + "-e0364598",
        id="trailing-dash-dot-stripped",
    ),
    pytest.param(
        "K8SFOO",
        "x" * 236,
        "gatekeeper-k8sfoo-" + "x" * 226 + "-024d30ec",
        id="kind-lowercased-before-hashing",
    ),
]


@pytest.mark.parametrize(("kind", "name", "expected"), NAME_VECTORS)
def test_binding_name(kind: str, name: str, expected: str) -> None:
    assert gk.binding_name(kind, name) == expected
    assert len(gk.binding_name(kind, name)) <= gk.MAX_NAME_LENGTH


@pytest.mark.parametrize(
    ("func", "arg", "expected"),
    [
        pytest.param(
            gk.policy_name, "k8srequiredlabels", "gatekeeper-k8srequiredlabels", id="policy-name"
        ),
        pytest.param(
            gk.legacy_binding_name,
            "ns-must-have-owner",
            "gatekeeper-ns-must-have-owner",
            id="legacy-binding-name",
        ),
        pytest.param(
            gk.constraint_crd_name,
            "K8sRequiredLabels",
            "k8srequiredlabels.constraints.gatekeeper.sh",
            id="constraint-crd-name",
        ),
        pytest.param(
            gk.template_name_for_kind,
            "K8sAllowedRepos",
            "k8sallowedrepos",
            id="template-name-for-kind",
        ),
    ],
)
def test_simple_names(func: Any, arg: str, expected: str) -> None:
    assert func(arg) == expected


def test_legacy_and_new_names_collide() -> None:
    # Constraint "k8sfoo-bar" (any kind) had the legacy name that K8sFoo/bar now gets.
    assert gk.legacy_binding_name("k8sfoo-bar") == gk.binding_name("K8sFoo", "bar")


@given(kind=KIND, name=DNS_LABEL)
def test_binding_name_is_a_valid_length_and_stable(kind: str, name: str) -> None:
    result = gk.binding_name(kind, name)
    full = f"gatekeeper-{kind.lower()}-{name}"
    assert len(result) <= gk.MAX_NAME_LENGTH
    assert result == full if len(full) <= gk.MAX_NAME_LENGTH else result[-9] == "-"
    assert not result[:-9].endswith(("-", ".")) or result == full


@given(kind=st.text(), name=st.text())
def test_binding_name_never_raises_on_any_text(kind: str, name: str) -> None:
    assert isinstance(gk.binding_name(kind, name), str)


# --- ownership -----------------------------------------------------------------------------

REF = {
    "apiVersion": "constraints.gatekeeper.sh/v1beta1",
    "kind": "K8sFoo",
    "name": "bar",
    "uid": "u-1",
    "controller": True,
    "blockOwnerDeletion": True,
}
OTHER = {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "u-2"}


def owned(*refs: Any) -> dict:
    return {"metadata": {"name": "x", "ownerReferences": list(refs)}}


@pytest.mark.parametrize(
    ("obj", "controller_uid", "has_refs"),
    [
        pytest.param(owned(REF), "u-1", True, id="one-controller"),
        pytest.param(owned(OTHER), None, True, id="non-controller-only"),
        pytest.param(
            owned({**OTHER, "controller": False}, REF), "u-1", True, id="controller-among-others"
        ),
        pytest.param(owned(REF, {**REF, "uid": "u-3"}), None, True, id="two-controllers"),
        pytest.param(owned({**REF, "uid": 7}), None, True, id="malformed-controller"),
        pytest.param(owned({**REF, "controller": "true"}), None, True, id="controller-not-bool"),
        pytest.param(owned({**REF, "controller": None}), None, True, id="controller-null"),
        pytest.param(owned("garbage", None, 3, REF), "u-1", True, id="garbage-entries-skipped"),
        pytest.param(owned({**REF, "name": ""}), None, True, id="empty-name"),
        pytest.param(owned(), None, False, id="empty-list"),
        pytest.param({"metadata": {"name": "x"}}, None, False, id="absent"),
        pytest.param({"metadata": {"ownerReferences": {"a": 1}}}, None, False, id="not-a-list"),
        pytest.param({"metadata": None}, None, False, id="metadata-null"),
        pytest.param({}, None, False, id="empty-object"),
    ],
)
def test_owner_parsing(obj: dict, controller_uid: str | None, has_refs: bool) -> None:
    owner = gk.controller_owner(obj)
    assert (owner.uid if owner else None) == controller_uid
    assert gk.has_owner_references(obj) is has_refs


@pytest.mark.parametrize(
    ("api_version", "group"),
    [
        pytest.param("constraints.gatekeeper.sh/v1beta1", gk.CONSTRAINTS_GROUP, id="named-group"),
        pytest.param("templates.gatekeeper.sh/v1", gk.TEMPLATES_GROUP, id="templates-group"),
        pytest.param("v1", "", id="core"),
    ],
)
def test_owner_group(api_version: str, group: str) -> None:
    assert gk.OwnerRef(api_version, "K", "n", "u", True).group == group
