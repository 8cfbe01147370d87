"""Plan: the decision table of ``gatekeeper-reference.md``, as pure functions.

``plan(inventory, rules, now)`` gives one ``Verdict`` per VAP and VAPB: ignore, keep,
report, undecided or delete, with the row's reason. ``still_deletable`` re-judges one
candidate against a fresh read of the object that decided it, right before the DELETE.
No I/O and no clock here: ``now`` is passed in. Undecided is never deleted.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sweeper import gatekeeper as gk
from sweeper.inventory import (
    TEMPLATE_KEY,
    AdmissionObject,
    Inventory,
    Presence,
    constraints_list_name,
)
from sweeper.reasons import Action, Reason
from sweeper.settings import Rules


class Hold(enum.StrEnum):
    """Why a deletion candidate is kept this run; the value is its log event."""

    TOO_YOUNG = "too_young"
    EXCLUDED = "excluded"
    NOT_SELECTED = "reported"


class Recheck(enum.Enum):
    """The object to read again right before a DELETE: the one whose state decided it."""

    TEMPLATE_CRD = "template-crd"
    CONSTRAINT_CRD = "constraint-crd"
    CONSTRAINT = "constraint"
    TEMPLATE = "template"
    NEW_BINDING = "new-binding"


@dataclass(frozen=True, slots=True)
class Owner:
    """Who an object belongs to (by controller ownerReference, or by its fingerprint)."""

    kind: str  # as written in the ownerReference; lower-case when from a fingerprint
    name: str
    uid: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Verdict:
    obj: AdmissionObject
    action: Action
    reason: Reason
    detail: str
    owner: Owner | None = None
    recheck: Recheck | None = None
    hold: Hold | None = None

    @property
    def is_candidate(self) -> bool:
        """A delete-row verdict, whether or not it is acted on this run."""
        return self.action is Action.DELETE or self.hold is not None


@dataclass(frozen=True)
class Plan:
    verdicts: tuple[Verdict, ...]

    @property
    def deletions(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.action is Action.DELETE)


def plan(inventory: Inventory, rules: Rules, *, now: datetime) -> Plan:
    """Judge every listed VAPB and VAP, then hold back candidates this run must not delete."""
    judge = _Judge(inventory, rules)
    verdicts = [judge.binding(obj) for obj in inventory.bindings]
    verdicts += [judge.policy(obj) for obj in inventory.policies]
    return Plan(tuple(select(v, inventory=inventory, rules=rules, now=now) for v in verdicts))


def select(verdict: Verdict, *, inventory: Inventory, rules: Rules, now: datetime) -> Verdict:
    """Apply min-age, exclusions and ``--reasons`` to a delete verdict (reference, last rule)."""
    if verdict.action is not Action.DELETE:
        return verdict
    obj = verdict.obj
    hold = None
    if obj.created is None or now - obj.created < rules.min_age:
        hold = Hold.TOO_YOUNG
    elif (
        obj.skip
        or _owner_skipped(verdict, inventory)
        or any(pattern.search(obj.name) for pattern in rules.exclude)
    ):
        hold = Hold.EXCLUDED
    elif verdict.reason not in rules.reasons:
        hold = Hold.NOT_SELECTED
    return verdict if hold is None else replace(verdict, action=Action.REPORT, hold=hold)


def _owner_skipped(verdict: Verdict, inventory: Inventory) -> bool:
    owner = verdict.owner
    if owner is None:
        return False
    if verdict.obj.is_binding:
        record = inventory.constraints.get((owner.kind.lower(), owner.name))
    else:
        record = inventory.templates.get(owner.name)
    return record is not None and record.skip


class _Judge:
    """The decision table's rows, evaluated top to bottom for one object at a time."""

    def __init__(self, inventory: Inventory, rules: Rules) -> None:
        self.inv = inventory
        self.defaults = rules.gatekeeper
        self.bindings_by_name = {obj.name: obj for obj in inventory.bindings}
        self.policy_names = {obj.name for obj in inventory.policies}

    # --- VAPB ----------------------------------------------------------------------------

    def binding(self, obj: AdmissionObject) -> Verdict:
        ref = obj.owner
        if ref is None or ref.group != gk.CONSTRAINTS_GROUP:
            return self._unowned(obj)
        owner = Owner(ref.kind, ref.name, ref.uid)
        if obj.problem:
            return _verdict(obj, Action.UNDECIDED, Reason.UNDECIDED, obj.problem, owner)
        kind = ref.kind.lower()
        if self.inv.template_crd is Presence.ABSENT:
            return _delete(
                obj,
                Reason.GATEKEEPER_UNINSTALLED,
                f"CRD {gk.TEMPLATE_CRD_NAME} is gone",
                owner,
                Recheck.TEMPLATE_CRD,
            )
        presence = self.inv.kinds.get(kind, Presence.UNKNOWN)
        if presence is Presence.ABSENT:
            return _delete(
                obj,
                Reason.OWNER_KIND_GONE,
                f"CRD {gk.constraint_crd_name(kind)} is gone",
                owner,
                Recheck.CONSTRAINT_CRD,
            )
        if presence is Presence.UNKNOWN or not self.inv.complete(constraints_list_name(kind)):
            return _undecided(obj, f"list of {ref.kind} constraints incomplete", owner)
        record = self.inv.constraints.get((kind, ref.name))
        if record is None:
            return _delete(
                obj, Reason.OWNER_DELETED, "owner constraint is gone", owner, Recheck.CONSTRAINT
            )
        decision, recheck = self._binding_wanted(kind, record.facts)
        if decision.want is gk.Want.UNKNOWN:
            return _undecided(obj, decision.why, owner)
        if decision.want is gk.Want.NO:
            return _delete(obj, Reason.NOT_WANTED, decision.why, owner, recheck)
        wanted_name = gk.binding_name(ref.kind, ref.name)
        if obj.name != wanted_name:
            if obj.name != gk.legacy_binding_name(ref.name):
                return _verdict(
                    obj,
                    Action.REPORT,
                    Reason.NAME_MISMATCH,
                    f"Gatekeeper names this binding {wanted_name}",
                    owner,
                )
            if self._owned_by(self.bindings_by_name.get(wanted_name), ref):
                return _delete(
                    obj,
                    Reason.LEGACY_DUPLICATE,
                    f"{wanted_name} enforces the same constraint",
                    owner,
                    Recheck.NEW_BINDING,
                )
            return _verdict(
                obj,
                Action.KEEP,
                Reason.WANTED,
                "legacy name, still in use (Gatekeeper <= v3.22.0)",
                owner,
            )
        if record.uid != ref.uid:
            return _verdict(
                obj,
                Action.REPORT,
                Reason.OWNER_REPLACED,
                "owner re-created with a new uid; Gatekeeper re-adopts it",
                owner,
            )
        if self.inv.complete("policies") and obj.policy_name not in self.policy_names:
            return _verdict(
                obj,
                Action.REPORT,
                Reason.POLICY_MISSING,
                f"policy {obj.policy_name} does not exist; Gatekeeper re-creates it",
                owner,
            )
        return _verdict(obj, Action.KEEP, Reason.WANTED, "wanted by its constraint", owner)

    def _binding_wanted(
        self, kind: str, facts: gk.ConstraintFacts
    ) -> tuple[gk.WantDecision, Recheck]:
        """Whether Gatekeeper wants a binding for the constraint, and whose state says so."""
        if not self.inv.complete("templates"):
            return gk.WantDecision(
                gk.Want.UNKNOWN, "list of templates incomplete"
            ), Recheck.CONSTRAINT
        template = self.inv.templates.get(gk.template_name_for_kind(kind))
        tfacts = template.facts if template else None
        policy = gk.wants_policy(tfacts, self.defaults) if tfacts else None
        recheck = (
            Recheck.TEMPLATE
            if policy is None or policy.want is not gk.Want.YES
            else Recheck.CONSTRAINT
        )
        return gk.wants_binding(facts, template=tfacts, defaults=self.defaults), recheck

    @staticmethod
    def _owned_by(obj: AdmissionObject | None, ref: gk.OwnerRef) -> bool:
        return (
            obj is not None
            and obj.owner is not None
            and obj.owner.group == gk.CONSTRAINTS_GROUP
            and obj.owner.kind.lower() == ref.kind.lower()
            and obj.owner.name == ref.name
        )

    # --- VAP -----------------------------------------------------------------------------

    def policy(self, obj: AdmissionObject) -> Verdict:
        ref = obj.owner
        if ref is None or ref.group != gk.TEMPLATES_GROUP or ref.kind != gk.TEMPLATE_KIND:
            return self._unowned(obj)
        owner = Owner(ref.kind, ref.name, ref.uid)
        if obj.problem:
            return _verdict(obj, Action.UNDECIDED, Reason.UNDECIDED, obj.problem, owner)
        if self.inv.template_crd is Presence.ABSENT:
            return _delete(
                obj,
                Reason.GATEKEEPER_UNINSTALLED,
                f"CRD {gk.TEMPLATE_CRD_NAME} is gone",
                owner,
                Recheck.TEMPLATE_CRD,
            )
        if not self.inv.complete("templates"):
            return _undecided(obj, "list of templates incomplete", owner)
        record = self.inv.templates.get(ref.name)
        if record is None:
            return _delete(
                obj, Reason.OWNER_DELETED, "owner template is gone", owner, Recheck.TEMPLATE
            )
        decision = gk.wants_policy(record.facts, self.defaults)
        if decision.want is gk.Want.UNKNOWN:
            return _undecided(obj, decision.why, owner)
        if decision.want is gk.Want.NO:
            return _delete(obj, Reason.NOT_WANTED, decision.why, owner, Recheck.TEMPLATE)
        if obj.name != gk.policy_name(ref.name):
            return _verdict(
                obj,
                Action.REPORT,
                Reason.NAME_MISMATCH,
                f"Gatekeeper names this policy {gk.policy_name(ref.name)}",
                owner,
            )
        if record.uid != ref.uid:
            return _verdict(
                obj,
                Action.REPORT,
                Reason.OWNER_REPLACED,
                "owner re-created with a new uid; Gatekeeper re-adopts it",
                owner,
            )
        return _verdict(obj, Action.KEEP, Reason.WANTED, "wanted by its template", owner)

    # --- no Gatekeeper owner -------------------------------------------------------------

    def _unowned(self, obj: AdmissionObject) -> Verdict:
        """Rows 1-2: foreign, unless it has no owner at all and Gatekeeper's fingerprint."""
        if obj.has_owner_refs or obj.fingerprint is None:
            return _verdict(obj, Action.IGNORE, Reason.FOREIGN, "not generated by Gatekeeper")
        kind, name = obj.fingerprint
        owner = Owner(kind, name)
        if obj.problem:
            return _verdict(obj, Action.UNDECIDED, Reason.UNDECIDED, obj.problem, owner)
        if self.inv.template_crd is Presence.ABSENT:
            return _delete(
                obj,
                Reason.ORPHANED_UNOWNED,
                "Gatekeeper is uninstalled",
                owner,
                Recheck.TEMPLATE_CRD,
            )
        if kind == TEMPLATE_KEY:
            return self._unowned_policy(obj, owner)
        presence = self.inv.kinds.get(kind, Presence.UNKNOWN)
        if presence is Presence.ABSENT:
            return _delete(
                obj,
                Reason.ORPHANED_UNOWNED,
                f"no ownerReference; kind {kind} is gone",
                owner,
                Recheck.CONSTRAINT_CRD,
            )
        if presence is Presence.UNKNOWN or not self.inv.complete(constraints_list_name(kind)):
            return _undecided(obj, f"list of {kind} constraints incomplete", owner)
        record = self.inv.constraints.get((kind, name))
        if record is None:
            return _delete(
                obj,
                Reason.ORPHANED_UNOWNED,
                "no ownerReference; no constraint of that kind and name",
                owner,
                Recheck.CONSTRAINT,
            )
        decision, _ = self._binding_wanted(kind, record.facts)
        return self._unowned_by_want(obj, owner, decision, Recheck.CONSTRAINT)

    def _unowned_policy(self, obj: AdmissionObject, owner: Owner) -> Verdict:
        if not self.inv.complete("templates"):
            return _undecided(obj, "list of templates incomplete", owner)
        record = self.inv.templates.get(owner.name)
        if record is None:
            return _delete(
                obj,
                Reason.ORPHANED_UNOWNED,
                "no ownerReference; no such template",
                owner,
                Recheck.TEMPLATE,
            )
        decision = gk.wants_policy(record.facts, self.defaults)
        return self._unowned_by_want(obj, owner, decision, Recheck.TEMPLATE)

    @staticmethod
    def _unowned_by_want(
        obj: AdmissionObject, owner: Owner, decision: gk.WantDecision, recheck: Recheck
    ) -> Verdict:
        if decision.want is gk.Want.UNKNOWN:
            return _undecided(obj, decision.why, owner)
        if decision.want is gk.Want.NO:
            return _delete(
                obj,
                Reason.ORPHANED_UNOWNED,
                f"no ownerReference; owner does not want it ({decision.why})",
                owner,
                recheck,
            )
        return _verdict(
            obj,
            Action.KEEP,
            Reason.WANTED,
            "no ownerReference, but its owner wants it (Gatekeeper adopts it)",
            owner,
        )


def _verdict(
    obj: AdmissionObject, action: Action, reason: Reason, detail: str, owner: Owner | None = None
) -> Verdict:
    return Verdict(obj=obj, action=action, reason=reason, detail=detail, owner=owner)


def _undecided(obj: AdmissionObject, detail: str, owner: Owner | None) -> Verdict:
    return _verdict(obj, Action.UNDECIDED, Reason.UNDECIDED, detail, owner)


def _delete(
    obj: AdmissionObject, reason: Reason, detail: str, owner: Owner, recheck: Recheck
) -> Verdict:
    return Verdict(
        obj=obj, action=Action.DELETE, reason=reason, detail=detail, owner=owner, recheck=recheck
    )


# --- the fresh look right before a DELETE ------------------------------------------------


def still_deletable(
    verdict: Verdict, fresh: Mapping[str, Any] | None, *, inventory: Inventory, rules: Rules
) -> tuple[bool, str]:
    """Whether a candidate may still go, given a fresh GET of its ``recheck`` object.

    ``fresh`` is None when that GET answered 404. Anything that is back, or that now
    wants the object, or that cannot be parsed, keeps it: wanted beats every other row.
    """
    recheck, owner = verdict.recheck, verdict.owner
    if recheck is None or owner is None:
        return False, "nothing to re-check"
    if recheck in (Recheck.TEMPLATE_CRD, Recheck.CONSTRAINT_CRD):
        return (True, "CRD still gone") if fresh is None else (False, "CRD is back")
    if recheck is Recheck.NEW_BINDING:
        if fresh is None:
            return False, "new-scheme binding is gone"
        ref = gk.controller_owner(fresh)
        same = (
            ref is not None
            and ref.group == gk.CONSTRAINTS_GROUP
            and ref.kind.lower() == owner.kind.lower()
            and ref.name == owner.name
        )
        return (
            (True, "new-scheme binding still there")
            if same
            else (False, "new-scheme binding changed owner")
        )
    if fresh is None:
        return True, "owner still gone"
    if verdict.reason is Reason.OWNER_DELETED or not _owner_was_listed(verdict, inventory):
        return False, "owner is back"
    decision = _fresh_want(verdict, fresh, inventory=inventory, rules=rules)
    if decision.want is gk.Want.NO:
        return True, f"still not wanted ({decision.why})"
    return False, "owner wants it again" if decision.want is gk.Want.YES else decision.why


def _owner_was_listed(verdict: Verdict, inventory: Inventory) -> bool:
    owner = verdict.owner
    assert owner is not None
    if verdict.recheck is Recheck.TEMPLATE and not verdict.obj.is_binding:
        return owner.name in inventory.templates
    return (owner.kind.lower(), owner.name) in inventory.constraints


def _fresh_want(
    verdict: Verdict, fresh: Mapping[str, Any], *, inventory: Inventory, rules: Rules
) -> gk.WantDecision:
    """Gatekeeper's wish for the object, with the re-read owner in place of the listed one."""
    owner = verdict.owner
    assert owner is not None
    defaults = rules.gatekeeper
    if verdict.recheck is Recheck.TEMPLATE:
        tfacts = gk.parse_template(fresh)
        if not verdict.obj.is_binding:
            return gk.wants_policy(tfacts, defaults)
        record = inventory.constraints[(owner.kind.lower(), owner.name)]
        return gk.wants_binding(record.facts, template=tfacts, defaults=defaults)
    template = inventory.templates.get(gk.template_name_for_kind(owner.kind))
    return gk.wants_binding(
        gk.parse_constraint(fresh),
        template=template.facts if template else None,
        defaults=defaults,
    )
