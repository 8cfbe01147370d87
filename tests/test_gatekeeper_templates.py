"""Gatekeeper's rules for ConstraintTemplates: parsing, ingestion rejections, whether Gatekeeper
wants a generated policy, and the binding name each version uses (sweeper.core.gatekeeper)."""

from __future__ import annotations

from typing import Any

import pytest
from gatekeeper_shapes import (
    CEL_SOURCE,
    NO,
    OFF,
    ON,
    UNKNOWN,
    VAPB_OFF,
    YES,
    stored,
    with_value,
    without,
)

from sweeper.core import gatekeeper as gk
from sweeper.core.versions import parse_version
from sweeper.testing import objects as o

# --- templates -----------------------------------------------------------------------------

TEMPLATE = stored(o.template("K8sFoo"))


@pytest.mark.parametrize(
    ("obj", "problem_part"),
    [
        pytest.param(TEMPLATE, None, id="builder"),
        pytest.param(
            with_value(TEMPLATE, (*CEL_SOURCE, "generateVAP"), "true"),
            "generateVAP",
            id="generateVAP-string",
        ),
        pytest.param(
            with_value(TEMPLATE, (*CEL_SOURCE, "generateVAP"), None),
            None,
            id="generateVAP-null-is-unset",
        ),
        pytest.param(
            with_value(TEMPLATE, (*CEL_SOURCE, "generatevap"), False),
            None,
            id="other-source-keys-ignored",
        ),
        pytest.param(
            with_value(TEMPLATE, (*CEL_SOURCE, "failurePolicy"), "Never"),
            "failurePolicy",
            id="bad-failurePolicy",
        ),
        pytest.param(
            with_value(
                TEMPLATE, (*CEL_SOURCE, "variables"), [{"name": "params", "expression": "1"}]
            ),
            "reserved",
            id="reserved-variable",
        ),
        pytest.param(
            with_value(
                TEMPLATE,
                (*CEL_SOURCE, "matchCondition"),
                [{"name": "gatekeeper_internal_x", "expression": "true"}],
            ),
            "reserved",
            id="reserved-match-condition",
        ),
        pytest.param(
            with_value(TEMPLATE, (*CEL_SOURCE, "validations"), [{"expression": 1}]),
            "validations",
            id="validation-not-string",
        ),
        pytest.param(with_value(TEMPLATE, CEL_SOURCE, "rule"), "source", id="source-not-object"),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets"), {}), "spec.targets", id="targets-not-list"
        ),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets", 0, "code"), "x"), "code", id="code-not-list"
        ),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets", 0, "code", 0, "engine"), 5),
            "engine",
            id="engine-not-string",
        ),
        pytest.param(
            with_value(TEMPLATE, ("spec", "crd", "spec", "names", "kind"), 7),
            "kind is not a string",
            id="kind-not-string",
        ),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets", 0, "target"), ["x"]),
            "target is not a string",
            id="target-not-string",
        ),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets", 0, "rego"), {"x": 1}),
            "rego is not a string",
            id="rego-not-string",
        ),
        pytest.param(without(TEMPLATE, ("metadata", "name")), "metadata.name", id="no-name"),
        pytest.param(with_value(TEMPLATE, ("spec",), []), "spec", id="spec-not-object"),
        pytest.param("template", "not an object", id="not-a-mapping"),
    ],
)
def test_parse_template_problems(obj: Any, problem_part: str | None) -> None:
    facts = gk.parse_template(obj)
    if problem_part is None:
        assert facts.problem is None
    else:
        assert facts.problem is not None and problem_part in facts.problem


@pytest.mark.parametrize(
    ("obj", "defaults", "want", "why_part"),
    [
        pytest.param(
            o.template("K8sFoo", generate_vap=True),
            ON,
            YES,
            "generateVAP: true",
            id="generateVAP-true-defaults-on",
        ),
        pytest.param(
            o.template("K8sFoo", generate_vap=True),
            OFF,
            YES,
            "generateVAP: true",
            id="generateVAP-true-defaults-off",
        ),
        pytest.param(
            o.template("K8sFoo", generate_vap=False),
            ON,
            NO,
            "generateVAP: false",
            id="generateVAP-false-defaults-on",
        ),
        pytest.param(
            o.template("K8sFoo", generate_vap=False),
            OFF,
            NO,
            "generateVAP: false",
            id="generateVAP-false-defaults-off",
        ),
        pytest.param(o.template("K8sFoo"), ON, YES, "templates on", id="unset-defaults-on"),
        pytest.param(o.template("K8sFoo"), OFF, NO, "templates off", id="unset-defaults-off"),
        pytest.param(o.template("K8sFoo"), VAPB_OFF, YES, "on", id="unset-only-vapb-flag-off"),
        pytest.param(
            o.template("K8sFoo", cel=False), ON, NO, "CEL engine missing", id="cel-missing"
        ),
        pytest.param(
            o.template("K8sFoo", cel=False, rego=False),
            ON,
            UNKNOWN,
            "no code",
            id="no-code-rejected",
        ),
        pytest.param(
            o.template("K8sFoo", rego=False, generate_vap=True), ON, YES, "true", id="cel-only"
        ),
        pytest.param(
            o.template("K8sFoo", targets=0), ON, UNKNOWN, "0 targets", id="zero-targets-rejected"
        ),
        pytest.param(
            o.template("K8sFoo", targets=2, generate_vap=True),
            ON,
            UNKNOWN,
            "2 targets",
            id="two-targets-rejected",
        ),
        pytest.param(
            with_value(
                o.template("K8sFoo"),
                ("spec", "targets", 0, "code", 0, "engine"),
                "k8snativevalidation",
            ),
            ON,
            NO,
            "CEL engine missing",
            id="engine-case-sensitive",
        ),
        pytest.param(
            with_value(o.template("K8sFoo"), (*CEL_SOURCE, "generateVAP"), "false"),
            ON,
            UNKNOWN,
            "unparseable",
            id="generateVAP-string-unknown-never-no",
        ),
        pytest.param(
            with_value(o.template("K8sFoo", generate_vap=False), (*CEL_SOURCE, "failurePolicy"), 3),
            ON,
            UNKNOWN,
            "failurePolicy",
            id="false-but-invalid-source-unknown",
        ),
        pytest.param(
            o.template("K8sFoo", annotations={gk.BLOCK_VAPB_ANNOTATION: "2999-01-01T00:00:00Z"}),
            ON,
            YES,
            "on",
            id="block-annotation-irrelevant",
        ),
    ],
)
def test_wants_policy(
    obj: dict, defaults: gk.GatekeeperDefaults, want: gk.Want, why_part: str
) -> None:
    decision = gk.wants_policy(gk.parse_template(obj), defaults)
    assert decision.want is want
    assert why_part in decision.why


@pytest.mark.parametrize(
    ("obj", "invalid_part"),
    [
        pytest.param(
            with_value(TEMPLATE, ("spec", "crd", "spec", "names", "kind"), "K8sBar"),
            "lower-case",
            id="name-not-lower-kind",
        ),
        pytest.param(without(TEMPLATE, ("spec", "crd")), "kind is missing", id="kind-missing"),
        pytest.param(
            with_value(TEMPLATE, ("spec", "crd", "spec", "names", "kind"), ""),
            "kind is missing",
            id="kind-empty",
        ),
        pytest.param(o.template("K8sFoo", targets=2), "2 targets", id="two-targets"),
        pytest.param(o.template("K8sFoo", targets=0), "0 targets", id="no-target"),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets", 0, "target"), ""),
            "is not",
            id="target-name-empty",
        ),
        pytest.param(
            with_value(TEMPLATE, ("spec", "targets", 0, "target"), "other.example"),
            "other.example",
            id="target-unknown",
        ),
        pytest.param(o.template("K8sFoo", cel=False, rego=False), "no code", id="no-code"),
        pytest.param(
            with_value(
                o.template("K8sFoo", rego=False),
                ("spec", "targets", 0, "code", 0, "engine"),
                "Wasm",
            ),
            "no code",
            id="unknown-engine-only",
        ),
        # Rejected before the CEL source is read: its broken generateVAP does not matter.
        pytest.param(
            with_value(o.template("K8sFoo", targets=2), (*CEL_SOURCE, "generateVAP"), "yes"),
            "2 targets",
            id="invalid-beats-source-problem",
        ),
    ],
)
def test_parse_template_rejected_on_ingestion(obj: Any, invalid_part: str) -> None:
    """frameworks client.AddTemplate / CreateCRD reject these: row 6b, never a NO."""
    facts = gk.parse_template(obj)
    assert facts.problem is None
    assert facts.invalid is not None and invalid_part in facts.invalid
    decision = gk.wants_policy(facts, ON)
    assert decision.want is UNKNOWN and decision.rejected
    binding = gk.wants_binding(
        gk.parse_constraint(o.constraint("K8sFoo", "c")), template=facts, defaults=ON
    )
    assert binding.want is UNKNOWN and binding.rejected


def test_legacy_rego_field_counts_as_code() -> None:
    """The v1/v1beta1 conversion turns targets[].rego into a Rego code entry."""
    obj = o.template("K8sFoo", cel=False, rego=False)
    obj["spec"]["targets"][0]["rego"] = "package k8sfoo"
    facts = gk.parse_template(obj)
    assert facts.invalid is None and facts.problem is None
    assert gk.wants_policy(facts, ON).want is NO


@pytest.mark.parametrize(
    ("version", "legacy"),
    [
        ("v3.22.0", True),
        ("v3.22.1", False),
        ("v3.22.2", False),
        ("v3.23.0-beta.0", True),  # #4446 reached main after beta.0
        ("v3.23.0-rc.0", False),
        ("v3.23.0", False),
        ("v3.17.0", True),
        ("v4.0.0", False),
    ],
)
def test_managed_binding_name_follows_the_version(version: str, legacy: bool) -> None:
    defaults = gk.GatekeeperDefaults(version=parse_version(version))
    assert defaults.legacy_binding_names is legacy
    assert defaults.new_binding_names is (not legacy)
    expected = "gatekeeper-c" if legacy else "gatekeeper-k8sfoo-c"
    assert gk.managed_binding_name("K8sFoo", "c", defaults) == expected
    assert gk.binding_names("K8sFoo", "c") == ("gatekeeper-k8sfoo-c", "gatekeeper-c")
    assert ("legacy" in defaults.binding_scheme) is legacy


@pytest.mark.parametrize("version", [None, "v3.23.0-dev", "v3.23.0-gke.1"])
def test_a_version_that_cannot_be_placed_names_bindings_either_way(version: str | None) -> None:
    defaults = gk.GatekeeperDefaults(version=parse_version(version))
    assert defaults.new_binding_names is None and not defaults.legacy_binding_names
    assert "version unknown" in defaults.binding_scheme


def test_duplicate_cel_entries_first_wins() -> None:
    obj = o.template("K8sFoo", generate_vap=True)
    code = obj["spec"]["targets"][0]["code"]
    code.append({"engine": gk.CEL_ENGINE, "source": {"generateVAP": False}})
    assert gk.parse_template(obj).generate_vap is True
