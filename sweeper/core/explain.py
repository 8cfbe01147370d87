"""Explain one verdict: the facts that decided it, and its row of the decision table.

Contract: pure (no I/O imports; ``tests/test_boundaries.py``). ``explain(verdict,
inventory=..., rules=..., now=...)`` takes a verdict of the real planner and the inventory
and rules it was made from, and returns a typed ``Explanation``: the object, its owner and
how the owner was proven found or absent, what the owner wants and why, the names it would
give, the exclusions, and the row (``docs/decisions.md``) with the verdict. It never
decides anything itself: the verdict is the planner's, the row is derived from the verdict's
reason and the facts, and the wishes are ``gatekeeper.wants_policy``/``wants_binding`` with
the rules' defaults, as the planner calls them. ``Explanation.fields()`` is the JSON object
``sweeper explain -o json`` prints (documented in ``docs/logging.md``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sweeper.core import gatekeeper as gk
from sweeper.core.explanation import (
    Assumed,
    Claim,
    Decision,
    Exclusions,
    Explanation,
    Lookup,
    Names,
    OwnerFacts,
    Wish,
)
from sweeper.core.inventory import Inventory, ListKey, Presence, Source
from sweeper.core.observe import GatekeeperConfig
from sweeper.core.reasons import DELETE_REASONS, Reason
from sweeper.core.records import AdmissionObject, ConstraintRecord, TemplateRecord
from sweeper.core.settings import Rules
from sweeper.core.verdicts import Verdict

_TEMPLATES = ListKey(Source.TEMPLATES)
# The row of each reason the planner gives an owned object (docs/decisions.md); rows
# 1, 2, 3, 6b, 9 and 12 need more than the reason (``row``).
_ROWS = {
    Reason.GATEKEEPER_UNINSTALLED: "4",
    Reason.OWNER_KIND_GONE: "5",
    Reason.OWNER_DELETED: "6",
    Reason.NOT_WANTED: "7",
    Reason.NAME_MISMATCH: "7b",
    Reason.LEGACY_DUPLICATE: "8",
    Reason.OWNER_REPLACED: "10",
    Reason.POLICY_MISSING: "11",
}


def explain(
    verdict: Verdict,
    *,
    inventory: Inventory,
    rules: Rules,
    now: datetime,
    config: GatekeeperConfig | None = None,
) -> Explanation:
    """The facts behind the planner's ``verdict``, and its decision-table row."""
    obj = verdict.obj
    owned = _gatekeeper_owned(obj)
    unowned = not owned and not obj.has_owner_refs and obj.fingerprint is not None
    owner, record = _owner(obj, inventory, owned=owned, unowned=unowned)
    wish = None
    if owner is not None and record is not None:
        wish = _wish(owner, record, inventory, rules)
    names = _names(obj, owner, inventory, rules) if owner is not None else None
    elapsed = None if obj.created is None else now - obj.created
    age = None if elapsed is None else int(elapsed / timedelta(seconds=1))
    policy_exists = None
    if obj.is_binding and inventory.complete(ListKey(Source.POLICIES)):
        policy_exists = any(p.name == obj.policy_name for p in inventory.policies)
    return Explanation(
        kind=obj.kind,
        name=obj.name,
        uid=obj.uid,
        created=obj.created,
        age_seconds=age,
        problem=obj.problem,
        origin=_origin(obj, owned=owned, unowned=unowned),
        owner=owner,
        wish=wish,
        gatekeeper=_assumed(rules.gatekeeper, config),
        names=names,
        claims=_claims(obj, inventory, rules) if unowned and obj.is_binding else (),
        policy=obj.policy_name if obj.is_binding else None,
        policy_exists=policy_exists,
        exclusions=_exclusions(verdict, owner, rules, elapsed),
        decision=Decision(
            row=row(verdict, unowned=unowned, managed=names.managed if names else None),
            action=verdict.action.value,
            reason=verdict.reason.value,
            detail=verdict.detail,
            hold=verdict.hold.value if verdict.hold else None,
            recheck=verdict.recheck.value if verdict.recheck else None,
        ),
    )


def row(verdict: Verdict, *, unowned: bool, managed: str | None) -> str:
    """The decision-table row of ``verdict`` (docs/decisions.md), first match wins.

    ``unowned``: the object has no ownerReferences and Gatekeeper's fingerprint, so every
    verdict but undecided and template-invalid is row 2 (adopted, reported or orphaned).
    ``managed``: the binding name the running Gatekeeper keeps for the owner; a wanted
    binding under the other name is row 9 (its only binding), under that name row 12.
    """
    reason = verdict.reason
    if reason is Reason.FOREIGN:
        return "1"
    if reason is Reason.UNDECIDED:
        return "3"
    if reason is Reason.TEMPLATE_INVALID:
        return "6b"
    if unowned:
        return "2"
    if reason is Reason.WANTED:
        return "9" if verdict.obj.is_binding and verdict.obj.name != managed else "12"
    return _ROWS[reason]


# --- the owner ---------------------------------------------------------------------------


def _gatekeeper_owned(obj: AdmissionObject) -> bool:
    """Whether the planner judges ``obj`` by its controller ownerReference (rows 3-12)."""
    ref = obj.owner
    if ref is None:
        return False
    if obj.is_binding:
        return ref.group == gk.CONSTRAINTS_GROUP
    return ref.group == gk.TEMPLATES_GROUP and ref.kind == gk.TEMPLATE_KIND


def _origin(obj: AdmissionObject, *, owned: bool, unowned: bool) -> str:
    group = gk.CONSTRAINTS_GROUP if obj.is_binding else gk.TEMPLATES_GROUP
    if owned:
        return f"controller ownerReference into {group}"
    if unowned:
        fields = "spec.policyName and spec.paramRef" if obj.is_binding else "spec.paramKind"
        return f"no ownerReferences; Gatekeeper's fingerprint (its name, {fields})"
    if obj.owner is not None:
        return f"controller ownerReference into {obj.owner.group or 'the core group'}, not {group}"
    if obj.has_owner_refs:
        return "ownerReferences, but no single controller among them"
    return "no ownerReferences and no Gatekeeper fingerprint"


def _owner(
    obj: AdmissionObject, inventory: Inventory, *, owned: bool, unowned: bool
) -> tuple[OwnerFacts | None, ConstraintRecord | TemplateRecord | None]:
    if owned and obj.owner is not None:
        kind, name, uid, via = obj.owner.kind, obj.owner.name, obj.owner.uid, "ownerReference"
    elif unowned and obj.fingerprint is not None:
        (kind, name), uid, via = obj.fingerprint, None, "fingerprint"
    else:
        return None, None
    record: ConstraintRecord | TemplateRecord | None
    if obj.is_binding:
        lookup, record = _constraint_lookup(inventory, kind, name)
    else:
        lookup, record = _template_lookup(inventory, name)
    if record is None:
        return OwnerFacts(kind, name, uid, via, lookup), None
    matches = None if uid is None else uid == record.uid
    facts = OwnerFacts(
        kind, name, uid, via, lookup, record.uid, record.terminating, matches, record.skip
    )
    return facts, record


def _display_kind(inventory: Inventory, kind: str) -> str:
    served = inventory.constraint_kinds.get(kind.lower())
    return served.kind if served is not None else kind


def _uninstalled() -> Lookup:
    return Lookup(False, f"GET of CRD {gk.TEMPLATE_CRD_NAME} answered 404: Gatekeeper is gone")


def _constraint_lookup(
    inventory: Inventory, kind: str, name: str
) -> tuple[Lookup, ConstraintRecord | None]:
    """How the constraint ``kind``/``name`` was proven present or absent (rows 3-6)."""
    if inventory.template_crd is Presence.ABSENT:
        return _uninstalled(), None
    lower, shown = kind.lower(), _display_kind(inventory, kind)
    crd = gk.constraint_crd_name(lower)
    presence = inventory.kinds.get(lower, Presence.UNKNOWN)
    if presence is Presence.ABSENT:
        return Lookup(
            False,
            f"GET of CRD {crd} answered 404 and discovery of {gk.CONSTRAINTS_GROUP} "
            f"does not serve {shown}",
        ), None
    if presence is Presence.UNKNOWN:
        return Lookup(
            None, f"whether CRD {crd} exists is not known: {_kind_unknown(inventory, lower)}"
        ), None
    status = inventory.lists.get(ListKey.constraints(lower))
    if status is None or not status.complete:
        error = status.error if status is not None else "not listed"
        return Lookup(None, f"the LIST of {shown} constraints is incomplete: {error}"), None
    record = inventory.constraints.get((lower, name))
    seen = "found" if record is not None else "not found"
    return Lookup(
        record is not None,
        f"{seen} in the complete LIST of {shown} constraints ({_items(status.count)})",
    ), record


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _kind_unknown(inventory: Inventory, kind: str) -> str:
    """Why a constraint kind's CRD is neither proven present nor absent."""
    for key in (ListKey.crd(kind), ListKey(Source.DISCOVERY), ListKey(Source.CRDS)):
        status = inventory.lists.get(key)
        if status is not None and not status.complete:
            return f"the read of {status.path} failed: {status.error}"
    return "it was not read"


def _template_lookup(inventory: Inventory, name: str) -> tuple[Lookup, TemplateRecord | None]:
    """How the template ``name`` was proven present or absent (rows 3, 4, 6)."""
    if inventory.template_crd is Presence.ABSENT:
        return _uninstalled(), None
    status = inventory.lists.get(_TEMPLATES)
    if status is None or not status.complete:
        crd = inventory.lists.get(ListKey(Source.TEMPLATE_CRD))
        failed = status if status is not None else crd
        error = failed.error if failed is not None and failed.error else "not listed"
        return Lookup(None, f"the LIST of ConstraintTemplates is incomplete: {error}"), None
    record = inventory.templates.get(name)
    seen = "found" if record is not None else "not found"
    return Lookup(
        record is not None,
        f"{seen} in the complete LIST of ConstraintTemplates ({_items(status.count)})",
    ), record


# --- what the owner wants ----------------------------------------------------------------


def _as_wish(decision: gk.WantDecision) -> Wish:
    return Wish(decision.want.value, decision.why, decision.rejected)


def _binding_wish(kind: str, facts: gk.ConstraintFacts, inventory: Inventory, rules: Rules) -> Wish:
    """``gatekeeper.wants_binding`` with its template, as the planner asks it."""
    if not inventory.complete(_TEMPLATES):
        return Wish(gk.Want.UNKNOWN.value, "list of templates incomplete")
    template = inventory.templates.get(gk.template_name_for_kind(kind))
    tfacts = template.facts if template is not None else None
    ending = template.terminating if template is not None else False
    return _as_wish(
        gk.wants_binding(
            facts, template=tfacts, defaults=rules.gatekeeper, template_terminating=ending
        )
    )


def _wish(
    owner: OwnerFacts, record: ConstraintRecord | TemplateRecord, inventory: Inventory, rules: Rules
) -> Wish:
    """What the found owner wants, as the planner asks it (rows 6b, 7 and 9-12)."""
    if isinstance(record, TemplateRecord):
        return _as_wish(gk.wants_policy(record.facts, rules.gatekeeper))
    return _binding_wish(owner.kind, record.facts, inventory, rules)


def _claims(obj: AdmissionObject, inventory: Inventory, rules: Rules) -> tuple[Claim, ...]:
    """Every listed constraint whose new or legacy binding name is ``obj``'s name: the
    planner adopts an unowned binding for whichever live one wants that name (row 2)."""
    found = [
        Claim(
            _display_kind(inventory, lower),
            name,
            _binding_wish(lower, record.facts, inventory, rules),
            record.terminating,
        )
        for (lower, name), record in inventory.constraints.items()
        if obj.name in gk.binding_names(lower, name)
    ]
    return tuple(sorted(found, key=lambda claim: (claim.kind, claim.name)))


# --- names, configuration, exclusions ----------------------------------------------------


def _names(obj: AdmissionObject, owner: OwnerFacts, inventory: Inventory, rules: Rules) -> Names:
    if not obj.is_binding:
        name = gk.policy_name(owner.name)
        return Names((name,), name, "policy" if obj.name == name else None)
    new, legacy = gk.binding_names(owner.kind, owner.name)
    managed = gk.managed_binding_name(owner.kind, owner.name, rules.gatekeeper)
    carried = "new" if obj.name == new else "legacy" if obj.name == legacy else None
    other = legacy if carried == "new" else new if carried == "legacy" else None
    sibling = next((b for b in inventory.bindings if b.name == other), None)
    owned = (
        sibling is not None
        and sibling.owner is not None
        and sibling.owner.group == gk.CONSTRAINTS_GROUP
        and sibling.owner.kind.lower() == owner.kind.lower()
        and sibling.owner.name == owner.name
    )
    return Names((new, legacy), managed, carried, sibling.name if sibling else None, owned)


def _assumed(defaults: gk.GatekeeperDefaults, config: GatekeeperConfig | None) -> Assumed:
    """The configuration the plan used, where each part came from, and why a part is held."""
    problem = config.problem if config is not None else None
    return Assumed(
        create_vap=defaults.create_vap,
        create_vapb=defaults.create_vapb,
        version=defaults.version_text,
        scheme=defaults.binding_scheme,
        vap_source=config.vap_default_source if config is not None else None,
        vapb_source=config.vapb_default_source if config is not None else None,
        generators=config.generators if config is not None else (),
        rollout=config.rollout if config is not None else None,
        not_observed=problem,
        version_unknown=config.version_unknown if config is not None else None,
        not_modelled=defaults.not_modelled,
    )


def _exclusions(
    verdict: Verdict, owner: OwnerFacts | None, rules: Rules, elapsed: timedelta | None
) -> Exclusions:
    """The holds of ``plan.select``, each one's state whatever the row, compared as it
    compares them."""
    min_age = int(rules.min_age / timedelta(seconds=1))
    reason = verdict.reason
    return Exclusions(
        skip_annotation=verdict.obj.skip,
        owner_skip_annotation=owner is not None and owner.skip_annotation,
        patterns=tuple(p.pattern for p in rules.exclude if p.search(verdict.obj.name)),
        reason_selected=reason in rules.reasons if reason in DELETE_REASONS else None,
        min_age_seconds=min_age,
        old_enough=elapsed is not None and elapsed >= rules.min_age,
        restored_at=verdict.obj.restored,
    )
