"""``sweeper explain`` names the decision-table row of every case: each corpus scenario and each
failed read reaches the row whose verdict and reason columns it agrees with
(docs/decisions.md), and together they reach every row."""

from __future__ import annotations

from dataclasses import replace

import pytest
from explaining import ALL, RULES, SCENARIOS, explained, gatekeeper, of

from sweeper.testing import objects as make
from sweeper.testing.snapshot import stamp

# --- the row of every row of the decision table (docs/decisions.md) ----------------

CORPUS_ROWS = [
    ("users-gatekeeper-prefixed-objects", "gatekeeper-audit", "1", "ignore"),
    ("users-gatekeeper-prefixed-objects", "gatekeeper-handmade", "1", "ignore"),
    ("6-orphaned-by-cascade-default", "gatekeeper-k8srequiredlabels-cost-center", "2", "report"),
    ("6-orphaned-by-cascade-opted-in", "gatekeeper-k8srequiredlabels-cost-center", "2", "delete"),
    ("6-orphaned-by-cascade-default", "gatekeeper-k8srequiredlabels-adopted", "2", "keep"),
    ("3-gatekeeper-uninstalled", "gatekeeper-k8srequiredlabels-must-have-owner", "4", "delete"),
    ("3-gatekeeper-uninstalled", "gatekeeper-k8srequiredlabels", "4", "delete"),
    ("2-template-deleted", "gatekeeper-k8sallowedrepos-prod-repos", "5", "delete"),
    ("2-template-deleted", "gatekeeper-k8sallowedrepos", "6", "delete"),
    ("1-constraint-deleted", "gatekeeper-k8srequiredlabels-must-have-team", "6", "delete"),
    ("6-terminating-owner", "gatekeeper-k8srequiredlabels-stuck", "6", "delete"),
    ("6b-two-target-template", "gatekeeper-k8srequiredlabels-must-have-owner", "6b", "report"),
    ("6b-two-target-template", "gatekeeper-k8srequiredlabels", "6b", "report"),
    ("4-enforcement-point-removed", "gatekeeper-k8srequiredlabels-audit-only", "7", "delete"),
    ("4-enforcement-point-removed", "gatekeeper-k8scontainerlimits", "7", "delete"),
    ("4-defaults-off", "gatekeeper-k8srequiredlabels-implicit", "7", "delete"),
    ("7b-copied-owner-references", "platform-no-nodeport", "7b", "report"),
    ("7b-copied-owner-references", "platform-block-nodeport", "7b", "report"),
    ("5-upgrade-legacy-duplicate", "gatekeeper-prod-repos", "8", "delete"),
    ("legacy-new-name-collision", "gatekeeper-k8sfoo-bar", "8", "delete"),
    ("8-observed-v3.22.0-both-names", "gatekeeper-k8sallowedrepos-prod-repos", "8", "delete"),
    ("5-upgrade-legacy-duplicate", "gatekeeper-dev-repos", "9", "keep"),
    ("8-observed-v3.22.0-both-names", "gatekeeper-k8sallowedrepos-dev-repos", "9", "keep"),
    ("7-owner-replaced", "gatekeeper-k8srequiredlabels-recreated", "10", "report"),
    ("8-policy-missing", "gatekeeper-k8srequiredlabels-waiting-for-policy", "11", "report"),
    ("5-upgrade-legacy-duplicate", "gatekeeper-k8sallowedrepos-prod-repos", "12", "keep"),
    ("8-observed-v3.22.0-both-names", "gatekeeper-prod-repos", "12", "keep"),
    ("1-constraint-deleted", "gatekeeper-k8srequiredlabels", "12", "keep"),
]


@pytest.mark.parametrize(
    ("scenario", "name", "row", "action"), CORPUS_ROWS, ids=[f"{r[2]}-{r[1]}" for r in CORPUS_ROWS]
)
def test_the_row_of_each_case_of_the_corpus(
    scenario: str, name: str, row: str, action: str
) -> None:
    decision = of(scenario)[name].decision
    assert (decision.row, decision.action) == (row, action)


def test_row3_every_failed_read_that_leaves_an_object_undecided() -> None:
    gone = make.constraint("K8sRequiredLabels", "gone", uid="u-gone")
    c = stamp(make.constraint("K8sRequiredLabels", "here"))
    objs = [*gatekeeper(), c, stamp(make.binding(c)), stamp(make.binding(gone))]
    by_constraints = explained(objs, RULES, failed=("constraints/k8srequiredlabels",))
    by_templates = explained(objs, RULES, failed=("templates",))
    broken = stamp(make.binding(make.constraint("K8sRequiredLabels", "b", uid="u")))
    del broken["metadata"]["resourceVersion"]
    by_object = explained([*gatekeeper(), broken], RULES)
    cases = [
        by_constraints["gatekeeper-k8srequiredlabels-gone"],
        by_constraints["gatekeeper-k8srequiredlabels-here"],
        by_templates["gatekeeper-k8srequiredlabels-here"],
        by_templates["gatekeeper-k8srequiredlabels"],
        by_object["gatekeeper-k8srequiredlabels-b"],
    ]
    assert {(e.decision.row, e.decision.action) for e in cases} == {("3", "undecided")}
    assert by_object["gatekeeper-k8srequiredlabels-b"].problem is not None


def test_row2_covers_every_verdict_of_an_unowned_binding_but_undecided_and_6b() -> None:
    c = stamp(make.constraint("K8sRequiredLabels", "dup"))
    duplicate = stamp(make.binding(c, legacy=True, owned=False))
    found = explained(
        [*gatekeeper(), c, stamp(make.binding(c)), duplicate], replace(RULES, reasons=ALL)
    )
    assert (found["gatekeeper-dup"].decision.row, found["gatekeeper-dup"].decision.reason) == (
        "2",
        "legacy-duplicate",
    )
    orphan = stamp(make.binding(make.constraint("K8sRequiredLabels", "o", uid="x"), owned=False))
    undecided = explained([*gatekeeper(), orphan], RULES, failed=("constraints/k8srequiredlabels",))
    assert undecided["gatekeeper-k8srequiredlabels-o"].decision.row == "3"
    claimant = stamp(make.constraint("K8sRequiredLabels", "r"))
    unowned = stamp(make.binding(claimant, owned=False))
    rejected = explained([*gatekeeper(targets=2), claimant, unowned], RULES)
    assert rejected["gatekeeper-k8srequiredlabels-r"].decision.row == "6b"


# What each row's verdict and reason column says (docs/decisions.md); a held delete
# row is reported.
ROW_REASONS = {
    "1": {"foreign"},
    "2": {"orphaned-unowned", "wanted", "legacy-duplicate"},
    "3": {"undecided"},
    "4": {"gatekeeper-uninstalled"},
    "5": {"owner-kind-gone"},
    "6": {"owner-deleted"},
    "6b": {"template-invalid"},
    "7": {"not-wanted"},
    "7b": {"name-mismatch"},
    "8": {"legacy-duplicate"},
    "9": {"wanted"},
    "10": {"owner-replaced"},
    "11": {"policy-missing"},
    "12": {"wanted"},
}
ROW_ACTIONS = {
    "1": {"ignore"},
    "2": {"report", "delete", "keep"},
    "3": {"undecided"},
    "6b": {"report"},
    "7b": {"report"},
    "8": {"delete", "report"},  # report: the version unknown, the pair is held
    "9": {"keep"},
    "10": {"report"},
    "11": {"report"},
    "12": {"keep"},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_row_of_the_corpus_agrees_with_the_table(scenario: str) -> None:
    for name, e in of(scenario).items():
        d = e.decision
        assert d.reason in ROW_REASONS[d.row], (name, d)
        expected = ROW_ACTIONS.get(d.row, {"delete", "report"} if d.hold else {"delete"})
        assert d.action in expected, (name, d)


def test_the_corpus_and_the_row3_cases_reach_every_row() -> None:
    rows = {e.decision.row for s in SCENARIOS for e in of(s).values()}
    assert rows | {"3"} == set(ROW_REASONS)
