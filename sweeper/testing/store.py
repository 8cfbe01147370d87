"""State behind the fake API server: stored objects, resource table, pagination, faults.

Contract: one lock guards everything; stored objects are private copies that are never
mutated after insertion (a write replaces the dict), so readers may serialise them after
releasing the lock. Custom kinds are served only while their CRD is stored; deleting a
CRD leaves its objects in place (no garbage collection, ever). The sorted per-kind
collections are in `collection`, the checks a write request passes before storage in
`writes`. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sweeper.testing.api import (
    ADMISSION,
    CRD_KEY,
    EXPIRED_MESSAGE,
    VAP_STORAGE_VERSIONS,
    AlreadyExistsError,
    ApiError,
    ResourceType,
    builtin_types,
    copy_json,
    crd_types,
    deleted_status,
)
from sweeper.testing.collection import Collection, object_key
from sweeper.testing.faults import Fault, Hook
from sweeper.testing.selectors import parse_label_selector
from sweeper.testing.writes import already_exists, check_preconditions, prepare_create


class Store:
    """Objects, resource table, continue tokens, faults and hooks, under one lock."""

    def __init__(self, *, vap_versions: tuple[str, ...], clock: Callable[[], datetime]) -> None:
        self.lock = threading.Lock()
        self._clock = clock
        self._builtins = builtin_types(vap_versions)
        self._rv = 1000
        self._collections: dict[tuple[str, str], Collection] = {}
        self._served: dict[tuple[str, str, str], ResourceType] | None = None
        self._kinds: dict[tuple[str, str], tuple[bool, set[str]]] = {}
        self._token_serial = 0
        self._expired_serial = 0
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []

    # --- resource table (lock held) ---
    def _table(self) -> dict[tuple[str, str, str], ResourceType]:
        if self._served is None:
            served: dict[tuple[str, str, str], ResourceType] = {}
            kinds: dict[tuple[str, str], tuple[bool, set[str]]] = {}
            for rt in self._builtins:
                served[(rt.group, rt.version, rt.plural)] = rt
                kinds[(rt.group, rt.kind)] = (rt.namespaced, {rt.version})
            for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
                kinds[(ADMISSION, kind)] = (False, set(VAP_STORAGE_VERSIONS))
            crds = self._collections.get(CRD_KEY)
            for key in crds.names() if crds else ():
                types, versions = crd_types(crds.items[key])
                for rt in types:
                    served.setdefault((rt.group, rt.version, rt.plural), rt)
                if types:
                    kinds.setdefault(
                        (types[0].group, types[0].kind), (types[0].namespaced, versions)
                    )
            self._served, self._kinds = served, kinds
        return self._served

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The served type at /apis/group/version/plural, or None."""
        with self.lock:
            return self._table().get((group, version, plural))

    def served_types(self) -> list[ResourceType]:
        """Every served type (for discovery)."""
        with self.lock:
            return list(self._table().values())

    # --- writes (lock held) ---
    def _timestamp(self) -> str:
        """Now, as metadata.creationTimestamp spells it (RFC 3339, seconds, UTC)."""
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _changed(self, coll_key: tuple[str, str]) -> None:
        if coll_key == CRD_KEY:
            self._served = None

    def _locate(self, obj: dict[str, Any], force: bool) -> tuple[tuple[str, str], str]:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        meta = obj.get("metadata")
        if (
            not isinstance(api_version, str)
            or not isinstance(kind, str)
            or not isinstance(meta, dict)
            or not meta.get("name")
        ):
            raise ValueError("object needs apiVersion, kind and metadata.name")
        group, _, version = api_version.rpartition("/")
        self._table()
        entry = self._kinds.get((group, kind))
        if entry is not None and version in entry[1]:
            namespaced = entry[0]
        elif force:
            namespaced = entry[0] if entry else bool(meta.get("namespace"))
        else:
            raise ValueError(f"no served or CRD-defined type for {api_version} {kind}")
        if namespaced:
            meta.setdefault("namespace", "default")
        return (group, kind), object_key(namespaced, meta.get("namespace"), meta["name"])

    def _insert(self, obj: dict[str, Any], *, force: bool) -> dict[str, Any]:
        coll_key, key = self._locate(obj, force)
        coll = self._collections.setdefault(coll_key, Collection())
        if key in coll.items:
            raise AlreadyExistsError(f"{obj['kind']} {key!r} already exists")
        meta = obj["metadata"]
        if not meta.get("uid"):
            meta["uid"] = str(uuid.uuid4())
        if not meta.get("creationTimestamp"):
            meta["creationTimestamp"] = self._timestamp()
        meta["resourceVersion"] = self._next_rv()
        coll.put(key, obj)
        self._changed(coll_key)
        return obj

    # --- direct API ---
    def create(self, obj: dict[str, Any], *, force: bool = False) -> dict[str, Any]:
        """Store a copy of obj (see FakeApiServer.create)."""
        with self.lock:
            return copy_json(self._insert(copy_json(obj), force=force))

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Overwrite a stored object: new resourceVersion, uid/creationTimestamp kept if absent."""
        new = copy_json(obj)
        with self.lock:
            coll_key, key = self._locate(new, True)
            coll = self._collections.get(coll_key)
            old = coll.items.get(key) if coll else None
            if coll is None or old is None:
                raise KeyError(f"{new['kind']} {key!r} not found")
            meta = new["metadata"]
            for field_ in ("uid", "creationTimestamp"):
                if not meta.get(field_):
                    meta[field_] = old["metadata"][field_]
            meta["resourceVersion"] = self._next_rv()
            coll.put(key, new)
            self._changed(coll_key)
            return copy_json(new)

    def _find(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> tuple[tuple[str, str], str | None]:
        coll_key = (api_version.rpartition("/")[0], kind)
        coll = self._collections.get(coll_key)
        if coll is None:
            return coll_key, None
        for key in (name, object_key(True, namespace, name)):
            if key in coll.items:
                return coll_key, key
        return coll_key, None

    def delete(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> None:
        """Remove an object unconditionally (KeyError if absent)."""
        with self.lock:
            coll_key, key = self._find(api_version, kind, name, namespace)
            if key is None:
                raise KeyError(f"{kind} {name!r} not found")
            self._collections[coll_key].remove(key)
            self._next_rv()
            self._changed(coll_key)

    def get(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """A copy of the stored object (any version of the group), or None."""
        with self.lock:
            coll_key, key = self._find(api_version, kind, name, namespace)
            return None if key is None else copy_json(self._collections[coll_key].items[key])

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Copies of every stored object of this kind (any group), sorted by name."""
        with self.lock:
            found = [
                (key, obj)
                for (_, k), coll in self._collections.items()
                if k == kind
                for key, obj in coll.items.items()
            ]
            found.sort(key=lambda pair: pair[0])
            return copy_json([obj for _, obj in found])

    # --- HTTP verbs ---
    def _token(self, rv: int, start: str) -> str:
        self._token_serial += 1
        raw = json.dumps({"rv": rv, "start": start, "n": self._token_serial}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _untoken(self, token: str) -> tuple[int, str]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            rv, start, serial = int(data["rv"]), str(data["start"]), int(data["n"])
        except (binascii.Error, ValueError, TypeError, KeyError) as exc:
            raise ApiError(410, EXPIRED_MESSAGE, reason="Expired") from exc
        if serial <= self._expired_serial or serial > self._token_serial:
            raise ApiError(410, EXPIRED_MESSAGE, reason="Expired")
        return rv, start

    def expire_continue_tokens(self) -> None:
        """Every continue token issued so far answers 410 from now on."""
        with self.lock:
            self._expired_serial = self._token_serial

    def list(
        self, rt: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> dict[str, Any]:
        """One page of a LIST, like kube-apiserver (limit, continue, equality label selector)."""
        if query.get("fieldSelector"):
            # Nothing the fake serves lists by field; refusing beats silently ignoring it.
            raise ApiError(400, "field selectors are not supported by the fake API server")
        try:
            limit = int(query.get("limit") or 0)
            labels = parse_label_selector(query.get("labelSelector", ""))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        if limit < 0:
            raise ApiError(400, "limit must not be negative")
        tests = [labels] if labels is not None else []
        with self.lock:
            list_rv, start = self._rv, None
            if query.get("continue"):
                list_rv, start = self._untoken(query["continue"])
            coll = self._collections.get((rt.group, rt.kind))
            names = coll.names() if coll else []
            lo, hi = 0, len(names)
            if namespace is not None:
                lo, hi = bisect_left(names, namespace + "/"), bisect_left(names, namespace + "0")
            i = lo if start is None else bisect_right(names, start, lo, hi)
            items: list[dict[str, Any]] = []
            while i < hi and not (limit and len(items) >= limit):
                obj = coll.items[names[i]]  # type: ignore[union-attr]
                i += 1
                if all(test(obj) for test in tests):
                    items.append(obj)
            meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
            if limit and i < hi:
                meta["continue"] = self._token(list_rv, names[i - 1])
                if not tests:
                    meta["remainingItemCount"] = hi - i
        gv = rt.api_version
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": gv,
            "metadata": meta,
            "items": [{**obj, "apiVersion": gv} for obj in items],
        }

    def read(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        """GET of one object, or a 404 ApiError."""
        with self.lock:
            coll = self._collections.get((rt.group, rt.kind))
            obj = coll.items.get(object_key(rt.namespaced, namespace, name)) if coll else None
        if obj is None:
            raise rt.not_found(name)
        return {**obj, "apiVersion": rt.api_version}

    def create_from_request(
        self, rt: ResourceType, namespace: str | None, obj: Any, *, dry_run: bool = False
    ) -> dict[str, Any]:
        """POST of an object to a collection, in kube-apiserver's order: decode (400), fill
        the system fields (rest.BeforeCreate: uid and creationTimestamp always new), validate
        (422), then storage (a set resourceVersion is a plain 500, a taken name 409)."""
        obj = prepare_create(rt, namespace, obj, timestamp=self._timestamp)
        meta = obj["metadata"]
        with self.lock:
            coll = self._collections.get((rt.group, rt.kind))
            taken = (
                coll is not None
                and object_key(rt.namespaced, namespace, meta["name"]) in coll.items
            )
            if meta.get("resourceVersion") and not dry_run:
                # storage.ErrResourceVersionSetOnCreate is no Status error: the handler
                # answers it as an InternalError-coded Status with no reason.
                raise ApiError(
                    500, "resourceVersion should not be set on objects to be created", reason=""
                )
            if taken:
                raise already_exists(rt, meta["name"])
            meta.pop("resourceVersion", None)
            if dry_run:
                return obj
            try:
                return copy_json(self._insert(obj, force=True))
            except AlreadyExistsError as exc:  # pragma: no cover - checked under this lock
                raise ApiError(409, str(exc), reason="AlreadyExists") from exc

    def delete_from_request(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """DELETE honouring `preconditions` (uid, resourceVersion); a dry run changes nothing
        and answers what the real one would have."""
        pre = options.get("preconditions") or {}
        with self.lock:
            coll = self._collections.get((rt.group, rt.kind))
            key = object_key(rt.namespaced, namespace, name)
            obj = coll.items.get(key) if coll else None
            if coll is None or obj is None:
                raise rt.not_found(name)
            check_preconditions(rt, name, obj["metadata"], pre)
            if not dry_run:
                coll.remove(key)
                self._next_rv()
                self._changed((rt.group, rt.kind))
        if rt.returns_deleted_object:
            return {**obj, "apiVersion": rt.api_version}
        return deleted_status(rt, obj)

    # --- faults and hooks ---
    def add_fault(self, fault: Fault) -> Fault:
        """Append a fault (checked in insertion order)."""
        with self.lock:
            self.faults.append(fault)
        return fault

    def remove_fault(self, fault: Fault) -> None:
        """Forget a fault (no error if already gone)."""
        with self.lock:
            if fault in self.faults:
                self.faults.remove(fault)

    def take_fault(self, method: str, path: str, raw_query: str) -> Fault | None:
        """The first fault with applications left that matches; counts the hit."""
        with self.lock:
            for fault in self.faults:
                if not fault.exhausted and fault.matches(method, path, raw_query):
                    fault.hits += 1
                    return fault
        return None

    def take_hooks(self, method: str, path: str) -> list[Callable[[Any], None]]:
        """Actions of every hook with runs left that matches; counts the runs."""
        with self.lock:
            actions = []
            for hook in self.hooks:
                if hook.times is not None and hook.hits >= hook.times:
                    continue
                if hook.method in ("*", method.upper()) and re.search(hook.path, path):
                    hook.hits += 1
                    actions.append(hook.action)
            return actions
