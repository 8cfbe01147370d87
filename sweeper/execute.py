"""Apply: carry out a plan's deletions, safely, and say what happened to each.

Before anything is deleted the blast-radius guards are checked. Each candidate's deciding
object (its owner, the owner's CRD, or the new-scheme binding) is read again, and
``recheck.still_deletable`` judges the fresh state; only then is the DELETE sent, with uid
and resourceVersion preconditions. ``--dry-run`` sends no write request at all. Apply
never re-plans the world: it only narrows what the plan decided.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sweeper import gatekeeper as gk
from sweeper.inventory import BINDINGS, CRD_PATH, POLICIES, Inventory, admission_path
from sweeper.kube import ApiError, DeleteResult, Interrupted, KubeClient, SweepAborted
from sweeper.reasons import Action, Event
from sweeper.recheck import still_deletable
from sweeper.report import Reporter, names
from sweeper.settings import Settings
from sweeper.verdicts import Plan, Recheck, Verdict

_DELETE_EVENTS = {
    DeleteResult.DELETED: (Event.DELETED, "deleted"),
    DeleteResult.GONE: (Event.ALREADY_GONE, "already deleted by someone else"),
    DeleteResult.CONFLICT: (Event.CONFLICT, "changed since it was listed; left alone"),
}


@dataclass(frozen=True, slots=True)
class GuardTrip:
    limit: str
    value: float
    candidates: int


def check_guards(plan: Plan, settings: Settings) -> GuardTrip | None:
    """The first blast-radius limit the plan's deletions exceed, if any."""
    guards = settings.guards
    count = len(plan.deletions)
    if guards.max_deletions and count > guards.max_deletions:
        return GuardTrip("max_deletions", guards.max_deletions, count)
    generated = sum(1 for v in plan.verdicts if v.action is not Action.IGNORE)
    percent = guards.max_deletion_percent
    if percent and generated and count * 100 > percent * generated:
        return GuardTrip("max_deletion_percent", percent, count)
    return None


def recheck_path(verdict: Verdict, inventory: Inventory) -> str:
    """Where the object that decided ``verdict`` lives."""
    owner, recheck = verdict.owner, verdict.recheck
    assert owner is not None and recheck is not None
    kind = owner.kind.lower()
    if recheck is Recheck.TEMPLATE_CRD:
        return f"{CRD_PATH}/{gk.TEMPLATE_CRD_NAME}"
    if recheck is Recheck.CONSTRAINT_CRD:
        return f"{CRD_PATH}/{gk.constraint_crd_name(kind)}"
    if recheck is Recheck.NEW_BINDING:
        return admission_path(
            inventory.vap_version, BINDINGS, gk.binding_name(owner.kind, owner.name)
        )
    if recheck is Recheck.LEGACY_BINDING:  # rows 8-9 under Gatekeeper <= v3.22.0
        return admission_path(inventory.vap_version, BINDINGS, gk.legacy_binding_name(owner.name))
    if recheck is Recheck.TEMPLATE:
        name = owner.name if not verdict.obj.is_binding else gk.template_name_for_kind(kind)
        version = inventory.template_version or "v1"
        return f"/apis/{gk.TEMPLATES_GROUP}/{version}/constrainttemplates/{name}"
    base = inventory.constraint_paths.get(kind, f"/apis/{gk.CONSTRAINTS_GROUP}/v1beta1/{kind}")
    return f"{base}/{owner.name}"


def owner_crd_path(verdict: Verdict, inventory: Inventory) -> str | None:
    """The CRD serving the owner a CONSTRAINT or TEMPLATE re-check reads, by its real name."""
    owner = verdict.owner
    if owner is None or verdict.recheck not in (Recheck.CONSTRAINT, Recheck.TEMPLATE):
        return None
    if verdict.recheck is Recheck.TEMPLATE:
        return f"{CRD_PATH}/{gk.TEMPLATE_CRD_NAME}"
    kind = owner.kind.lower()
    listed = inventory.constraint_paths.get(kind)
    plural = listed.rsplit("/", 1)[-1] if listed else kind
    return f"{CRD_PATH}/{plural}.{gk.CONSTRAINTS_GROUP}"


def object_path(verdict: Verdict, inventory: Inventory) -> str:
    resource = BINDINGS if verdict.obj.is_binding else POLICIES
    return admission_path(inventory.vap_version, resource, verdict.obj.name)


class Applier:
    """Deletes a plan's candidates, bindings before policies, with bounded concurrency."""

    def __init__(
        self,
        client: KubeClient,
        *,
        inventory: Inventory,
        settings: Settings,
        reporter: Reporter,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.inventory = inventory
        self.settings = settings
        self.reporter = reporter
        self.stop = stop or threading.Event()
        self.aborted: SweepAborted | None = None
        self.denied: str | None = None  # the first 401/403 of the apply phase

    def apply(self, plan: Plan) -> GuardTrip | None:
        """Run every deletion of ``plan``; returns the guard that stopped it, if one did."""
        trip = check_guards(plan, self.settings)
        if trip is not None:
            self.reporter.event(
                Event.GUARD_TRIPPED,
                "too many deletions planned; nothing deleted",
                level=logging.ERROR,
                limit=trip.limit,
                limit_value=trip.value,
                candidate_count=trip.candidates,
                candidates=names(plan.deletions, limit=200),
            )
            return trip
        bindings = [v for v in plan.deletions if v.obj.is_binding]
        policies = [v for v in plan.deletions if not v.obj.is_binding]
        # Bindings first: a policy deleted before its binding leaves the binding dangling.
        for batch in (bindings, policies):
            self._run(batch, self._apply_one)
        return None

    def _run(self, batch: list[Verdict], work: Callable[[Verdict], None]) -> None:
        workers = min(self.settings.access.concurrency, len(batch))
        if workers <= 1:
            for verdict in batch:
                work(verdict)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweeper") as pool:
            list(pool.map(work, batch))

    def _apply_one(self, verdict: Verdict) -> None:
        report = self.reporter.verdict
        if self.stop.is_set() and self.aborted is None:
            self.aborted = Interrupted("stopped by a signal; the requests in flight finished")
        if self.aborted is not None:
            report(
                verdict,
                Event.INTERRUPTED,
                "sweep stopped before this object",
                level=logging.WARNING,
            )
            return
        try:
            result = self._recheck_and_delete(verdict)
        except ApiError as error:
            if error.status in (401, 403) and self.denied is None:
                self.denied = str(error)  # credentials or RBAC: exit 2, like a denied list
            stage = (
                "re-check before the DELETE failed; not deleted"
                if error.verb == "get"
                else "delete failed"
            )
            report(verdict, Event.DELETE_FAILED, stage, level=logging.ERROR, error=str(error))
            return
        except SweepAborted as error:
            self.aborted = error
            report(verdict, Event.INTERRUPTED, str(error), level=logging.WARNING)
            return
        if isinstance(result, tuple):
            event, message, fields = result
            report(verdict, event, message, **fields)
            return
        event, message = _DELETE_EVENTS[result]
        level = logging.WARNING if result is DeleteResult.CONFLICT else logging.INFO
        report(verdict, event, message, level=level)

    def _recheck_and_delete(
        self, verdict: Verdict
    ) -> DeleteResult | tuple[Event, str, dict[str, str]]:
        """Re-read what decided ``verdict``, then DELETE once; a failed DELETE is retried only
        after a fresh look at the object (did the lost answer hide a success?) and its owner.
        """
        started = self.client.now()
        path = object_path(verdict, self.inventory)
        for attempt in range(1, self.client.attempts + 1):
            # Both tokens up front: no rate-limit wait may fall between the re-check and
            # the DELETE, or an owner back in that gap would go unseen.
            self.client.pace(1 if self.settings.dry_run else 2)
            fresh = self._fresh_decider(verdict)
            deletable, why = still_deletable(
                verdict, fresh, inventory=self.inventory, rules=self.settings.rules
            )
            if not deletable:
                return Event.OWNER_BACK, f"kept: {why}", {}
            if self.settings.dry_run:
                return Event.WOULD_DELETE, "would delete (dry run)", {"recheck": why}
            try:
                return self.client.delete(
                    path,
                    uid=verdict.obj.uid,
                    resource_version=verdict.obj.resource_version,
                    retry=False,
                )
            except ApiError as error:
                last = attempt == self.client.attempts or not self.client.retry_time_left(started)
                if not error.retryable or last:
                    raise
                self.client.back_off(attempt, error, started=started)
                # The DELETE may have taken effect with its answer lost: look before retrying.
                try:
                    current = self.client.get(path, attempts=1)
                except ApiError:
                    raise error from None  # what failed is the DELETE; its outcome is unknown
                # Gone: by our DELETE if its answer could have been lost on the way back.
                answer_lost = error.transport or error.status in (500, 502, 504)
            if current is None:
                if answer_lost:
                    return Event.DELETED, "deleted (the DELETE's answer was lost; it is gone)", {}
                return DeleteResult.GONE
            meta = current.get("metadata")
            same = isinstance(meta, dict) and (meta.get("uid"), meta.get("resourceVersion")) == (
                verdict.obj.uid,
                verdict.obj.resource_version,
            )
            if not same:
                return DeleteResult.CONFLICT
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _fresh_decider(self, verdict: Verdict) -> dict | None:
        """GET the object that decided ``verdict``; None when it is proven gone.

        An owner's group stops being served when its last CRD goes (kube-apiserver then
        answers a plain-text 404): the CRD itself, gone with a proper 404, proves it.
        """
        try:
            return self.client.get(recheck_path(verdict, self.inventory))
        except ApiError as error:
            crd = owner_crd_path(verdict, self.inventory)
            if error.status != 404 or crd is None or self.client.get(crd) is not None:
                raise
            return None
