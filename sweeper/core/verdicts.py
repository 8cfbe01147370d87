"""The vocabulary of decisions: what the plan says about each object.

Shared by the planner, the re-check, apply and the report. Plain immutable values; the
per-object ones are NamedTuples because one is built per listed object.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from sweeper.core.gatekeeper import OwnerRef
from sweeper.core.reasons import Action, Event, Reason
from sweeper.core.records import AdmissionObject


class Hold(enum.StrEnum):
    """Why a deletion candidate is kept this run."""

    TOO_YOUNG = "too_young"
    EXCLUDED = "excluded"
    NOT_SELECTED = "not_selected"
    RESTORED = "restored"  # carries sweeper.gatekeeper.sh/restored-at: a person's decision

    @property
    def event(self) -> Event:
        """The event of the line that reports the hold."""
        return _HOLD_EVENTS[self]


_HOLD_EVENTS = {
    Hold.TOO_YOUNG: Event.TOO_YOUNG,
    Hold.EXCLUDED: Event.EXCLUDED,
    Hold.NOT_SELECTED: Event.REPORTED,
    Hold.RESTORED: Event.RESTORED,  # a candidate whose reason --reasons leaves out
}


class Recheck(enum.Enum):
    """The object to read again right before a DELETE: the one whose state decided it."""

    TEMPLATE_CRD = "template-crd"
    CONSTRAINT_CRD = "constraint-crd"
    CONSTRAINT = "constraint"
    TEMPLATE = "template"
    NEW_BINDING = "new-binding"
    LEGACY_BINDING = "legacy-binding"  # the managed binding of a Gatekeeper <= v3.22.0


class Owner(NamedTuple):
    """Who an object belongs to (by controller ownerReference, or by its fingerprint)."""

    kind: str  # as written in the ownerReference; lower-case when from a fingerprint
    name: str
    uid: str | None = None

    @classmethod
    def of(cls, ref: OwnerRef) -> Owner:
        """The owner an ownerReference names (the vocabulary of decisions, not of the API)."""
        return cls(ref.kind, ref.name, ref.uid)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


class Verdict(NamedTuple):
    """The plan's decision for one object (a tuple: one is built per listed object)."""

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
