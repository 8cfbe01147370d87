"""The fresh look right before a DELETE: is the candidate still dangling?

Between the LIST and the DELETE an owner can come back, a template can start wanting its
policy again, a CRD can be re-installed. ``still_deletable`` re-judges one candidate
against a fresh GET of the object that decided it (``Verdict.recheck``). Pure: the GET
is done by the caller. Anything back, wanting, or unparseable keeps the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeper.core import gatekeeper as gk
from sweeper.core.inventory import Inventory
from sweeper.core.reasons import Reason
from sweeper.core.records import terminating
from sweeper.core.settings import Rules
from sweeper.core.verdicts import Recheck, Verdict


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
    if recheck in (Recheck.NEW_BINDING, Recheck.LEGACY_BINDING):
        return _managed_binding_still_there(verdict, fresh)
    if fresh is None:
        return True, "owner still gone"
    if _reads_the_owner(verdict):
        state = terminating(fresh)
        if state is None:
            return False, "owner's metadata.deletionTimestamp is malformed"
        if state:  # row 6: a terminating owner never comes back
            return True, "owner still terminating"
    if verdict.reason is Reason.OWNER_DELETED or not _owner_was_listed(verdict, inventory):
        return False, "owner is back"
    decision = _fresh_want(verdict, fresh, inventory=inventory, rules=rules)
    if decision.want is gk.Want.NO:
        return True, f"still not wanted ({decision.why})"
    return False, "owner wants it again" if decision.want is gk.Want.YES else decision.why


def recheck_binding_name(verdict: Verdict) -> str | None:
    """The binding a NEW_BINDING / LEGACY_BINDING re-check GETs (rows 8-9), else None."""
    owner = verdict.owner
    if owner is None:
        return None
    if verdict.recheck is Recheck.NEW_BINDING:
        return gk.binding_name(owner.kind, owner.name)
    if verdict.recheck is Recheck.LEGACY_BINDING:
        return gk.legacy_binding_name(owner.name)
    return None


def _managed_binding_still_there(
    verdict: Verdict, fresh: Mapping[str, Any] | None
) -> tuple[bool, str]:
    """A duplicate goes only while the binding Gatekeeper manages is there, owned alike."""
    owner = verdict.owner
    assert owner is not None
    scheme = "new-scheme" if verdict.recheck is Recheck.NEW_BINDING else "legacy"
    if fresh is None:
        return False, f"{scheme} binding is gone"
    ref = gk.controller_owner(fresh)
    same = (
        ref is not None
        and ref.group == gk.CONSTRAINTS_GROUP
        and ref.kind.lower() == owner.kind.lower()
        and ref.name == owner.name
    )
    if same:
        return True, f"{scheme} binding still there"
    return False, f"{scheme} binding changed owner"


def _reads_the_owner(verdict: Verdict) -> bool:
    """Whether the re-checked object is the verdict's owner (not a binding's template)."""
    if verdict.obj.is_binding:
        return verdict.recheck is Recheck.CONSTRAINT
    return verdict.recheck is Recheck.TEMPLATE


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
        return gk.wants_binding(
            record.facts,
            template=tfacts,
            defaults=defaults,
            template_terminating=terminating(fresh),
        )
    template = inventory.templates.get(gk.template_name_for_kind(owner.kind))
    return gk.wants_binding(
        gk.parse_constraint(fresh),
        template=template.facts if template else None,
        defaults=defaults,
        template_terminating=template.terminating if template else False,
    )
