"""Apply: carry out a plan's deletions, safely, and return what happened to each.

Before anything is deleted the blast-radius guards are checked. Each candidate's deciding
object (its owner, the owner's CRD, or the new-scheme binding) is read again, and
``recheck.still_deletable`` judges the fresh state; the object itself is read, and its
manifest written ahead (a record in the cluster, unless ``--no-record``, then a flushed
``deleting`` line): a record that cannot be written keeps the object (``record_failed``).
Only then is the DELETE sent, with uid and resourceVersion preconditions. ``--dry-run``
sends no write request at all. Apply never re-plans the world: it only narrows what the
plan decided.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sweeper.cluster.kube import DeleteResult, KubeClient
from sweeper.cluster.ledger import write_record
from sweeper.core import gatekeeper as gk
from sweeper.core import paths
from sweeper.core.errors import ApiError, Interrupted, SweepAborted
from sweeper.core.inventory import Inventory
from sweeper.core.ledger import RecordError, check_restorable_size
from sweeper.core.manifests import clean_manifest
from sweeper.core.reasons import Event
from sweeper.core.recheck import still_deletable
from sweeper.core.settings import Settings
from sweeper.core.summary import ApplyResult, Outcome, check_guards
from sweeper.core.verdicts import Plan, Recheck, Verdict
from sweeper.output.report import SCHEMA_VERSION, Reporter, names, object_fields, stamp
from sweeper.runs.dry_run import review_listed

# How each DELETE answer is logged: the event, its message and its level.
_DELETE_EVENTS = {
    DeleteResult.DELETED: (Event.DELETED, "deleted", logging.INFO),
    DeleteResult.GONE: (Event.ALREADY_GONE, "already deleted by someone else", logging.INFO),
    DeleteResult.CONFLICT: (
        Event.CONFLICT,
        "changed since it was listed; left alone",
        logging.WARNING,
    ),
}


@dataclass(frozen=True)
class _Line:
    """The line one candidate ends with."""

    event: Event
    message: str
    level: int = logging.INFO
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteAhead:
    """Where each manifest is recorded before its DELETE."""

    namespace: str | None  # of the record ConfigMaps; None: --no-record (log lines only)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def _changed_since_listed(verdict: Verdict, current: dict[str, Any] | None) -> _Line | None:
    """The line for an object that is gone or changed since it was listed; None if it is
    still the object the plan judged (same uid and resourceVersion)."""
    if current is None:
        return _Line(*_DELETE_EVENTS[DeleteResult.GONE])
    meta = current.get("metadata")
    listed = (verdict.obj.uid, verdict.obj.resource_version)
    if isinstance(meta, dict) and (meta.get("uid"), meta.get("resourceVersion")) == listed:
        return None
    return _Line(*_DELETE_EVENTS[DeleteResult.CONFLICT])


def recheck_path(verdict: Verdict, inventory: Inventory) -> str:
    """Where the object that decided ``verdict`` lives."""
    owner, recheck = verdict.owner, verdict.recheck
    assert owner is not None and recheck is not None
    kind = owner.kind.lower()
    if recheck is Recheck.TEMPLATE_CRD:
        return paths.crd(gk.TEMPLATE_CRD_NAME)
    if recheck is Recheck.CONSTRAINT_CRD:
        return paths.crd(gk.constraint_crd_name(kind))
    if recheck is Recheck.NEW_BINDING:
        name = gk.binding_name(owner.kind, owner.name)
        return paths.admission(inventory.vap_version, paths.BINDINGS, name)
    if recheck is Recheck.LEGACY_BINDING:  # rows 8-9 under Gatekeeper <= v3.22.0
        name = gk.legacy_binding_name(owner.name)
        return paths.admission(inventory.vap_version, paths.BINDINGS, name)
    if recheck is Recheck.TEMPLATE:
        name = owner.name if not verdict.obj.is_binding else gk.template_name_for_kind(kind)
        return paths.templates(inventory.template_version or "v1", name)
    served = inventory.constraint_kinds.get(kind)
    version, plural = (served.version, served.plural) if served else ("v1beta1", kind)
    return paths.constraints(version, plural, owner.name)


def owner_crd_path(verdict: Verdict, inventory: Inventory) -> str | None:
    """The CRD serving the owner a CONSTRAINT or TEMPLATE re-check reads, by its real name."""
    owner = verdict.owner
    if owner is None or verdict.recheck not in (Recheck.CONSTRAINT, Recheck.TEMPLATE):
        return None
    if verdict.recheck is Recheck.TEMPLATE:
        return paths.crd(gk.TEMPLATE_CRD_NAME)
    served = inventory.constraint_kinds.get(owner.kind.lower())
    plural = served.plural if served else owner.kind.lower()
    return paths.crd(f"{plural}.{gk.CONSTRAINTS_GROUP}")


def object_path(verdict: Verdict, inventory: Inventory) -> str:
    resource = paths.BINDINGS if verdict.obj.is_binding else paths.POLICIES
    return paths.admission(inventory.vap_version, resource, verdict.obj.name)


def apply(
    plan: Plan,
    *,
    client: KubeClient,
    inventory: Inventory,
    settings: Settings,
    reporter: Reporter,
    stop: threading.Event | None = None,
    ahead: WriteAhead | None = None,
) -> ApplyResult:
    """Run every deletion of ``plan``, bindings before policies; return what happened.

    A tripped guard stops a real sweep before any DELETE; a dry run goes on, so that its
    review shows every candidate a raised limit would let go (it writes nothing anyway).
    """
    trip = check_guards(plan, settings.guards)
    if trip is not None:
        reporter.event(
            Event.GUARD_TRIPPED,
            "too many deletions planned; a real sweep would stop here (dry run: each is listed)"
            if settings.dry_run
            else "too many deletions planned; nothing deleted",
            level=logging.ERROR,
            limit=trip.limit,
            limit_value=trip.value,
            candidate_count=trip.candidates,
            candidates=names(plan.deletions, limit=200),
        )
        if not settings.dry_run:
            return ApplyResult(guard=trip)
    run = _Run(
        client,
        inventory=inventory,
        settings=settings,
        reporter=reporter,
        stop=stop,
        ahead=ahead or WriteAhead(namespace=None),
    )
    deletions = plan.deletions
    if settings.dry_run and inventory.pages:
        shown, deletions = review_listed(plan, inventory=inventory, reporter=reporter, stop=stop)
        run.add(shown)
    # Bindings first: a policy deleted before its binding leaves the binding dangling.
    for batch in (
        [v for v in deletions if v.obj.is_binding],
        [v for v in deletions if not v.obj.is_binding],
    ):
        run.batch(batch)
    return replace(run.result(), guard=trip)


class _Run:
    """One apply phase: its candidates' outcomes, collected across worker threads."""

    def __init__(
        self,
        client: KubeClient,
        *,
        inventory: Inventory,
        settings: Settings,
        reporter: Reporter,
        stop: threading.Event | None,
        ahead: WriteAhead,
    ) -> None:
        self.client = client
        self.inventory = inventory
        self.settings = settings
        self.reporter = reporter
        self.stop = stop or threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._aborted: SweepAborted | None = None
        self._denied: str | None = None
        self.ahead = ahead

    def result(self) -> ApplyResult:
        return ApplyResult(
            outcomes=tuple(self._outcomes),
            aborted=str(self._aborted) if self._aborted else None,
            denied=self._denied,
        )

    def add(self, outcomes: list[Outcome]) -> None:
        """Outcomes settled elsewhere (a dry run's review of what was listed)."""
        self._outcomes.extend(outcomes)
        if self._aborted is None and any(o.event is Event.INTERRUPTED for o in outcomes):
            self._aborted = Interrupted("stopped by a signal")

    def batch(self, verdicts: list[Verdict]) -> None:
        workers = min(self.settings.access.concurrency, len(verdicts))
        if workers <= 1:
            for verdict in verdicts:
                self.one(verdict)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweeper") as pool:
            list(pool.map(self.one, verdicts))

    def one(self, verdict: Verdict) -> None:
        """Re-check and delete one candidate; log and record how it ended."""
        line = self._settle(verdict)
        with self._lock:
            self._outcomes.append(Outcome(line.event, verdict))
        self.reporter.verdict(verdict, line.event, line.message, level=line.level, **line.fields)

    def _settle(self, verdict: Verdict) -> _Line:
        with self._lock:
            if self.stop.is_set() and self._aborted is None:
                self._aborted = Interrupted("stopped by a signal; the requests in flight finished")
            if self._aborted is not None:
                return _Line(Event.INTERRUPTED, "sweep stopped before this object", logging.WARNING)
        try:
            return self._recheck_and_delete(verdict)
        except ApiError as error:
            if error.denied:
                with self._lock:  # credentials or RBAC: exit 2, like a denied list
                    self._denied = self._denied or str(error)
            stage = (
                "re-check before the DELETE failed; not deleted"
                if error.verb == "get"
                else "delete failed"
            )
            return _Line(Event.DELETE_FAILED, stage, logging.ERROR, {"error": str(error)})
        except SweepAborted as error:
            with self._lock:
                self._aborted = self._aborted or error
            return _Line(Event.INTERRUPTED, str(error), logging.WARNING)

    def _recheck_and_delete(self, verdict: Verdict) -> _Line:
        """Re-read what decided ``verdict`` and the object itself, then DELETE once; a failed
        DELETE is retried only after a fresh look at the object (did the lost answer hide a
        success?) and its owner.
        """
        path = object_path(verdict, self.inventory)
        dry_run = self.settings.dry_run
        read: dict[str, Any] = {}  # the manifest the last attempt read, for a lost answer
        recorded: list[bool] = []  # written ahead once: the manifest read is the listed one

        def attempt() -> _Line:
            # Every token up front: no rate-limit wait may fall between the re-check and
            # the DELETE, or an owner back in that gap would go unseen. A dry run's reads
            # spend the read budget only.
            if dry_run:
                self.client.pace_reads(2)
            else:
                writes = 1 + (self.ahead.namespace is not None and not recorded)
                self.client.pace(2 + writes)
            deletable, why = still_deletable(
                verdict,
                self._fresh_decider(verdict),
                inventory=self.inventory,
                rules=self.settings.rules,
            )
            if not deletable:
                return _Line(Event.OWNER_BACK, f"kept: {why}")
            # kube-apiserver answers a VAP or VAPB DELETE with a Status, not the object: read
            # it now, so that its line carries what was deleted (``sweeper restore``).
            current = self.client.get(path, paced=False)
            changed = _changed_since_listed(verdict, current)
            if changed is not None:
                return changed
            read["manifest"] = clean_manifest(current)
            fields = dict(read)
            if dry_run:
                return _Line(
                    Event.WOULD_DELETE, "would delete (dry run)", fields={"recheck": why, **fields}
                )
            if not recorded:
                failed = self._write_ahead(verdict, read["manifest"])
                if failed is not None:
                    return failed
                recorded.append(True)
            result = self.client.delete(
                path,
                uid=verdict.obj.uid,
                resource_version=verdict.obj.resource_version,
                retry=False,
            )
            line = _Line(*_DELETE_EVENTS[result])
            return replace(line, fields=fields) if result is DeleteResult.DELETED else line

        return self.client.retrier.run(
            attempt,
            # Only a failed DELETE is tried again here; the GETs have their own retries.
            retry_if=lambda error: error.retryable and error.verb == "delete",
            before_retry=lambda error: self._lost_delete(verdict, path, error, read),
        )

    def _lost_delete(
        self, verdict: Verdict, path: str, error: ApiError, read: dict[str, Any]
    ) -> _Line | None:
        """After a failed DELETE: the line it ends with if it took effect or the object
        changed, or None to try again; ``read`` holds the manifest read before it."""
        try:
            current = self.client.get(path, attempts=1, paced=False)
        except ApiError:
            raise error from None  # what failed is the DELETE; its outcome is unknown
        if current is None and (error.transport or error.status in (500, 502, 504)):
            # Gone: by our DELETE, whose answer was lost on the way back.
            return _Line(
                Event.DELETED, "deleted (the DELETE's answer was lost; it is gone)", fields=read
            )
        if current is None:  # a 429 or 503 may still have been applied: keep the manifest
            message = f"gone after a DELETE answered {error.status} (ours or someone else's)"
            return _Line(Event.ALREADY_GONE, message, fields=read)
        return _changed_since_listed(verdict, current)

    def _write_ahead(self, verdict: Verdict, manifest: dict[str, Any]) -> _Line | None:
        """Record ``manifest`` durably, then flush the ``deleting`` line; the line the object
        ends with when that fails (it is not deleted), else None."""
        entry: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "event": Event.DELETING.value,
            "sweep_id": self.reporter.sweep_id,
            "cluster_uid": self.reporter.cluster_uid,
            "time": stamp(self.ahead.now()),
            **object_fields(verdict),
            "manifest": manifest,
        }
        if self.settings.cluster_name:
            entry["cluster"] = self.settings.cluster_name
        names: list[str] = []
        try:
            check_restorable_size(manifest)
            if self.ahead.namespace is not None:
                names = write_record(self.client, entry, namespace=self.ahead.namespace)
        except (RecordError, ApiError) as error:
            # Fail closed, whatever refused it: even a leftover binding whose policy denies
            # ConfigMaps (it may be this very object) keeps it; its line names the binding.
            if isinstance(error, ApiError) and error.denied:
                with self._lock:
                    self._denied = self._denied or str(error)
            return _Line(
                Event.RECORD_FAILED,
                "not deleted: its record could not be written",
                logging.ERROR,
                {"error": str(error)},
            )
        self.reporter.verdict(
            verdict, Event.DELETING, "deleting (manifest recorded)", manifest=manifest, record=names
        )
        return None

    def _fresh_decider(self, verdict: Verdict) -> dict[str, Any] | None:
        """GET the object that decided ``verdict``; None when it is proven gone.

        An owner's group stops being served when its last CRD goes (kube-apiserver then
        answers a plain-text 404): the CRD itself, gone with a proper 404, proves it.
        """
        try:
            return self.client.get(recheck_path(verdict, self.inventory), paced=False)
        except ApiError as error:
            crd = owner_crd_path(verdict, self.inventory)
            if error.status != 404 or crd is None or self.client.get(crd, paced=False) is not None:
                raise
            return None
