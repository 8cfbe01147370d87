"""The fresh look right before a DELETE (``sweeper.core.recheck``): anything back, wanting, or
unparseable keeps the object; a still-terminating owner counts as gone (decision table,
last rule and row 6)."""

from __future__ import annotations

import copy
from dataclasses import replace

from planning import ALL, NOW, RULES, V3_22_0, V3_23_0, candidate, gatekeeper, live, terminating

from sweeper.core.plan import plan
from sweeper.core.reasons import Action, Reason
from sweeper.core.recheck import recheck_binding_name, still_deletable
from sweeper.core.verdicts import Recheck
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp


def test_still_deletable_owner_back_keeps_the_binding() -> None:
    gone = make.constraint("K8sRequiredLabels", "gone", uid="c")
    verdict, inventory = candidate([*gatekeeper(), stamp(make.binding(gone))])
    assert verdict.recheck is Recheck.CONSTRAINT
    assert still_deletable(verdict, None, inventory=inventory, rules=RULES)[0] is True
    back = stamp(make.constraint("K8sRequiredLabels", "gone"))
    assert still_deletable(verdict, back, inventory=inventory, rules=RULES)[0] is False


def test_still_deletable_not_wanted_rechecks_the_deciding_object() -> None:
    c = live("K8sRequiredLabels", "c", enforcement_action="scoped", scoped=[])
    verdict, inventory = candidate([*gatekeeper(), c, stamp(make.binding(c))])
    assert verdict.recheck is Recheck.CONSTRAINT
    assert still_deletable(verdict, c, inventory=inventory, rules=RULES)[0] is True
    wants_again = live("K8sRequiredLabels", "c")
    assert still_deletable(verdict, wants_again, inventory=inventory, rules=RULES)[0] is False
    broken = live("K8sRequiredLabels", "c")
    broken["spec"]["enforcementAction"] = {"not": "a string"}
    assert still_deletable(verdict, broken, inventory=inventory, rules=RULES)[0] is False

    base = gatekeeper(generate_vap=False)
    c2 = live("K8sRequiredLabels", "c2")
    verdict, inventory = candidate([*base, c2, stamp(make.binding(c2))])
    assert verdict.recheck is Recheck.TEMPLATE
    assert still_deletable(verdict, base[1], inventory=inventory, rules=RULES)[0] is True
    switched_on = stamp(make.template("K8sRequiredLabels", generate_vap=True))
    assert still_deletable(verdict, switched_on, inventory=inventory, rules=RULES)[0] is False


def test_still_deletable_crd_back_and_new_binding_gone() -> None:
    verdict, inventory = candidate(
        [*gatekeeper(), stamp(make.binding(make.constraint("K8sGone", "c", uid="u")))]
    )
    assert verdict.recheck is Recheck.CONSTRAINT_CRD
    assert (
        still_deletable(
            verdict, {"kind": "CustomResourceDefinition"}, inventory=inventory, rules=RULES
        )[0]
        is False
    )
    c = live("K8sRequiredLabels", "dup")
    new = stamp(make.binding(c))
    v3_23 = replace(RULES, gatekeeper=V3_23_0)
    verdict, inventory = candidate(
        [*gatekeeper(), c, new, stamp(make.binding(c, legacy=True))], v3_23
    )
    assert verdict.recheck is Recheck.NEW_BINDING
    assert still_deletable(verdict, new, inventory=inventory, rules=RULES)[0] is True
    assert still_deletable(verdict, None, inventory=inventory, rules=RULES)[0] is False


def test_unowned_binding_rechecks_the_template_when_the_template_decided() -> None:
    base = gatekeeper(generate_vap=False)
    c = live("K8sRequiredLabels", "c")
    orphan = stamp(make.binding(c, owned=False))
    inventory = snapshot([*base, c, orphan])
    verdict = plan(inventory, replace(RULES, reasons=ALL), now=NOW).deletions
    (binding,) = [v for v in verdict if v.obj.is_binding]
    assert binding.reason is Reason.ORPHANED_UNOWNED and binding.recheck is Recheck.TEMPLATE
    switched_on = stamp(make.template("K8sRequiredLabels", generate_vap=True))
    assert still_deletable(binding, switched_on, inventory=inventory, rules=RULES)[0] is False


def test_row6_recheck_accepts_a_still_terminating_owner_as_gone() -> None:
    c = terminating(live("K8sRequiredLabels", "stuck"))
    verdict, inventory = candidate([*gatekeeper(), c, stamp(make.binding(c))])
    assert verdict.recheck is Recheck.CONSTRAINT
    assert still_deletable(verdict, c, inventory=inventory, rules=RULES)[0] is True
    assert still_deletable(verdict, None, inventory=inventory, rules=RULES)[0] is True
    recreated = live("K8sRequiredLabels", "stuck")  # deleted, then created again
    assert still_deletable(verdict, recreated, inventory=inventory, rules=RULES)[0] is False
    broken = terminating(live("K8sRequiredLabels", "stuck"), {"not": "a time"})
    assert still_deletable(verdict, broken, inventory=inventory, rules=RULES)[0] is False
    # A not-wanted candidate whose owner started terminating since is gone too.
    quiet = live("K8sRequiredLabels", "quiet", scoped=[])
    verdict, inventory = candidate([*gatekeeper(), quiet, stamp(make.binding(quiet))])
    ending = terminating(copy.deepcopy(quiet))
    assert still_deletable(verdict, ending, inventory=inventory, rules=RULES) == (
        True,
        "owner still terminating",
    )


def test_row6b_recheck_of_a_template_rejected_since_keeps_the_policy() -> None:
    base = gatekeeper(generate_vap=False)
    verdict, inventory = candidate(base)
    assert verdict.reason is Reason.NOT_WANTED and verdict.recheck is Recheck.TEMPLATE
    rejected = copy.deepcopy(base[1])
    rejected["spec"]["targets"].append(copy.deepcopy(rejected["spec"]["targets"][0]))
    deletable, why = still_deletable(verdict, rejected, inventory=inventory, rules=RULES)
    assert deletable is False and "rejected" in why


def test_rows8_9_an_observed_v3_22_0_manages_the_legacy_name() -> None:
    dup = live("K8sRequiredLabels", "dup")
    sole_new = live("K8sRequiredLabels", "sole-new")
    objs = [
        *gatekeeper(),
        dup,
        sole_new,
        stamp(make.binding(dup)),
        stamp(make.binding(dup, legacy=True)),
        stamp(make.binding(sole_new)),
    ]
    inventory = snapshot(objs)
    result = plan(inventory, replace(RULES, gatekeeper=V3_22_0), now=NOW)
    verdicts = {v.obj.name: v for v in result.verdicts if v.obj.is_binding}
    assert {n: (v.action, v.reason) for n, v in verdicts.items()} == {
        "gatekeeper-k8srequiredlabels-dup": (Action.DELETE, Reason.LEGACY_DUPLICATE),
        "gatekeeper-dup": (Action.KEEP, Reason.WANTED),
        "gatekeeper-k8srequiredlabels-sole-new": (Action.KEEP, Reason.WANTED),
    }
    duplicate = verdicts["gatekeeper-k8srequiredlabels-dup"]
    assert "v3.22.0" in duplicate.detail and "legacy" in duplicate.detail
    assert duplicate.recheck is Recheck.LEGACY_BINDING
    assert recheck_binding_name(duplicate) == "gatekeeper-dup"
    rules = replace(RULES, gatekeeper=V3_22_0)
    legacy = next(o for o in objs if o["metadata"]["name"] == "gatekeeper-dup")
    assert still_deletable(duplicate, legacy, inventory=inventory, rules=rules)[0] is True
    assert still_deletable(duplicate, None, inventory=inventory, rules=rules)[0] is False
