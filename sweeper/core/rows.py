"""The verdicts the decision table's rows give, built one way (``sweeper.core.plan``'s rows).

Pure constructors: each takes the object, its owner and the row's reason and detail, and
returns the ``Verdict``; a deletion always names the object to re-check before the DELETE.
"""

from __future__ import annotations

from sweeper.core import gatekeeper as gk
from sweeper.core.reasons import Action, Reason
from sweeper.core.records import AdmissionObject, ConstraintRecord, TemplateRecord
from sweeper.core.verdicts import Owner, Recheck, Verdict


def owner_gone(
    obj: AdmissionObject,
    owner: Owner,
    record: ConstraintRecord | TemplateRecord | None,
    *,
    unowned: bool,
    recheck: Recheck,
) -> Verdict:
    """Row 6: the owner is absent from a complete list, or terminating (Gatekeeper's
    controllers treat a set deletionTimestamp as deleted, and it cannot be undone)."""
    if record is not None and record.terminating is None:
        return undecided(obj, "owner's metadata.deletionTimestamp is malformed", owner)
    if record is not None:
        detail = "owner is terminating (metadata.deletionTimestamp set)"
    elif recheck is Recheck.CONSTRAINT:
        detail = "no constraint of that kind and name"
    else:
        detail = "no template of that name"
    reason = Reason.ORPHANED_UNOWNED if unowned else Reason.OWNER_DELETED
    return delete(obj, reason, detail, owner, recheck)


def uninstalled(obj: AdmissionObject, reason: Reason, owner: Owner) -> Verdict:
    return delete(obj, reason, f"CRD {gk.TEMPLATE_CRD_NAME} is gone", owner, Recheck.TEMPLATE_CRD)


def report(obj: AdmissionObject, reason: Reason, detail: str, owner: Owner) -> Verdict:
    return verdict(obj, Action.REPORT, reason, detail, owner)


def verdict(
    obj: AdmissionObject, action: Action, reason: Reason, detail: str, owner: Owner | None = None
) -> Verdict:
    return Verdict(obj=obj, action=action, reason=reason, detail=detail, owner=owner)


def undecided(obj: AdmissionObject, detail: str, owner: Owner | None) -> Verdict:
    return verdict(obj, Action.UNDECIDED, Reason.UNDECIDED, detail, owner)


def delete(
    obj: AdmissionObject, reason: Reason, detail: str, owner: Owner, recheck: Recheck
) -> Verdict:
    return Verdict(
        obj=obj, action=Action.DELETE, reason=reason, detail=detail, owner=owner, recheck=recheck
    )
