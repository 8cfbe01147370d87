"""Gatekeeper's rules for constraints: parsing enforcement actions and scoped enforcement points,
and whether Gatekeeper wants a generated binding for a constraint (sweeper.core.gatekeeper)."""

from __future__ import annotations

from typing import Any

import pytest
from gatekeeper_shapes import (
    CEL_SOURCE,
    CEL_TEMPLATE,
    NO,
    ON,
    UNKNOWN,
    VAP_OFF,
    VAPB_OFF,
    YES,
    scoped,
    with_value,
    without,
)

from sweeper.core import gatekeeper as gk
from sweeper.testing import objects as o

# --- constraints ---------------------------------------------------------------------------

VAP_POINT = [{"name": gk.VAP_ENFORCEMENT_POINT}]


@pytest.mark.parametrize(
    ("obj", "action", "vap_actions", "problem_part"),
    [
        pytest.param(o.constraint("K8sFoo", "bar"), "deny", (), None, id="absent-is-deny"),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action=""),
            "deny",
            (),
            None,
            id="empty-is-deny",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="Deny"),
            "Deny",
            (),
            None,
            id="unknown-kept-verbatim",
        ),
        pytest.param(
            with_value(o.constraint("K8sFoo", "bar"), ("spec", "enforcementAction"), None),
            "",
            (),
            "enforcementAction",
            id="null-action",
        ),
        pytest.param(
            with_value(o.constraint("K8sFoo", "bar"), ("spec",), None),
            "deny",
            (),
            None,
            id="spec-null",
        ),
        pytest.param(
            with_value(o.constraint("K8sFoo", "bar"), ("spec",), "x"),
            "",
            (),
            "spec",
            id="spec-not-object",
        ),
        pytest.param(
            scoped(
                ("deny", ["vap.k8s.io"]),
                ("warn", ["*"]),
                ("dryrun", ["audit.gatekeeper.sh"]),
                ("deny", ["*"]),
            ),
            "scoped",
            ("deny", "warn", "deny"),
            None,
            id="scoped-vap-and-star",
        ),
        pytest.param(
            scoped(("warn", ["validation.gatekeeper.sh", "vap.k8s.io"])),
            "scoped",
            ("warn",),
            None,
            id="scoped-vap-among-points",
        ),
        pytest.param(scoped(), "scoped", (), None, id="scoped-empty-list"),
        pytest.param(
            with_value(scoped(), ("spec", "scopedEnforcementActions"), None),
            "scoped",
            (),
            None,
            id="scoped-null-list",
        ),
        pytest.param(
            without(scoped(), ("spec", "scopedEnforcementActions")),
            "scoped",
            (),
            "without",
            id="scoped-list-missing",
        ),
        pytest.param(
            scoped(("deny", ["VAP.k8s.io"])),
            "scoped",
            (),
            "unrecognized",
            id="point-case-sensitive",
        ),
        pytest.param(
            scoped(("deny", ["example.com/x"])), "scoped", (), "unrecognized", id="unknown-point"
        ),
        pytest.param(
            scoped(("Deny", ["vap.k8s.io"])), "scoped", (), "action", id="action-case-sensitive"
        ),
        pytest.param(
            scoped(("scoped", ["vap.k8s.io"])), "scoped", (), "action", id="nested-scoped-action"
        ),
        pytest.param(
            scoped(("deny", [])), "scoped", (), "no enforcementPoints", id="entry-without-points"
        ),
        pytest.param(
            o.constraint(
                "K8sFoo", "bar", scoped=[{"Action": "deny", "enforcementPoints": VAP_POINT}]
            ),
            "scoped",
            (),
            "key",
            id="case-folded-key-is-doubt",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", scoped=["deny"]),
            "scoped",
            (),
            "not an object",
            id="entry-not-object",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="deny", scoped=[{"garbage": 1}]),
            "deny",
            (),
            None,
            id="scoped-list-ignored-unless-scoped",
        ),
        pytest.param(
            without(o.constraint("K8sFoo", "bar"), ("kind",)), "", (), "kind", id="no-kind"
        ),
        pytest.param(7, "", (), "not an object", id="not-a-mapping"),
    ],
)
def test_parse_constraint(
    obj: Any, action: str, vap_actions: tuple, problem_part: str | None
) -> None:
    facts = gk.parse_constraint(obj)
    assert facts.enforcement_action == action
    assert facts.vap_actions == vap_actions
    if problem_part is None:
        assert facts.problem is None
    else:
        assert facts.problem is not None and problem_part in facts.problem


BAD_TEMPLATE = with_value(o.template("K8sFoo"), (*CEL_SOURCE, "generateVAP"), "no")


@pytest.mark.parametrize(
    ("obj", "template", "defaults", "want"),
    [
        pytest.param(o.constraint("K8sFoo", "bar"), CEL_TEMPLATE, ON, YES, id="deny-defaults-on"),
        pytest.param(
            o.constraint("K8sFoo", "bar"), CEL_TEMPLATE, VAPB_OFF, NO, id="deny-vapb-flag-off"
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="warn"),
            CEL_TEMPLATE,
            ON,
            YES,
            id="warn",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="dryrun"),
            CEL_TEMPLATE,
            ON,
            YES,
            id="dryrun",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action=""),
            CEL_TEMPLATE,
            ON,
            YES,
            id="empty-action",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="audit"),
            CEL_TEMPLATE,
            ON,
            UNKNOWN,
            id="unknown-action",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="audit"),
            CEL_TEMPLATE,
            VAPB_OFF,
            UNKNOWN,
            id="unknown-action-flag-off",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar", enforcement_action="Deny"),
            CEL_TEMPLATE,
            ON,
            UNKNOWN,
            id="action-case-sensitive",
        ),
        pytest.param(scoped(("deny", ["vap.k8s.io"])), CEL_TEMPLATE, ON, YES, id="scoped-vap"),
        pytest.param(scoped(("warn", ["*"])), CEL_TEMPLATE, ON, YES, id="scoped-star"),
        pytest.param(
            scoped(("deny", ["vap.k8s.io"])),
            CEL_TEMPLATE,
            VAPB_OFF,
            YES,
            id="scoped-ignores-vapb-flag",
        ),
        pytest.param(
            scoped(("deny", ["validation.gatekeeper.sh", "audit.gatekeeper.sh"])),
            CEL_TEMPLATE,
            ON,
            NO,
            id="scoped-other-points-only",
        ),
        pytest.param(scoped(), CEL_TEMPLATE, ON, NO, id="scoped-empty-list"),
        pytest.param(
            scoped(("deny", ["nope"])), CEL_TEMPLATE, ON, UNKNOWN, id="scoped-unrecognized-point"
        ),
        pytest.param(o.constraint("K8sFoo", "bar"), None, ON, NO, id="template-absent"),
        pytest.param(scoped(("deny", ["nope"])), None, ON, NO, id="template-absent-beats-doubt"),
        pytest.param(
            o.constraint("K8sFoo", "bar"), BAD_TEMPLATE, ON, UNKNOWN, id="template-unknown"
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar"),
            o.template("K8sFoo", generate_vap=False),
            ON,
            NO,
            id="template-generateVAP-false",
        ),
        pytest.param(
            scoped(("deny", ["vap.k8s.io"])),
            o.template("K8sFoo", cel=False),
            ON,
            NO,
            id="template-without-cel",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar"), CEL_TEMPLATE, VAP_OFF, NO, id="template-vap-flag-off"
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar"),
            o.template("K8sFoo", generate_vap=True),
            VAP_OFF,
            YES,
            id="explicit-generateVAP-beats-vap-flag",
        ),
        pytest.param(
            o.constraint("K8sFoo", "bar"),
            o.template("K8sFoo", annotations={gk.BLOCK_VAPB_ANNOTATION: "2999-01-01T00:00:00Z"}),
            ON,
            YES,
            id="block-vapb-annotation-never-unwanted",
        ),
        pytest.param(
            with_value(o.constraint("K8sFoo", "bar"), ("spec", "enforcementAction"), 1),
            CEL_TEMPLATE,
            ON,
            UNKNOWN,
            id="constraint-unparseable",
        ),
    ],
)
def test_wants_binding(
    obj: dict, template: dict | None, defaults: gk.GatekeeperDefaults, want: gk.Want
) -> None:
    tfacts = gk.parse_template(template) if template is not None else None
    decision = gk.wants_binding(gk.parse_constraint(obj), template=tfacts, defaults=defaults)
    assert decision.want is want, decision.why
    assert decision.why
