"""What ``sweeper explain`` says about one object: the typed answer, and its JSON form.

Pure values, built by ``sweeper.core.explain``; ``Explanation.fields()`` is the JSON object
``sweeper explain -o json`` prints (documented in ``docs/logging.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Lookup:
    """Whether the owner exists (None: not proven either way), and which read says so."""

    found: bool | None
    proof: str


@dataclass(frozen=True, slots=True)
class OwnerFacts:
    """The owner an object names, and what the cluster says of it."""

    kind: str
    name: str
    uid: str | None  # from the ownerReference; None for a fingerprint
    via: str  # "ownerReference" or "fingerprint"
    lookup: Lookup
    live_uid: str | None = None  # the listed owner's uid, when found
    terminating: bool | None = None  # None: not found, or deletionTimestamp unreadable
    uid_matches: bool | None = None  # the ownerReference's uid is the live owner's
    skip_annotation: bool = False  # the owner carries the sweeper's skip annotation


@dataclass(frozen=True, slots=True)
class Wish:
    """What Gatekeeper, with the assumed flags, wants for the owner, and why."""

    want: str  # "yes", "no" or "unknown"
    why: str
    rejected: bool = False  # Gatekeeper rejects the template on ingestion (row 6b)


@dataclass(frozen=True, slots=True)
class Claim:
    """A listed constraint one of whose names is an unowned binding's name (row 2)."""

    kind: str
    name: str
    wish: Wish
    terminating: bool | None


@dataclass(frozen=True, slots=True)
class Names:
    """The names the owner would give, and which of them the object carries."""

    names: tuple[str, ...]  # a binding's (new scheme, legacy); a policy's one name
    managed: str  # the one the running Gatekeeper creates and keeps
    carried: str | None  # "new", "legacy" or "policy"; None when it carries none
    sibling: str | None = None  # the owner's binding under its other name, when listed
    sibling_owned: bool = False  # that binding is controlled by the same constraint


@dataclass(frozen=True, slots=True)
class Assumed:
    """Gatekeeper's configuration as the plan assumed it, and where it came from."""

    create_vap: bool
    create_vapb: bool
    version: str | None
    scheme: str
    vap_source: str | None = None  # "option", "observed" or "default"; None: not known
    vapb_source: str | None = None
    generators: tuple[str, ...] = ()  # the running containers the flags were read from
    rollout: str | None = None  # Deployments not fully rolled out, and how they were read
    not_observed: str | None = None  # why Gatekeeper was not observed (the options apply)
    version_unknown: str | None = None  # why the version is unknown (both names held)
    not_modelled: str | None = None  # why want-based verdicts are held (older than v3.17)


@dataclass(frozen=True, slots=True)
class Exclusions:
    """What keeps a deletion candidate this run (they apply to delete rows only)."""

    skip_annotation: bool
    owner_skip_annotation: bool
    patterns: tuple[str, ...]  # the --exclude patterns the name matches
    reason_selected: bool | None  # by --reasons; None for a reason that never deletes
    min_age_seconds: int
    old_enough: bool
    restored_at: str | None = None  # put back by `sweeper restore`: held until removed


@dataclass(frozen=True, slots=True)
class Decision:
    row: str
    action: str
    reason: str
    detail: str
    hold: str | None
    recheck: str | None  # what is read again right before a DELETE


@dataclass(frozen=True, slots=True)
class Explanation:
    kind: str
    name: str
    uid: str
    created: datetime | None
    age_seconds: int | None
    problem: str | None  # why the object itself cannot be decided on
    origin: str  # what ties it to Gatekeeper, or why nothing does
    owner: OwnerFacts | None
    wish: Wish | None
    gatekeeper: Assumed
    names: Names | None
    claims: tuple[Claim, ...]
    policy: str | None  # a binding's spec.policyName
    policy_exists: bool | None  # None: not a binding, or the policy list is incomplete
    exclusions: Exclusions
    decision: Decision

    def fields(self) -> dict[str, Any]:
        """The JSON object of ``sweeper explain -o json``: the dataclasses as nested objects,
        their field names the keys (docs/logging.md, "sweeper explain output", is checked
        against them); ``created`` in RFC 3339."""
        fields = asdict(self)
        if self.created is not None:
            fields["created"] = self.created.replace(tzinfo=None).isoformat("T", "seconds") + "Z"
        return fields
