"""The builders of Gatekeeper-shaped objects (sweeper.testing.objects): what they build parses
as Gatekeeper would, dependents need a stored owner, and every call returns a fresh copy."""

from __future__ import annotations

import pytest
from gatekeeper_shapes import scoped, stored

from sweeper.core import gatekeeper as gk
from sweeper.testing import objects as o

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
