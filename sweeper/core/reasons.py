"""Every stable string of the sweeper's interface in one place.

Reason strings, verdict actions, log event names and the sweeper's own annotation are
part of the contract with operators (log queries, alerts, ``--reasons``): never rename one.
"""

from __future__ import annotations

import enum

ANNOTATION_PREFIX = "sweeper.gatekeeper.sh/"
SKIP_ANNOTATION = "sweeper.gatekeeper.sh/skip"
# Set by ``sweeper restore`` on what it creates: later sweeps hold the object (``restored``)
# until a person removes the annotation. The restore id tells a lost POST answer apart.
RESTORED_AT_ANNOTATION = "sweeper.gatekeeper.sh/restored-at"
RESTORE_ID_ANNOTATION = "sweeper.gatekeeper.sh/restore-id"
# The write-ahead records of deletions (ConfigMaps in the record namespace).
RECORD_LABEL = "sweeper.gatekeeper.sh/record"  # value: the record format, "v1"
RECORD_SWEEP_LABEL = "sweeper.gatekeeper.sh/sweep-id"


class Reason(enum.StrEnum):
    """Why a Gatekeeper-generated object is (or is not) a candidate; rows of the decision table."""

    FOREIGN = "foreign"
    ORPHANED_UNOWNED = "orphaned-unowned"
    UNDECIDED = "undecided"
    GATEKEEPER_UNINSTALLED = "gatekeeper-uninstalled"
    OWNER_KIND_GONE = "owner-kind-gone"
    OWNER_DELETED = "owner-deleted"
    NOT_WANTED = "not-wanted"
    LEGACY_DUPLICATE = "legacy-duplicate"
    OWNER_REPLACED = "owner-replaced"
    POLICY_MISSING = "policy-missing"
    NAME_MISMATCH = "name-mismatch"
    TEMPLATE_INVALID = "template-invalid"
    WANTED = "wanted"


# Reasons that make an object a deletion candidate; the others only keep or report.
DELETE_REASONS: frozenset[Reason] = frozenset(
    {
        Reason.ORPHANED_UNOWNED,
        Reason.GATEKEEPER_UNINSTALLED,
        Reason.OWNER_KIND_GONE,
        Reason.OWNER_DELETED,
        Reason.NOT_WANTED,
        Reason.LEGACY_DUPLICATE,
    }
)

# Acted on unless --reasons says otherwise: an unowned object may have been kept on purpose.
DEFAULT_REASONS: frozenset[Reason] = DELETE_REASONS - {Reason.ORPHANED_UNOWNED}


class Action(enum.StrEnum):
    """What the plan decided for one object."""

    IGNORE = "ignore"  # not Gatekeeper's; counted, never logged one by one
    KEEP = "keep"  # Gatekeeper wants it
    REPORT = "report"  # kept, but worth a log line (anomaly, or a candidate not acted on)
    UNDECIDED = "undecided"  # could not be decided; never deleted
    DELETE = "delete"


class Event(enum.StrEnum):
    """The ``event`` field of every JSON log line."""

    SWEEP_STARTED = "sweep_started"
    GATEKEEPER_OBSERVED = "gatekeeper_observed"
    GATEKEEPER_NOT_OBSERVED = "gatekeeper_not_observed"
    GATEKEEPER_IDLE = "gatekeeper_idle"
    NOTHING_TO_DO = "nothing_to_do"
    LIST_FAILED = "list_failed"
    REQUEST_RETRIED = "request_retried"
    REQUEST_WAITING = "request_waiting"
    REQUEST_SENT = "request_sent"
    DELETING = "deleting"  # flushed before the DELETE is sent, with the manifest
    RECORD_FAILED = "record_failed"  # the write-ahead record failed: not deleted
    DELETED = "deleted"
    WOULD_DELETE = "would_delete"
    ALREADY_GONE = "already_gone"
    CONFLICT = "conflict"
    DELETE_FAILED = "delete_failed"
    OWNER_BACK = "owner_back"
    UNDECIDED = "undecided"
    TOO_YOUNG = "too_young"
    EXCLUDED = "excluded"
    RESTORED = "restored"  # held: put back by ``sweeper restore``, never deleted again
    REPORTED = "reported"
    GUARD_TRIPPED = "guard_tripped"
    INTERRUPTED = "interrupted"
    TLS_VERIFY_OFF = "tls_verify_off"
    METRICS_PUSH_FAILED = "metrics_push_failed"
    NOTIFY_FAILED = "notify_failed"
    KUBE_EVENTS_FAILED = "kube_events_failed"
    RECORDS_PRUNED = "records_pruned"
    RECORD_PRUNE_FAILED = "record_prune_failed"
    SWEEP_SUMMARY = "sweep_summary"
    FLEET_SUMMARY = "fleet_summary"  # fleet mode: after every cluster's sweep_summary


class ExitCode(enum.IntEnum):
    """Process exit codes: part of the interface (docs/architecture.md)."""

    OK = 0
    DELETE_FAILED = 1
    USAGE = 2
    GUARD = 3
    READ_FAILED = 4

    @property
    def meaning(self) -> str:
        """What the code tells a person (the README's exit code table)."""
        return _EXIT_MEANINGS[self]


_EXIT_MEANINGS = {
    ExitCode.OK: "clean",
    ExitCode.DELETE_FAILED: "some deletions failed or the sweep was stopped",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.GUARD: "aborted by a guard, nothing deleted",
    ExitCode.READ_FAILED: "the cluster could not be fully read",
}
