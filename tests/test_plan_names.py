"""The decision table on names (docs/decisions.md): an owner's names decide before what it
wants, every reading of an unowned binding's name counts, and an observed Gatekeeper version
decides which of the legacy and new names is managed (rows 7, 7b, 2, 8-9)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from planning import ALL, RULES, V3_22_0, gatekeeper, judge, live

from sweeper.core import gatekeeper as gk
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.reasons import Action, Reason
from sweeper.core.records import constraint_record
from sweeper.core.versions import Version, parse_version
from sweeper.testing import objects as make
from sweeper.testing.snapshot import stamp

# --- names decide before wants, every reading of an unowned name -------------------------


def test_row7b_an_owned_object_without_its_owners_name_is_kept_whatever_the_wish() -> None:
    """A copied ownerReference is no proof: Gatekeeper never made it and never deletes it."""
    unwanting = live("K8sRequiredLabels", "quiet", scoped=[])  # wants no binding
    wanting = live("K8sRequiredLabels", "loud")
    odd_quiet, odd_loud = stamp(make.binding(unwanting)), stamp(make.binding(wanting))
    odd_quiet["metadata"]["name"] = "team-extra-binding"
    odd_loud["metadata"]["name"] = "team-other-binding"
    verdicts = judge([*gatekeeper(), unwanting, wanting, odd_quiet, odd_loud])
    assert verdicts["team-extra-binding"] == (Action.REPORT, Reason.NAME_MISMATCH)
    assert verdicts["team-other-binding"] == (Action.REPORT, Reason.NAME_MISMATCH)
    off = gatekeeper(generate_vap=False)
    on = gatekeeper("K8sAllowedRepos")
    odd_off, odd_on = stamp(make.policy(off[1])), stamp(make.policy(on[1]))
    odd_off["metadata"]["name"], odd_on["metadata"]["name"] = "custom-off", "custom-on"
    verdicts = judge([*off, *on[1:], odd_off, odd_on], policies=True)
    assert verdicts["custom-off"] == (Action.REPORT, Reason.NAME_MISMATCH)
    assert verdicts["custom-on"] == (Action.REPORT, Reason.NAME_MISMATCH)


@pytest.mark.parametrize(
    "defaults",
    [
        GatekeeperDefaults(),
        GatekeeperDefaults(False, False),
        GatekeeperDefaults(version=Version(3, 22, 0)),
    ],
)
def test_row7_requires_one_of_the_owners_names(defaults: GatekeeperDefaults) -> None:
    """Legacy, new and truncated names are the owner's own; not-wanted deletes those only."""
    short = live("K8sRequiredLabels", "quiet", scoped=[])
    long = live("K8sRequiredLabels", "q" * 250, scoped=[])
    new, legacy = stamp(make.binding(short)), stamp(make.binding(short, legacy=True))
    truncated = stamp(make.binding(long))
    assert len(truncated["metadata"]["name"]) == gk.MAX_NAME_LENGTH
    verdicts = judge(
        [*gatekeeper(), short, long, new, legacy, truncated],
        rules=replace(RULES, gatekeeper=defaults),
    )
    assert set(verdicts.values()) == {(Action.DELETE, Reason.NOT_WANTED)}
    assert len(verdicts) == 3


def test_row7b_a_users_policy_tied_to_a_template_that_wants_none() -> None:
    """A template with generateVAP: false; the user's own policy carries a copied owner."""
    base = gatekeeper(generate_vap=False)
    mine = stamp(make.policy(base[1]))
    mine["metadata"]["name"] = "platform-required-labels"
    verdicts = judge([*base, mine], policies=True)
    assert verdicts["platform-required-labels"] == (Action.REPORT, Reason.NAME_MISMATCH)
    assert verdicts["gatekeeper-k8srequiredlabels"] == (Action.DELETE, Reason.NOT_WANTED)


def test_unowned_binding_wanted_under_another_reading_of_its_name_is_kept() -> None:
    """Fingerprinted as the legacy binding of gone X/k8sfoo-bar; live K8sFoo/bar wants the name."""
    base = gatekeeper() + gatekeeper("K8sFoo")[1:]
    wanted_by = live("K8sFoo", "bar")
    orphan = stamp(
        make.binding(
            make.constraint("K8sRequiredLabels", "k8sfoo-bar", uid="x"), legacy=True, owned=False
        )
    )
    assert orphan["metadata"]["name"] == gk.binding_name("K8sFoo", "bar")
    verdicts = judge([*base, wanted_by, orphan], rules=replace(RULES, reasons=ALL))
    assert verdicts["gatekeeper-k8sfoo-bar"] == (Action.KEEP, Reason.WANTED)


def test_unowned_binding_is_undecided_while_any_constraint_list_is_incomplete() -> None:
    orphan = stamp(make.binding(make.constraint("K8sRequiredLabels", "gone", uid="x"), owned=False))
    base = gatekeeper() + gatekeeper("K8sOther")[1:]
    verdicts = judge(
        [*base, orphan], rules=replace(RULES, reasons=ALL), failed=("constraints/k8sother",)
    )
    assert verdicts[orphan["metadata"]["name"]] == (Action.UNDECIDED, Reason.UNDECIDED)


def test_unowned_legacy_duplicate_is_reported() -> None:
    c = live("K8sRequiredLabels", "dup")
    objs = [
        *gatekeeper(),
        c,
        stamp(make.binding(c)),
        stamp(make.binding(c, legacy=True, owned=False)),
    ]
    assert judge(objs, rules=replace(RULES, reasons=ALL))["gatekeeper-dup"] == (
        Action.REPORT,
        Reason.LEGACY_DUPLICATE,
    )


def test_a_constraint_missing_fields_is_still_found_by_its_name() -> None:
    c = live("K8sRequiredLabels", "c")
    del c["kind"]
    key, record = constraint_record("K8sRequiredLabels", c)
    assert key == ("k8srequiredlabels", "c") and record.facts.problem


def test_row7b_a_name_another_constraint_wants_is_not_its_owners() -> None:
    """Owned by K8sRequiredLabels/bar (wanting none) but named for K8sRequiredLabels/baz:
    not one of bar's names, so kept and reported whatever bar wants."""
    bar = live("K8sRequiredLabels", "bar", scoped=[])
    baz = live("K8sRequiredLabels", "baz")
    odd = stamp(make.binding(bar))
    odd["metadata"]["name"] = gk.binding_name("K8sRequiredLabels", "baz")
    assert judge([*gatekeeper(), bar, baz, odd])[odd["metadata"]["name"]] == (
        Action.REPORT,
        Reason.NAME_MISMATCH,
    )


# --- rows 8-9 with an observed version ------------------------------------------------------


@pytest.mark.parametrize("version", ["v3.22.1", "v3.23.0-rc.0", "v3.23.0"])
def test_rows8_9_newer_versions_keep_the_new_name(version: str) -> None:
    dup = live("K8sRequiredLabels", "dup")
    objs = [*gatekeeper(), dup, stamp(make.binding(dup)), stamp(make.binding(dup, legacy=True))]
    rules = replace(RULES, gatekeeper=GatekeeperDefaults(version=parse_version(version)))
    assert judge(objs, rules=rules) == {
        "gatekeeper-k8srequiredlabels-dup": (Action.KEEP, Reason.WANTED),
        "gatekeeper-dup": (Action.DELETE, Reason.LEGACY_DUPLICATE),
    }


@pytest.mark.parametrize("version", [None, "v3.23.0-custom"])
def test_row8_version_unknown_holds_both_names(version: str | None) -> None:
    """Each name is the one some Gatekeeper version manages: neither goes, the pair is
    reported (reference, "Unknown version")."""
    dup = live("K8sRequiredLabels", "dup")
    objs = [*gatekeeper(), dup, stamp(make.binding(dup)), stamp(make.binding(dup, legacy=True))]
    rules = replace(RULES, gatekeeper=GatekeeperDefaults(version=parse_version(version)))
    assert judge(objs, rules=rules) == {
        "gatekeeper-k8srequiredlabels-dup": (Action.REPORT, Reason.LEGACY_DUPLICATE),
        "gatekeeper-dup": (Action.REPORT, Reason.LEGACY_DUPLICATE),
    }


def test_unowned_new_name_beside_a_managed_legacy_binding_is_reported() -> None:
    dup = live("K8sRequiredLabels", "dup")
    objs = [
        *gatekeeper(),
        dup,
        stamp(make.binding(dup, legacy=True)),
        stamp(make.binding(dup, owned=False)),
    ]
    rules = replace(RULES, gatekeeper=V3_22_0, reasons=ALL)
    assert judge(objs, rules=rules)["gatekeeper-k8srequiredlabels-dup"] == (
        Action.REPORT,
        Reason.LEGACY_DUPLICATE,
    )
