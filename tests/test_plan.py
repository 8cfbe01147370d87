"""Table tests of the decision table (docs/decisions.md), one scenario per row, and the
holds applied after it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from planning import ALL, NOW, RULES, V3_23_0, gatekeeper, judge, live

from sweeper.core import gatekeeper as gk
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.plan import plan
from sweeper.core.reasons import Action, Reason
from sweeper.core.settings import Rules
from sweeper.core.verdicts import Hold
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp


def test_wanted_binding_and_policy_are_kept() -> None:
    base = gatekeeper()
    c = live("K8sRequiredLabels", "must-have-owner")
    objs = [*base, c, stamp(make.binding(c))]
    assert judge(objs, policies=True) == {
        "gatekeeper-k8srequiredlabels-must-have-owner": (Action.KEEP, Reason.WANTED),
        "gatekeeper-k8srequiredlabels": (Action.KEEP, Reason.WANTED),
    }


def test_row1_foreign_objects_are_ignored_even_with_the_prefix() -> None:
    user = stamp(make.foreign_binding("gatekeeper-k8srequiredlabels-x", policy_name="mine"))
    not_controller = stamp(make.binding(live("K8sRequiredLabels", "gone")))
    not_controller["metadata"]["ownerReferences"][0]["controller"] = False
    other_group = stamp(make.binding(live("K8sRequiredLabels", "other")))
    other_group["metadata"]["ownerReferences"][0]["apiVersion"] = "example.com/v1"
    verdicts = judge([*gatekeeper(), user, not_controller, other_group])
    assert set(verdicts.values()) == {(Action.IGNORE, Reason.FOREIGN)}


@pytest.mark.parametrize("include_unowned", [False, True])
def test_row2_orphaned_unowned_is_reported_unless_opted_in(include_unowned: bool) -> None:
    gone = make.constraint("K8sRequiredLabels", "orphan", uid="u-1")
    orphan = stamp(make.binding(gone, owned=False))
    rules = replace(RULES, reasons=ALL) if include_unowned else RULES
    result = plan(snapshot([*gatekeeper(), orphan]), rules, now=NOW).verdicts[0]
    assert result.reason is Reason.ORPHANED_UNOWNED
    assert result.action is (Action.DELETE if include_unowned else Action.REPORT)
    assert result.hold is (None if include_unowned else Hold.NOT_SELECTED)


def test_row2_unowned_binding_whose_constraint_wants_it_is_kept() -> None:
    c = live("K8sRequiredLabels", "adopted")
    unowned = stamp(make.binding(c, owned=False))
    assert judge([*gatekeeper(), c, unowned], rules=replace(RULES, reasons=ALL)) == {
        unowned["metadata"]["name"]: (Action.KEEP, Reason.WANTED)
    }


def test_row2_unowned_policy_with_fingerprint_of_a_deleted_template() -> None:
    template = make.template("K8sGone", uid="t-1")
    verdicts = judge(
        [*gatekeeper(), stamp(make.policy(template, owned=False))],
        rules=replace(RULES, reasons=ALL),
        policies=True,
    )
    assert verdicts == {
        "gatekeeper-k8sgone": (Action.DELETE, Reason.ORPHANED_UNOWNED),
        "gatekeeper-k8srequiredlabels": (Action.KEEP, Reason.WANTED),
    }


def test_row2_no_fingerprint_without_parameter_not_found_allow() -> None:
    orphan = stamp(make.binding(make.constraint("K8sRequiredLabels", "x", uid="u"), owned=False))
    orphan["spec"]["paramRef"]["parameterNotFoundAction"] = "Deny"
    assert judge([*gatekeeper(), orphan]) == {
        orphan["metadata"]["name"]: (Action.IGNORE, Reason.FOREIGN)
    }


@pytest.mark.parametrize(
    ("failed", "expected"),
    [
        (("constraints/k8srequiredlabels",), (Action.UNDECIDED, Reason.UNDECIDED)),
        (("crds", "crd/k8srequiredlabels"), (Action.UNDECIDED, Reason.UNDECIDED)),
        (("templates",), (Action.UNDECIDED, Reason.UNDECIDED)),
        # A failed CRD list alone is made up for by a GET of the owner's CRD.
        (("crds",), (Action.DELETE, Reason.OWNER_DELETED)),
    ],
    ids=["constraints-list", "crd-list-and-get", "templates-list", "crd-list-only"],
)
def test_row3_a_failed_list_makes_owner_gone_undecided(
    failed: tuple[str, ...], expected: tuple[Action, Reason]
) -> None:
    gone = make.constraint("K8sRequiredLabels", "gone", uid="u-gone")
    binding = stamp(make.binding(gone))
    if "templates" in failed:  # a live constraint: only the wants need the templates
        c = live("K8sRequiredLabels", "here")
        binding = stamp(make.binding(c))
        objs = [*gatekeeper(), c, binding]
    else:
        objs = [*gatekeeper(), binding]
    assert judge(objs, failed=failed)[binding["metadata"]["name"]] == expected


def test_row3_failed_templates_list_makes_policy_undecided() -> None:
    base = gatekeeper()
    assert judge(base, failed=("templates",), policies=True) == {
        "gatekeeper-k8srequiredlabels": (Action.UNDECIDED, Reason.UNDECIDED)
    }


def test_row3_malformed_gatekeeper_object_is_undecided() -> None:
    broken = stamp(make.binding(make.constraint("K8sRequiredLabels", "b", uid="u")))
    del broken["metadata"]["resourceVersion"]
    assert judge([*gatekeeper(), broken])[broken["metadata"]["name"]] == (
        Action.UNDECIDED,
        Reason.UNDECIDED,
    )


def test_row4_gatekeeper_uninstalled_takes_every_owned_object() -> None:
    template = make.template("K8sRequiredLabels", uid="t")
    c = make.constraint("K8sRequiredLabels", "c", uid="c")
    foreign = stamp(make.foreign_binding("gatekeeper-mine", policy_name="mine"))
    verdicts = judge([stamp(make.policy(template)), stamp(make.binding(c)), foreign], policies=True)
    assert verdicts == {
        "gatekeeper-k8srequiredlabels": (Action.DELETE, Reason.GATEKEEPER_UNINSTALLED),
        "gatekeeper-k8srequiredlabels-c": (Action.DELETE, Reason.GATEKEEPER_UNINSTALLED),
        "gatekeeper-mine": (Action.IGNORE, Reason.FOREIGN),
    }


def test_row4_unknown_template_crd_is_undecided_for_policies() -> None:
    base = gatekeeper()
    assert judge(base, failed=("template-crd",), policies=True) == {
        "gatekeeper-k8srequiredlabels": (Action.UNDECIDED, Reason.UNDECIDED)
    }


def test_row5_owner_kind_gone() -> None:
    c = make.constraint("K8sGoneKind", "c", uid="c")
    assert judge([*gatekeeper(), stamp(make.binding(c))]) == {
        "gatekeeper-k8sgonekind-c": (Action.DELETE, Reason.OWNER_KIND_GONE)
    }


def test_row6_owner_deleted_binding_and_policy() -> None:
    gone_c = make.constraint("K8sRequiredLabels", "gone", uid="c")
    gone_t = make.template("K8sOther", uid="t")
    verdicts = judge(
        [*gatekeeper(), stamp(make.binding(gone_c)), stamp(make.policy(gone_t))], policies=True
    )
    assert verdicts == {
        "gatekeeper-k8srequiredlabels": (Action.KEEP, Reason.WANTED),
        "gatekeeper-k8srequiredlabels-gone": (Action.DELETE, Reason.OWNER_DELETED),
        "gatekeeper-k8sother": (Action.DELETE, Reason.OWNER_DELETED),
    }


def test_row6_same_name_other_kind_does_not_keep_a_binding() -> None:
    """Two kinds, one constraint name: only the owner's own kind counts."""
    base = gatekeeper() + gatekeeper("K8sAllowedRepos")[1:]
    repos = live("K8sAllowedRepos", "shared")
    gone = make.constraint("K8sRequiredLabels", "shared", uid="c")
    verdicts = judge([*base, repos, stamp(make.binding(repos)), stamp(make.binding(gone))])
    assert verdicts == {
        "gatekeeper-k8sallowedrepos-shared": (Action.KEEP, Reason.WANTED),
        "gatekeeper-k8srequiredlabels-shared": (Action.DELETE, Reason.OWNER_DELETED),
    }


@pytest.mark.parametrize(
    ("template_options", "constraint_options", "defaults"),
    [
        ({"generate_vap": False}, {}, GatekeeperDefaults()),
        ({"cel": False}, {}, GatekeeperDefaults()),
        (
            {},
            {
                "scoped": [
                    {"action": "deny", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]}
                ]
            },
            GatekeeperDefaults(),
        ),
        ({}, {}, GatekeeperDefaults(create_vapb=False)),
        ({}, {}, GatekeeperDefaults(create_vap=False)),
    ],
    ids=[
        "generateVAP-false",
        "no-cel-engine",
        "scoped-without-vap",
        "vapb-default-off",
        "vap-default-off",
    ],
)
def test_row7_not_wanted_binding(
    template_options: dict, constraint_options: dict, defaults: GatekeeperDefaults
) -> None:
    c = live("K8sRequiredLabels", "c", **constraint_options)
    rules = replace(RULES, gatekeeper=defaults)
    verdicts = judge([*gatekeeper(**template_options), c, stamp(make.binding(c))], rules=rules)
    assert verdicts == {"gatekeeper-k8srequiredlabels-c": (Action.DELETE, Reason.NOT_WANTED)}


@pytest.mark.parametrize("point", ["vap.k8s.io", "*"])
def test_row7_scoped_with_vap_point_is_wanted(point: str) -> None:
    c = live(
        "K8sRequiredLabels",
        "c",
        scoped=[{"action": "warn", "enforcementPoints": [{"name": point}]}],
    )
    assert judge([*gatekeeper(), c, stamp(make.binding(c, action="Warn"))]) == {
        "gatekeeper-k8srequiredlabels-c": (Action.KEEP, Reason.WANTED)
    }


def test_row7_not_wanted_policy_and_explicit_generate_vap_beats_default() -> None:
    off = gatekeeper(generate_vap=False)
    on = gatekeeper("K8sAllowedRepos", generate_vap=True)
    rules = replace(RULES, gatekeeper=GatekeeperDefaults(create_vap=False))
    verdicts = judge([*off, *on[1:]], rules=rules, policies=True)
    assert verdicts == {
        "gatekeeper-k8srequiredlabels": (Action.DELETE, Reason.NOT_WANTED),
        "gatekeeper-k8sallowedrepos": (Action.KEEP, Reason.WANTED),
    }


def test_row7_unparseable_template_is_undecided() -> None:
    base = gatekeeper()
    base[1]["spec"]["targets"] = "not-a-list"
    c = live("K8sRequiredLabels", "c")
    verdicts = judge([*base, c, stamp(make.binding(c))], policies=True)
    assert set(verdicts.values()) == {(Action.UNDECIDED, Reason.UNDECIDED)}


def test_row7_block_vapb_annotation_never_makes_a_binding_stale() -> None:
    base = gatekeeper(annotations={gk.BLOCK_VAPB_ANNOTATION: "2999-01-01T00:00:00Z"})
    c = live("K8sRequiredLabels", "c")
    assert judge([*base, c, stamp(make.binding(c))]) == {
        "gatekeeper-k8srequiredlabels-c": (Action.KEEP, Reason.WANTED)
    }


def test_rows8_9_legacy_binding_duplicate_or_sole() -> None:
    c = live("K8sRequiredLabels", "dup")
    sole = live("K8sRequiredLabels", "sole")
    objs = [
        *gatekeeper(),
        c,
        sole,
        stamp(make.binding(c)),
        stamp(make.binding(c, legacy=True)),
        stamp(make.binding(sole, legacy=True)),
    ]
    assert judge(objs, rules=replace(RULES, gatekeeper=V3_23_0)) == {
        "gatekeeper-k8srequiredlabels-dup": (Action.KEEP, Reason.WANTED),
        "gatekeeper-dup": (Action.DELETE, Reason.LEGACY_DUPLICATE),
        "gatekeeper-sole": (Action.KEEP, Reason.WANTED),
    }


def test_row8_legacy_name_colliding_with_a_new_name_is_decided_by_owner() -> None:
    """Legacy ``gatekeeper-k8sfoo-bar`` (constraint k8sfoo-bar) is also K8sFoo/bar's new name."""
    base = gatekeeper() + gatekeeper("K8sFoo")[1:]
    legacy_owner = live("K8sRequiredLabels", "k8sfoo-bar")
    new_owner = live("K8sFoo", "bar")
    legacy = stamp(make.binding(legacy_owner, legacy=True))
    assert legacy["metadata"]["name"] == gk.binding_name("K8sFoo", "bar")
    # Only the legacy one exists: it is the K8sRequiredLabels constraint's sole binding.
    assert judge([*base, legacy_owner, new_owner, legacy]) == {
        "gatekeeper-k8sfoo-bar": (Action.KEEP, Reason.WANTED)
    }


def test_row10_owner_replaced_is_kept_and_reported() -> None:
    c = live("K8sRequiredLabels", "c")
    old = stamp(make.binding(make.constraint("K8sRequiredLabels", "c", uid="old-uid")))
    assert judge([*gatekeeper(), c, old]) == {
        "gatekeeper-k8srequiredlabels-c": (Action.REPORT, Reason.OWNER_REPLACED)
    }


def test_row10_owner_replaced_but_not_wanted_is_not_wanted() -> None:
    c = live("K8sRequiredLabels", "c", enforcement_action="scoped", scoped=[])
    old = stamp(make.binding(make.constraint("K8sRequiredLabels", "c", uid="old-uid")))
    assert judge([*gatekeeper(), c, old]) == {
        "gatekeeper-k8srequiredlabels-c": (Action.DELETE, Reason.NOT_WANTED)
    }


def test_row11_policy_missing_is_kept_and_reported() -> None:
    c = live("K8sRequiredLabels", "c")
    base = gatekeeper()
    without_policy = base[:3]
    verdicts = judge([*without_policy, c, stamp(make.binding(c))])
    assert verdicts["gatekeeper-k8srequiredlabels-c"] == (Action.REPORT, Reason.POLICY_MISSING)
    with_policy = judge([*base, c, stamp(make.binding(c))])
    assert with_policy["gatekeeper-k8srequiredlabels-c"] == (Action.KEEP, Reason.WANTED)


def test_truncated_name_of_a_long_constraint_is_wanted() -> None:
    c = live("K8sRequiredLabels", "x" * 250)
    binding = stamp(make.binding(c))
    assert len(binding["metadata"]["name"]) <= gk.MAX_NAME_LENGTH
    base = gatekeeper()
    assert judge([*base, c, binding])[binding["metadata"]["name"]] == (Action.KEEP, Reason.WANTED)


def test_v1beta1_objects_are_judged_alike() -> None:
    gone = make.constraint("K8sRequiredLabels", "gone", uid="c")
    binding = stamp(make.binding(gone, api_version="admissionregistration.k8s.io/v1beta1"))
    assert judge([*gatekeeper(), binding], vap_version="v1beta1") == {
        "gatekeeper-k8srequiredlabels-gone": (Action.DELETE, Reason.OWNER_DELETED)
    }


# --- the holds applied after the table ----------------------------------------------------


def _held(binding: dict, rules: Rules) -> Hold | None:
    return plan(snapshot([*gatekeeper(), binding]), rules, now=NOW).verdicts[0].hold


def test_too_young_excluded_and_not_selected() -> None:
    gone = make.constraint("K8sRequiredLabels", "gone", uid="c")
    fresh = stamp(make.binding(gone), created="2026-01-01T00:59:00Z")
    assert _held(fresh, replace(RULES, min_age=timedelta(minutes=5))) is Hold.TOO_YOUNG
    old = stamp(make.binding(gone), created="2026-01-01T00:00:00Z")
    assert _held(old, replace(RULES, min_age=timedelta(minutes=5))) is None
    skipped = stamp(make.binding(gone))
    skipped["metadata"]["annotations"] = {"sweeper.gatekeeper.sh/skip": "true"}
    assert _held(skipped, RULES) is Hold.EXCLUDED
    assert _held(old, replace(RULES, exclude=(re.compile("must-not|-gone$"),))) is Hold.EXCLUDED
    assert _held(old, replace(RULES, reasons=frozenset({Reason.NOT_WANTED}))) is Hold.NOT_SELECTED


def test_owner_skip_annotation_excludes_its_binding() -> None:
    c = live("K8sRequiredLabels", "c", enforcement_action="scoped", scoped=[])
    c["metadata"]["annotations"] = {"sweeper.gatekeeper.sh/skip": "true"}
    result = plan(snapshot([*gatekeeper(), c, stamp(make.binding(c))]), RULES, now=NOW)
    assert result.verdicts[0].reason is Reason.NOT_WANTED
    assert result.verdicts[0].hold is Hold.EXCLUDED
