"""The decision table on owners in odd states (docs/decisions.md): owners stuck
terminating (row 6), templates Gatekeeper rejects (row 6b), and wrongly typed fields that make
an object undecided instead of raising."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from planning import ALL, NOW, RULES, gatekeeper, judge, live, terminating

from sweeper.core.plan import plan
from sweeper.core.reasons import Action, Reason
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

# --- row 6: terminating owners --------------------------------------------------------------


def test_row6_a_terminating_owner_is_deleted_in_waiting() -> None:
    c = terminating(live("K8sRequiredLabels", "stuck"))
    base = gatekeeper()
    terminating(base[1])
    inventory = snapshot([*base, c, stamp(make.binding(c))])
    verdicts = {v.obj.name: v for v in plan(inventory, RULES, now=NOW).verdicts}
    for name in ("gatekeeper-k8srequiredlabels-stuck", "gatekeeper-k8srequiredlabels"):
        verdict = verdicts[name]
        assert (verdict.action, verdict.reason) == (Action.DELETE, Reason.OWNER_DELETED)
        assert "terminating" in verdict.detail


def test_row6_a_malformed_deletion_timestamp_is_undecided() -> None:
    c = terminating(live("K8sRequiredLabels", "odd"), ["2026"])
    assert judge([*gatekeeper(), c, stamp(make.binding(c))]) == {
        "gatekeeper-k8srequiredlabels-odd": (Action.UNDECIDED, Reason.UNDECIDED)
    }


def test_row2_a_terminating_constraint_claims_no_unowned_binding() -> None:
    c = terminating(live("K8sRequiredLabels", "stuck"))
    orphan = stamp(make.binding(c, owned=False))
    assert judge([*gatekeeper(), c, orphan], rules=replace(RULES, reasons=ALL)) == {
        orphan["metadata"]["name"]: (Action.DELETE, Reason.ORPHANED_UNOWNED)
    }


# --- row 6b: templates Gatekeeper rejects -------------------------------------------------


@pytest.mark.parametrize(
    "breakage",
    ["two-targets", "no-code", "name-not-kind"],
)
def test_row6b_a_rejected_template_keeps_its_policy_and_bindings(breakage: str) -> None:
    base = gatekeeper()
    template = base[1]
    if breakage == "two-targets":
        second = copy.deepcopy(template["spec"]["targets"][0])
        second["target"] = "other.example.com"
        template["spec"]["targets"].append(second)
    elif breakage == "no-code":
        template["spec"]["targets"][0]["code"] = []
    else:
        template["spec"]["crd"]["spec"]["names"]["kind"] = "K8sSomethingElse"
    c = live("K8sRequiredLabels", "c")
    quiet = live("K8sRequiredLabels", "quiet", scoped=[])
    objs = [*base, c, quiet, stamp(make.binding(c)), stamp(make.binding(quiet))]
    verdicts = judge(objs, policies=True)
    assert set(verdicts.values()) == {(Action.REPORT, Reason.TEMPLATE_INVALID)}
    assert len(verdicts) == 3


def test_row6b_an_unowned_policy_of_a_rejected_template_is_reported() -> None:
    base = gatekeeper(targets=2)
    orphan = stamp(make.policy(base[1], owned=False))
    assert judge([*base[:3], orphan], rules=replace(RULES, reasons=ALL), policies=True) == {
        "gatekeeper-k8srequiredlabels": (Action.REPORT, Reason.TEMPLATE_INVALID)
    }


# --- parsing never raises on wrongly typed fields -----------------------------------------


def test_a_crd_with_a_non_string_version_name_makes_its_kind_undecided() -> None:
    base = gatekeeper()
    base[2]["spec"]["versions"] = [{"name": {"v1": True}, "served": True}]
    gone = make.constraint("K8sRequiredLabels", "gone", uid="g")
    assert judge([*base, stamp(make.binding(gone))]) == {
        "gatekeeper-k8srequiredlabels-gone": (Action.UNDECIDED, Reason.UNDECIDED)
    }
