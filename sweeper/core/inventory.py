"""The inventory: one immutable snapshot of everything a sweep decides on.

Pure values only (no I/O imports): ``gather`` fills an ``Inventory`` from the API server,
the planner and the re-check read it. Every list records whether it completed, keyed by a
typed ``ListKey``: a list that never ran or failed is never read as "absent".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from sweeper.core.records import AdmissionObject, ConstraintKind, ConstraintRecord, TemplateRecord


class Presence(enum.Enum):
    """Whether a CRD is served: proven present, proven absent (404), or not known."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class Source(enum.StrEnum):
    """What one read of gather is about."""

    BINDINGS = "bindings"
    POLICIES = "policies"
    CRDS = "crds"  # the CRDs labelled as constraint CRDs
    TEMPLATE_CRD = "template-crd"  # GET of the ConstraintTemplate CRD
    TEMPLATES = "templates"
    CONSTRAINTS = "constraints"  # one constraint kind's list
    CRD = "crd"  # GET of one constraint kind's CRD by name
    DISCOVERY = "discovery/constraints"  # discovery of the constraints group


class ListKey(NamedTuple):
    """The key of one read in ``Inventory.lists``: a source, and the lower constraint kind
    for the per-kind sources."""

    source: Source
    kind: str = ""

    @classmethod
    def constraints(cls, kind: str) -> ListKey:
        return cls(Source.CONSTRAINTS, kind.lower())

    @classmethod
    def crd(cls, kind: str) -> ListKey:
        return cls(Source.CRD, kind.lower())

    def __str__(self) -> str:
        return f"{self.source.value}/{self.kind}" if self.kind else self.source.value


@dataclass(frozen=True, slots=True)
class ListStatus:
    """How one read went: items seen, complete or not, and the error that cut it short."""

    path: str
    count: int = 0
    error: str | None = None
    status: int | None = None  # the HTTP status that failed it, if one did

    @property
    def complete(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Inventory:
    """What the cluster holds, and how sure we are of it."""

    vap_version: str
    bindings: tuple[AdmissionObject, ...] = ()
    policies: tuple[AdmissionObject, ...] = ()
    lists: Mapping[ListKey, ListStatus] = field(default_factory=dict)
    template_crd: Presence = Presence.UNKNOWN
    kinds: Mapping[str, Presence] = field(default_factory=dict)  # lower kind -> its CRD
    templates: Mapping[str, TemplateRecord] = field(default_factory=dict)
    constraints: Mapping[tuple[str, str], ConstraintRecord] = field(default_factory=dict)
    template_version: str | None = None  # served version of the template CRD
    # lower kind -> how its CRD serves it (plural, version), for every kind proven present
    constraint_kinds: Mapping[str, ConstraintKind] = field(default_factory=dict)
    # The raw LIST pages of bindings and policies as (kind, body): kept for a dry run only,
    # so that its would_delete lines carry the listed objects without reading them again.
    pages: tuple[tuple[str, bytes], ...] = ()

    def complete(self, key: ListKey) -> bool:
        """True only when that read ran and finished."""
        status = self.lists.get(key)
        return status is not None and status.complete

    @property
    def failed_lists(self) -> tuple[ListStatus, ...]:
        return tuple(status for status in self.lists.values() if not status.complete)
