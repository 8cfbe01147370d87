"""Gatekeeper's rules (sweeper.gatekeeper) and the builders of Gatekeeper-shaped objects."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeper import gatekeeper as gk
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


DNS_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,280}[a-z0-9])?", fullmatch=True)
KIND = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,62}", fullmatch=True)


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


# --- templates -----------------------------------------------------------------------------

TEMPLATE = stored(o.template("K8sFoo"))
CEL_SOURCE = ("spec", "targets", 0, "code", 0, "source")


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
        (None, False),
        ((3, 22, 0), True),
        ((3, 22, 1), False),
        ((3, 23, 0), False),
        ((3, 17, 0), True),
        ((4, 0, 0), False),
    ],
)
def test_managed_binding_name_follows_the_version(version: Any, legacy: bool) -> None:
    defaults = gk.GatekeeperDefaults(version=version)
    assert defaults.legacy_binding_names is legacy
    expected = "gatekeeper-c" if legacy else "gatekeeper-k8sfoo-c"
    assert gk.managed_binding_name("K8sFoo", "c", defaults) == expected
    assert gk.binding_names("K8sFoo", "c") == ("gatekeeper-k8sfoo-c", "gatekeeper-c")
    assert ("legacy" in defaults.binding_scheme) is legacy


def test_duplicate_cel_entries_first_wins() -> None:
    obj = o.template("K8sFoo", generate_vap=True)
    code = obj["spec"]["targets"][0]["code"]
    code.append({"engine": gk.CEL_ENGINE, "source": {"generateVAP": False}})
    assert gk.parse_template(obj).generate_vap is True


# --- constraints ---------------------------------------------------------------------------

VAP_POINT = [{"name": gk.VAP_ENFORCEMENT_POINT}]


def scoped(*entries: tuple[str, list[str]]) -> dict:
    return o.constraint(
        "K8sFoo",
        "bar",
        scoped=[
            {"action": action, "enforcementPoints": [{"name": p} for p in points]}
            for action, points in entries
        ],
    )


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


CEL_TEMPLATE = o.template("K8sFoo")
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


# --- fingerprints --------------------------------------------------------------------------

CONSTRAINT = stored(o.constraint("K8sFoo", "bar"))
UNOWNED = o.binding(CONSTRAINT, owned=False)
POLICY = o.policy(stored(o.template("K8sFoo")), owned=False)


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


# --- builders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(o.template("K8sRequiredLabels"), id="template"),
        pytest.param(
            o.template(
                "K8sAllowedRepos",
                generate_vap=False,
                rego=False,
                annotations={"a": "b"},
                uid="u",
                created="2024-01-01T00:00:00Z",
                api_version="templates.gatekeeper.sh/v1beta1",
            ),
            id="template-options",
        ),
        pytest.param(o.template("K8sFoo", targets=2), id="template-two-targets"),
    ],
)
def test_template_builder_parses(obj: dict) -> None:
    facts = gk.parse_template(obj)
    assert facts.problem is None
    assert facts.name == facts.kind.lower()
    assert "uid" not in obj["metadata"] or obj["metadata"]["uid"] == "u"


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(o.constraint("K8sFoo", "bar"), id="plain"),
        pytest.param(
            o.constraint(
                "K8sFoo", "bar", enforcement_action="warn", uid="u", created="2024-01-01T00:00:00Z"
            ),
            id="warn",
        ),
        pytest.param(
            scoped(("deny", ["vap.k8s.io"]), ("warn", ["audit.gatekeeper.sh"])), id="scoped"
        ),
    ],
)
def test_constraint_builder_parses(obj: dict) -> None:
    assert gk.parse_constraint(obj).problem is None


@pytest.mark.parametrize("legacy", [False, True], ids=["new-name", "legacy-name"])
def test_binding_builder_is_wanted_named(legacy: bool) -> None:
    con = stored(o.constraint("K8sRequiredLabels", "must-have-owner"), uid="c-1")
    binding = o.binding(con, legacy=legacy, action="Warn")
    expected = (
        gk.legacy_binding_name("must-have-owner")
        if legacy
        else gk.binding_name("K8sRequiredLabels", "must-have-owner")
    )
    assert binding["metadata"]["name"] == expected
    owner = gk.controller_owner(binding)
    assert owner == gk.OwnerRef(
        o.CONSTRAINT_API_VERSION, "K8sRequiredLabels", "must-have-owner", "c-1", True
    )
    assert owner.group == gk.CONSTRAINTS_GROUP
    assert binding["spec"]["policyName"] == gk.policy_name("k8srequiredlabels")
    assert binding["spec"]["validationActions"] == ["Warn"]
    assert gk.binding_fingerprint(binding) is None
    assert gk.binding_fingerprint(o.binding(con, legacy=legacy, owned=False)) == (
        "k8srequiredlabels",
        "must-have-owner",
    )


def test_policy_builder() -> None:
    tpl = stored(o.template("K8sRequiredLabels"), uid="t-1")
    policy = o.policy(tpl, created="2024-01-01T00:00:00Z")
    owner = gk.controller_owner(policy)
    assert owner is not None and (owner.group, owner.kind, owner.uid) == (
        gk.TEMPLATES_GROUP,
        gk.TEMPLATE_KIND,
        "t-1",
    )
    assert policy["metadata"]["name"] == gk.policy_name("k8srequiredlabels")
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert policy["spec"]["paramKind"]["kind"] == "K8sRequiredLabels"
    assert policy["spec"]["validations"]
    assert gk.policy_fingerprint(policy) is None
    assert gk.policy_fingerprint(o.policy(tpl, owned=False)) == "k8srequiredlabels"


def test_crd_builders() -> None:
    tpl = stored(o.template("K8sRequiredLabels"), uid="t-1")
    crd = o.constraint_crd(tpl)
    assert crd["metadata"]["name"] == gk.constraint_crd_name("K8sRequiredLabels")
    assert crd["metadata"]["labels"] == {gk.CONSTRAINT_CRD_LABEL: "yes"}
    assert gk.controller_owner(crd).uid == "t-1"
    assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] == ["v1beta1"]
    tcrd = o.template_crd()
    assert tcrd["metadata"]["name"] == gk.TEMPLATE_CRD_NAME
    assert (tcrd["spec"]["group"], tcrd["spec"]["names"]["plural"], tcrd["spec"]["scope"]) == (
        gk.TEMPLATES_GROUP,
        "constrainttemplates",
        "Cluster",
    )
    assert [v["name"] for v in tcrd["spec"]["versions"] if v["storage"]] == ["v1"]


def test_dependents_need_a_stored_owner() -> None:
    with pytest.raises(ValueError, match="uid"):
        o.binding(o.constraint("K8sFoo", "bar"))
    with pytest.raises(ValueError, match="uid"):
        o.policy(o.template("K8sFoo"))
    unowned = o.binding(o.constraint("K8sFoo", "bar"), owned=False)
    assert "ownerReferences" not in unowned["metadata"]


def test_builders_return_independent_copies() -> None:
    first, second = o.template("K8sFoo"), o.template("K8sFoo")
    first["spec"]["targets"][0]["code"][0]["source"]["validations"].clear()
    assert second["spec"]["targets"][0]["code"][0]["source"]["validations"]
    two = o.template("K8sFoo", targets=2)["spec"]["targets"]
    assert two[0]["code"] == two[1]["code"] and two[0]["code"] is not two[1]["code"]
    crd = o.template_crd()["spec"]["versions"]
    assert crd[0]["schema"] is not crd[1]["schema"]
