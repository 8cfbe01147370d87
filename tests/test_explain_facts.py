"""``sweeper explain``: the facts behind a decision (how an owner was proven found or absent,
incomplete lists, uids, names, claims, exclusions and holds, where the defaults came from), and
the text format that prints them."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from explaining import RULES, SCENARIOS, explained, gatekeeper, of
from test_scenarios import rules_for

from sweeper.core import observe
from sweeper.core.reasons import Reason
from sweeper.core.settings import compile_excludes
from sweeper.runs.explain import text_lines
from sweeper.testing import objects as make
from sweeper.testing.snapshot import stamp

# --- the facts -----------------------------------------------------------------------------


def test_how_an_owner_was_proven_found_or_absent() -> None:
    constraint = of("1-constraint-deleted")
    kept = constraint["gatekeeper-k8srequiredlabels-must-have-owner"].owner
    gone = constraint["gatekeeper-k8srequiredlabels-must-have-team"].owner
    assert kept is not None and gone is not None
    assert (kept.lookup.found, gone.lookup.found) == (True, False)
    assert gone.lookup.proof == (
        "not found in the complete LIST of K8sRequiredLabels constraints (1 item)"
    )
    assert kept.uid_matches is True and kept.terminating is False and kept.via == "ownerReference"
    kind_gone = of("2-template-deleted")["gatekeeper-k8sallowedrepos-prod-repos"].owner
    assert kind_gone is not None and kind_gone.lookup.found is False
    assert (
        "GET of CRD k8sallowedrepos.constraints.gatekeeper.sh answered 404"
        in kind_gone.lookup.proof
    )
    assert "discovery" in kind_gone.lookup.proof
    uninstalled = of("3-gatekeeper-uninstalled")["gatekeeper-k8srequiredlabels"].owner
    assert uninstalled is not None and uninstalled.lookup.found is False
    assert "constrainttemplates.templates.gatekeeper.sh answered 404" in uninstalled.lookup.proof
    template_gone = of("2-template-deleted")["gatekeeper-k8sallowedrepos"].owner
    assert template_gone is not None
    assert template_gone.lookup.proof.startswith(
        "not found in the complete LIST of ConstraintTemplates"
    )


def test_an_incomplete_list_proves_nothing_and_says_why() -> None:
    c = stamp(make.constraint("K8sRequiredLabels", "here"))
    found = explained(
        [*gatekeeper(), c, stamp(make.binding(c))], RULES, failed=("constraints/k8srequiredlabels",)
    )
    owner = found["gatekeeper-k8srequiredlabels-here"].owner
    assert owner is not None and owner.lookup.found is None
    assert owner.lookup.proof.startswith(
        "the LIST of K8sRequiredLabels constraints is incomplete: "
    )
    assert "503" in owner.lookup.proof
    assert found["gatekeeper-k8srequiredlabels-here"].wish is None


def test_uid_mismatch_terminating_owner_and_what_the_owner_wants() -> None:
    replaced = of("7-owner-replaced")["gatekeeper-k8srequiredlabels-recreated"]
    assert replaced.owner is not None and replaced.owner.uid_matches is False
    assert replaced.owner.live_uid not in (None, replaced.owner.uid)
    assert replaced.wish is not None and replaced.wish.want == "yes"
    stuck = of("6-terminating-owner")["gatekeeper-k8srequiredlabels-stuck"]
    assert stuck.owner is not None and stuck.owner.terminating is True
    off = of("4-defaults-off")["gatekeeper-k8srequiredlabels-implicit"].wish
    assert (
        off is not None and off.want == "no" and "--default-create-vap-for-templates off" in off.why
    )
    scoped = of("4-enforcement-point-removed")["gatekeeper-k8srequiredlabels-audit-only"].wish
    assert scoped is not None and scoped.why == "scoped without a vap.k8s.io or * point"
    rejected = of("6b-two-target-template")["gatekeeper-k8srequiredlabels"].wish
    assert rejected is not None and rejected.rejected and rejected.want == "unknown"


def test_names_the_owner_would_give_and_which_one_is_carried() -> None:
    upgrade = of("5-upgrade-legacy-duplicate")
    legacy = upgrade["gatekeeper-prod-repos"].names
    assert legacy is not None
    assert legacy.names == ("gatekeeper-k8sallowedrepos-prod-repos", "gatekeeper-prod-repos")
    assert legacy.managed == "gatekeeper-k8sallowedrepos-prod-repos"
    assert (legacy.carried, legacy.sibling, legacy.sibling_owned) == (
        "legacy",
        "gatekeeper-k8sallowedrepos-prod-repos",
        True,
    )
    sole = upgrade["gatekeeper-dev-repos"].names
    assert sole is not None and sole.carried == "legacy" and sole.sibling is None
    observed = of("8-observed-v3.22.0-both-names")["gatekeeper-prod-repos"]
    assert observed.names is not None and observed.names.managed == "gatekeeper-prod-repos"
    assert observed.gatekeeper.version == "v3.22.0"
    mismatch = of("7b-copied-owner-references")["platform-block-nodeport"].names
    assert mismatch is not None and mismatch.carried is None
    assert mismatch.names == ("gatekeeper-k8sblocknodeport",)
    assert of("users-gatekeeper-prefixed-objects")["gatekeeper-audit"].names is None


def test_an_unowned_binding_lists_the_constraints_that_claim_its_name() -> None:
    adopted = of("6-orphaned-by-cascade-default")["gatekeeper-k8srequiredlabels-adopted"]
    assert adopted.owner is not None and adopted.owner.via == "fingerprint"
    assert adopted.owner.uid is None and adopted.owner.uid_matches is None
    assert [(c.kind, c.name, c.wish.want) for c in adopted.claims] == [
        ("K8sRequiredLabels", "adopted", "yes")
    ]
    orphan = of("6-orphaned-by-cascade-default")["gatekeeper-k8srequiredlabels-cost-center"]
    assert orphan.claims == () and orphan.origin.startswith("no ownerReferences; Gatekeeper's")


def test_exclusions_and_holds_keep_the_row() -> None:
    skipped = make.constraint("K8sRequiredLabels", "skipped")
    skipped["metadata"]["annotations"] = {"sweeper.gatekeeper.sh/skip": "true"}
    c = stamp(skipped)
    gone = make.constraint("K8sRequiredLabels", "gone", uid="u-gone")
    objs = [*gatekeeper(generate_vap=False), c, stamp(make.binding(c)), stamp(make.binding(gone))]
    excluded = explained(objs, replace(RULES, exclude=compile_excludes(("-gone$", "nothing"))))
    by_owner = excluded["gatekeeper-k8srequiredlabels-skipped"]
    assert by_owner.exclusions.owner_skip_annotation and not by_owner.exclusions.skip_annotation
    assert (by_owner.decision.row, by_owner.decision.hold) == ("7", "excluded")
    by_pattern = excluded["gatekeeper-k8srequiredlabels-gone"]
    assert by_pattern.exclusions.patterns == ("-gone$",)
    assert (by_pattern.decision.row, by_pattern.decision.hold) == ("6", "excluded")
    young = explained(objs, replace(RULES, min_age=timedelta(hours=2)))[
        "gatekeeper-k8srequiredlabels-gone"
    ]
    assert young.exclusions.old_enough is False and young.exclusions.min_age_seconds == 7200
    assert (young.decision.row, young.decision.action, young.decision.hold) == (
        "6",
        "report",
        "too_young",
    )
    assert young.age_seconds == 3600
    unselected = explained(objs, replace(RULES, reasons=frozenset({Reason.NOT_WANTED})))
    gone_held = unselected["gatekeeper-k8srequiredlabels-gone"]
    assert (
        gone_held.exclusions.reason_selected is False and gone_held.decision.hold == "not_selected"
    )
    kept = of("1-constraint-deleted")["gatekeeper-k8srequiredlabels"]
    assert kept.exclusions.reason_selected is None  # "wanted" never deletes


def test_where_the_defaults_came_from_when_the_observation_is_given() -> None:
    s = SCENARIOS["7-observed-binding-default-off"]
    config = observe.resolve(observe.observe(s.deployments), vap_option=True)
    rules = replace(rules_for(s), gatekeeper=config.defaults)
    e = explained(s.objects, rules, config=config)["gatekeeper-k8srequiredlabels-implicit"]
    assert (e.gatekeeper.vap_source, e.gatekeeper.vapb_source) == ("option", "observed")
    assert (e.gatekeeper.create_vap, e.gatekeeper.create_vapb) == (True, False)
    assert "Gatekeeper v3.21.0" in e.gatekeeper.scheme
    assert of("1-constraint-deleted")["gatekeeper-k8srequiredlabels"].gatekeeper.vap_source is None


# --- text -----------------------------------------------------------------------------------


def test_text_is_aligned_lines_then_the_decision() -> None:
    e = of("1-constraint-deleted")["gatekeeper-k8srequiredlabels-must-have-team"]
    lines = text_lines(e)
    assert (
        lines[0] == "ValidatingAdmissionPolicyBinding gatekeeper-k8srequiredlabels-must-have-team"
    )
    assert (
        lines[-1] == "Decision: row 6, delete (owner-deleted): no constraint of that kind and name"
    )
    body = lines[1:-1]
    columns = {len(re.match(r"\s*[^:]*:\s*", line).group(0)) for line in body}
    assert len(columns) == 1, body  # every value starts in the same column
    keys = [line.split(":")[0].strip() for line in body]
    assert keys[:3] == ["uid", "created", "origin"] and "found" in keys and "exclusions" in keys
    assert "  created:    2026-01-01T00:00:00Z (1h old; --min-age 0s: old enough)" in lines
    held = text_lines(
        of("6-orphaned-by-cascade-default")["gatekeeper-k8srequiredlabels-cost-center"]
    )
    assert held[-1].startswith("Decision: row 2, report, held: not_selected (orphaned-unowned): ")
    assert any(line.endswith("orphaned-unowned not in --reasons") for line in held)
