"""Gather: read the cluster into an ``Inventory``.

Bindings and policies are listed FIRST, and every owner read (CRDs, templates,
constraints) starts only after both have ended, so an owner created while the sweep runs
is seen (safety invariant 3). Reads that do not depend on each other run concurrently, at
most ``concurrency`` at once: the same requests as one after another, never more. Every
read records whether it completed; a failed list never reads as "absent". Objects are kept
as compact records holding only the fields decisions need. Gather reads; it never deletes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from sweeper.cluster.kube import ApiError, KubeClient
from sweeper.core import gatekeeper as gk
from sweeper.core import paths
from sweeper.core.inventory import Inventory, ListKey, ListStatus, Presence, Source
from sweeper.core.records import (
    BINDING_KIND,
    POLICY_KIND,
    AdmissionObject,
    ConstraintKind,
    ConstraintRecord,
    admission_object,
    constraint_kind,
    constraint_record,
    served_version,
    template_record,
)

T = TypeVar("T")
KIND_LISTS_PER_READ = 4  # per-kind constraint LISTs in flight per --read-concurrency
MAX_KIND_LISTS = 32
TEMPLATE_VERSIONS = ("v1", "v1beta1", "v1alpha1")
CONSTRAINT_VERSIONS = ("v1beta1", "v1", "v1alpha1")


def discover_vap_version(client: KubeClient) -> str | None:
    """``v1`` if the cluster serves VAP bindings there, else ``v1beta1``, else None.

    Discovery may only tell what is served; it never proves that an object is absent.
    """
    for version in ("v1", "v1beta1"):
        path = paths.admission_group(version)
        # admissionregistration.k8s.io/v1 (webhooks) is served by every supported
        # Kubernetes: a 404 there means this is not the API server (a wrong proxy path),
        # an error, not "nothing to do".
        document = client.get(path) if version == "v1" else client.discover(path)
        resources = document.get("resources") if document else None
        if isinstance(resources, list) and any(
            isinstance(entry, dict) and entry.get("name") == paths.BINDINGS for entry in resources
        ):
            return version
    return None


class _Inline:
    """An executor that runs each task at once, in the caller's thread (concurrency 1)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # re-raised by result(), as a pool's future does
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing is ever pending."""


class _Reads:
    """Runs reads, recording each one's outcome in ``lists`` instead of raising.

    Reads may run in the worker threads of ``pool``; only the calling thread waits on them,
    so a task never waits for another task (a bounded pool cannot deadlock).
    """

    def __init__(self, client: KubeClient, *, concurrency: int = 1) -> None:
        self.client = client
        self.lists: dict[ListKey, ListStatus] = {}
        self._lock = threading.Lock()
        self.pool = _pool(concurrency, "gather")
        # The many small per-kind constraint LISTs have a pool of their own, wider, so that
        # they take ~3 rounds instead of ~14, and the reads that head longer chains (the
        # template CRD, a missing kind's CRD, discovery) never queue behind them.
        self.kinds_pool = _pool(
            1 if concurrency <= 1 else min(MAX_KIND_LISTS, KIND_LISTS_PER_READ * concurrency),
            "gather-kinds",
        )

    def record(self, key: ListKey, status: ListStatus) -> None:
        with self._lock:
            self.lists[key] = status

    def failed(self, key: ListKey, path: str, error: ApiError) -> None:
        self.record(key, ListStatus(path=path, error=str(error), status=error.status))

    def all(self, tasks: Iterable[tuple[Callable[..., T], tuple[Any, ...]]]) -> list[T]:
        """Run every task concurrently; their results, in the tasks' order."""
        futures = [self.pool.submit(fn, *args) for fn, args in tasks]
        return [future.result() for future in futures]

    def list(
        self,
        key: ListKey,
        path: str,
        transform: Callable[[dict[str, Any]], T],
        *,
        label_selector: str | None = None,
        keep: list[bytes] | None = None,
    ) -> list[T]:
        try:
            items = self.client.list(
                path, label_selector=label_selector, transform=transform, keep=keep
            )
        except ApiError as error:
            self.failed(key, path, error)
            return []
        self.record(key, ListStatus(path=path, count=len(items)))
        return items

    def presence(self, key: ListKey, path: str) -> tuple[Presence, dict[str, Any] | None]:
        """Whether the object at ``path`` exists, proven by GET (404 = absent)."""
        try:
            obj = self.client.get(path)
        except ApiError as error:
            self.failed(key, path, error)
            return Presence.UNKNOWN, None
        self.record(key, ListStatus(path=path, count=0 if obj is None else 1))
        return (Presence.ABSENT, None) if obj is None else (Presence.PRESENT, obj)

    def served_constraint_kinds(self) -> dict[str, ConstraintKind] | None:
        """Constraint kinds the API serves, by lower kind, from discovery; None on failure.

        Used only to prove a kind PRESENT: discovery never proves one absent on its own.
        The group's versions are read concurrently; kinds are merged in preference order.
        """
        key, group_path = ListKey(Source.DISCOVERY), paths.constraints_group()
        found: dict[str, ConstraintKind] = {}
        try:
            versions = _versions_by_preference(self.client.discover(group_path))
            documents = self.all(
                (self.client.discover, (paths.constraints_group(v),)) for v in versions
            )
            for version, document in zip(versions, documents, strict=True):
                resources = (document or {}).get("resources")
                for entry in resources if isinstance(resources, list) else []:
                    kind, plural = (
                        entry.get(k) if isinstance(entry, dict) else None for k in ("kind", "name")
                    )
                    if isinstance(kind, str) and isinstance(plural, str) and "/" not in plural:
                        found.setdefault(kind.lower(), ConstraintKind(kind, plural, version))
        except ApiError as error:
            self.failed(key, group_path, error)
            return None
        self.record(key, ListStatus(path=group_path, count=len(found)))
        return found

    def ordered_lists(self) -> dict[ListKey, ListStatus]:
        """``lists`` in the order a one-at-a-time gather records them, whatever order the
        concurrent reads ended in: the ``list_failed`` lines and the first error stay
        stable from run to run."""
        rank = {source: i for i, source in enumerate(_SOURCE_ORDER)}
        with self._lock:
            return dict(
                sorted(self.lists.items(), key=lambda item: (rank[item[0].source], item[0].kind))
            )

    def close(self) -> None:
        # A failure (stop signal, deadline) must not leave queued reads to run on.
        self.kinds_pool.shutdown(wait=True, cancel_futures=True)
        self.pool.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int, name: str) -> ThreadPoolExecutor | _Inline:
    return _Inline() if workers <= 1 else ThreadPoolExecutor(workers, thread_name_prefix=name)


_SOURCE_ORDER = (
    Source.BINDINGS,
    Source.POLICIES,
    Source.CRDS,
    Source.TEMPLATE_CRD,
    Source.TEMPLATES,
    Source.CONSTRAINTS,
    Source.CRD,
    Source.DISCOVERY,
)


def _versions_by_preference(group: dict[str, Any] | None) -> list[str]:
    """The versions a discovery group document lists, in the order gather lists kinds."""
    versions = group.get("versions") if group else []
    names = [v.get("version") for v in versions if isinstance(v, dict)]
    order = CONSTRAINT_VERSIONS
    return sorted(
        (n for n in names if isinstance(n, str)),
        key=lambda v: order.index(v) if v in order else len(order),
    )


def gather(
    client: KubeClient, *, vap_version: str, concurrency: int = 1, keep_pages: bool = False
) -> Inventory:
    """List bindings and policies, then CRDs, templates and constraints, ``concurrency``
    reads at a time (1: one after another, in that order); ``keep_pages``: the inventory
    holds the raw pages of bindings and policies (a dry run's manifests)."""
    reads = _Reads(client, concurrency=concurrency)
    try:
        return _gather(reads, vap_version, keep_pages=keep_pages)
    finally:
        reads.close()


def _gather(reads: _Reads, vap_version: str, *, keep_pages: bool) -> Inventory:
    # Stage 1: the generated objects. Both lists end before any owner read starts.
    kept: dict[str, list[bytes]] = {BINDING_KIND: [], POLICY_KIND: []}
    bindings_read, policies_read = (
        reads.pool.submit(
            reads.list,
            ListKey(source),
            paths.admission(vap_version, resource),
            functools.partial(admission_object, kind),
            keep=kept[kind] if keep_pages else None,
        )
        for source, resource, kind in (
            (Source.BINDINGS, paths.BINDINGS, BINDING_KIND),
            (Source.POLICIES, paths.POLICIES, POLICY_KIND),
        )
    )
    bindings, policies = bindings_read.result(), policies_read.result()
    # Stage 2: the owners. Templates (a GET of their CRD, then the LIST) run beside the
    # labelled CRD list and then beside every constraint kind's LIST.
    labelled_read = reads.pool.submit(
        reads.list,
        ListKey(Source.CRDS),
        paths.crd(),
        constraint_kind,
        label_selector=f"{gk.CONSTRAINT_CRD_LABEL}=yes",
    )
    templates_read = reads.pool.submit(_templates, reads)
    labelled = labelled_read.result()
    served = {entry.kind.lower(): entry for entry in labelled if entry is not None}
    kinds = dict.fromkeys(served, Presence.PRESENT)
    # The GETs of referenced kinds missing from the labelled list go first: they head the
    # longest chain (GET, then discovery of the group, then of its versions).
    missing = _missing_kinds(bindings, known=kinds.keys())
    crd_reads = [
        reads.pool.submit(reads.presence, ListKey.crd(k), paths.crd(gk.constraint_crd_name(k)))
        for k in missing
    ]
    constraint_reads = [reads.kinds_pool.submit(_constraints, reads, e) for e in served.values()]
    discovered = _discover_on_first_absent(reads, crd_reads)
    found = [read.result() for read in crd_reads]
    for kind, presence, entry in _unlisted_kinds(reads, missing, found, discovered):
        kinds[kind] = presence
        if entry is not None:  # present but unlabelled: list its constraints as well
            served[kind] = entry
            constraint_reads.append(reads.kinds_pool.submit(_constraints, reads, entry))
    constraints: dict[tuple[str, str], ConstraintRecord] = {}
    for read in constraint_reads:
        constraints.update(read.result())
    template_crd, template_version, templates = templates_read.result()
    return Inventory(
        vap_version=vap_version,
        bindings=tuple(bindings),
        policies=tuple(policies),
        lists=reads.ordered_lists(),
        template_crd=template_crd,
        kinds=kinds,
        templates=templates,
        constraints=constraints,
        template_version=template_version,
        constraint_kinds=served,
        pages=tuple((kind, page) for kind, pages in kept.items() for page in pages),
    )


def _templates(reads: _Reads) -> tuple[Presence, str | None, dict[str, Any]]:
    """The template CRD's presence, its served version, and the templates it serves."""
    key = ListKey(Source.TEMPLATES)
    presence, crd = reads.presence(ListKey(Source.TEMPLATE_CRD), paths.crd(gk.TEMPLATE_CRD_NAME))
    if presence is not Presence.PRESENT or crd is None:
        return presence, None, {}
    version = served_version(crd, preferred=TEMPLATE_VERSIONS)
    if version is None:
        reads.record(
            key, ListStatus(path=gk.TEMPLATE_CRD_NAME, error="template CRD serves no known version")
        )
        return presence, None, {}
    return presence, version, dict(reads.list(key, paths.templates(version), template_record))


def _constraints(reads: _Reads, entry: ConstraintKind) -> list[tuple[tuple[str, str], Any]]:
    return reads.list(
        ListKey.constraints(entry.kind),
        paths.constraints(entry.version, entry.plural),
        lambda obj: constraint_record(entry.kind, obj),
    )


def _missing_kinds(bindings: list[AdmissionObject], *, known: Any) -> list[str]:
    """Constraint kinds (lower) that bindings point at and the labelled CRD list lacks."""
    referenced = {
        obj.owner.kind.lower()
        for obj in bindings
        if obj.owner is not None and obj.owner.group == gk.CONSTRAINTS_GROUP
    }
    referenced |= {obj.fingerprint[0] for obj in bindings if obj.fingerprint}
    return sorted(referenced - set(known))


def _discover_on_first_absent(
    reads: _Reads, crd_reads: list[Future[tuple[Presence, dict[str, Any] | None]]]
) -> dict[str, ConstraintKind] | None:
    """Discovery of the constraints group, read as soon as one GET of a missing kind's CRD
    answers 404 (the chain GET, group, versions is the longest of the owner reads: it does
    not wait for the slowest GET); None when none does, or discovery failed."""
    pending = set(crd_reads)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        if any(read.result()[0] is Presence.ABSENT for read in done):
            return reads.served_constraint_kinds()
    return None


def _unlisted_kinds(
    reads: _Reads,
    missing: list[str],
    found: list[tuple[Presence, dict[str, Any] | None]],
    served: dict[str, ConstraintKind] | None,
) -> list[tuple[str, Presence, ConstraintKind | None]]:
    """Each missing kind, from the GET of its CRD by name (``found``): present, absent or
    unknown.

    Such a kind is only gone once that GET answered 404 AND discovery (``served``) does not
    serve it: a CRD is named after its plural, so an unlabelled CRD with an unusual plural
    escapes the GET by name. Discovery is read only when some GET answered 404.
    """
    out = []
    for kind, (presence, crd) in zip(missing, found, strict=True):
        entry = constraint_kind(crd) if crd is not None else None
        if presence is Presence.ABSENT:
            entry = served.get(kind) if served is not None else None
            if entry is not None:
                presence = Presence.PRESENT
            elif served is None:
                presence = Presence.UNKNOWN
        elif presence is Presence.PRESENT and entry is None:
            reads.record(
                ListKey.constraints(kind),
                ListStatus(path=gk.constraint_crd_name(kind), error="constraint CRD is malformed"),
            )
        out.append((kind, presence, entry))
    return out
