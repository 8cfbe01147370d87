"""A small REST client for seeding a real API server (envtest) with Gatekeeper-shaped objects.

Contract: ``RealApi`` speaks JSON over HTTPS with a bearer token and the serving CA, one
keep-alive connection per thread; a status >= 400 raises ``ApiError`` (status and the
server's message). ``load(objects)`` creates objects built for the fake server the way a
real cluster holds them: CRDs first (waiting until established), then templates, the other
CRDs, constraints, the rest, policies, and bindings last (a binding enforces at once), each
ownerReference rewritten from the builder's uid to the uid the real server assigned
(references to owners never created keep theirs: they name deleted owners); objects with a
``deletionTimestamp`` are created with their finalizers and then deleted, so the server marks
them terminating; a Deployment's or ReplicaSet's ``status`` is written after its creation
(no controller runs to write it); objects whose kind is not served are skipped.
``wipe()`` removes every VAP, VAPB, Gatekeeper object and CRD (but the CRDs it is told to
keep), and Gatekeeper's Deployments and ReplicaSets, and waits for them to go and for
admission to stop enforcing deleted bindings.
Never used by a real sweep.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from sweeper.core import gatekeeper as gk

_BUILTIN = {
    "Namespace": "namespaces",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "ServiceAccount": "serviceaccounts",
    "Event": "events",
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "Role": "roles",
    "ClusterRole": "clusterroles",
    "RoleBinding": "rolebindings",
    "ClusterRoleBinding": "clusterrolebindings",
    "CustomResourceDefinition": "customresourcedefinitions",
    "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
    "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
    gk.TEMPLATE_KIND: "constrainttemplates",
}
_CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    gk.TEMPLATE_KIND,
}
ADMISSION = "admissionregistration.k8s.io/v1"
VAP, VAPB = "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"
CRD = "CustomResourceDefinition"
GK_NAMESPACE = "gatekeeper-system"
_PROBE = "sweeper-admission-probe"
CRD_API = "apiextensions.k8s.io/v1"
_STATUS_KINDS = ("Deployment", "ReplicaSet")  # their status is read: written after create
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation")


class ApiError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, body: Any) -> None:
        message = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.body = body


def resource_path(
    api_version: str, kind: str, name: str | None = None, namespace: str | None = None
) -> str:
    """The REST path of a kind (constraints: lower-case kind as plural, as Gatekeeper's CRDs)."""
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    plural = _BUILTIN.get(kind, kind.lower())
    scoped = (
        namespace
        and kind not in _CLUSTER_SCOPED
        and not api_version.startswith(gk.CONSTRAINTS_GROUP)
    )
    path = f"{prefix}/namespaces/{namespace}/{plural}" if scoped else f"{prefix}/{plural}"
    return f"{path}/{name}" if name else path


def path_of(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return resource_path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


class RealApi:
    """JSON over HTTPS to one API server as one bearer token."""

    def __init__(self, server: str, token: str, ca_file: Path | str) -> None:
        parsed = urllib.parse.urlsplit(server)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 443
        self.token = token
        self.context = ssl.create_default_context(cafile=str(ca_file))
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPSConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(
                self.host, self.port, context=self.context, timeout=30
            )
            self._local.conn = conn
        return conn

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request; the decoded JSON answer, or ApiError for a status >= 400."""
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, url, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:  # "404 page not found" and other plain-text answers
            answer = raw.decode(errors="replace").strip()
        if response.status >= 400:
            raise ApiError(response.status, method, path, answer)
        return answer

    def create(self, obj: dict[str, Any], *, query: dict[str, str] | None = None) -> dict:
        meta = obj["metadata"]
        path = resource_path(obj["apiVersion"], obj["kind"], None, meta.get("namespace"))
        return self.request("POST", path, obj, query=query)

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def delete(self, path: str, body: dict | None = None, *, missing_ok: bool = True) -> None:
        try:
            self.request("DELETE", path, body)
        except ApiError as err:
            if not (missing_ok and err.status == 404):
                raise

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def items(self, path: str) -> list[dict[str, Any]]:
        """Every item of a collection (404: none, the kind is not served)."""
        listed = self.get(path)
        return [] if listed is None else listed.get("items", [])

    def wait_for(self, what: str, check: Any, timeout: float = 30.0) -> Any:
        """Poll ``check()`` until it returns something truthy, with a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {timeout:.0f}s")
            time.sleep(0.05)

    # --- seeding ---------------------------------------------------------------------------

    def create_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        """Create a CRD and wait until it is established (its kind served)."""
        stored = self.create(_fresh(crd))
        path = resource_path(CRD_API, "CustomResourceDefinition", crd["metadata"]["name"])

        def established() -> dict | None:
            current = self.get(path) or {}
            conditions = (current.get("status") or {}).get("conditions") or []
            ok = any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
            return current if ok else None

        self.wait_for(f"CRD {crd['metadata']['name']} established", established)
        return stored

    def _crd(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a CRD, or reuse one of the same shape (its owners set to ``body``'s)."""
        existing = self.get(path_of(body))
        if existing is None or _crd_signature(existing) != _crd_signature(body):
            if existing is not None:
                raise ApiError(409, "POST", path_of(body), "a different CRD of that name exists")
            return self.create_crd(body)
        owners = body["metadata"].get("ownerReferences")
        return self.merge_patch(path_of(body), {"metadata": {"ownerReferences": owners}})

    def load(self, objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Create ``objects`` in dependency order with real owner uids; returns builder uid ->
        the object as stored (terminating ones as last read)."""
        uids: dict[str, str] = {}
        stored: dict[str, dict[str, Any]] = {}
        served_crds: set[str] = set()
        for obj in sorted(objects, key=_rank):
            if not self._servable(obj, served_crds):
                continue
            body = _fresh(obj)
            for ref in body["metadata"].get("ownerReferences", []):
                ref["uid"] = uids.get(ref["uid"], ref["uid"])
            if obj["kind"] == "Namespace" and self.get(path_of(obj)) is not None:
                continue
            created = self._crd(body) if obj["kind"] == CRD else self._admitted(body)
            if obj["kind"] in _STATUS_KINDS and obj.get("status"):
                created = self._write_status(created, obj["status"])
            if obj["kind"] == CRD:
                served_crds.add(f"{obj['spec']['group']}/{obj['spec']['names']['kind']}")
            if obj["metadata"].get("deletionTimestamp"):
                self.delete(path_of(created))
                created = self.get(path_of(created)) or created
            old_uid = obj["metadata"].get("uid")
            if old_uid:
                uids[old_uid] = created["metadata"]["uid"]
                stored[old_uid] = created
        return stored

    def _admitted(self, body: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        """``create``, again while a binding deleted moments ago still denies it: admission
        reloads its policies about once a second, and ``wipe``'s probe writes cannot see a
        policy that matches only some kinds. Bindings are created last, so no denial here
        comes from this load."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.create(body)
            except ApiError as err:
                stale = err.status == 422 and "denied request" in str(err)
                if not stale or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def _write_status(self, created: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """Write ``status`` through the status subresource: a create drops it, and no
        controller runs here to write one."""
        body = {**created, "status": status}
        return self.request("PUT", path_of(created) + "/status", body)

    def _servable(self, obj: dict[str, Any], served_crds: set[str]) -> bool:
        group = obj["apiVersion"].split("/")[0]
        if group not in (gk.TEMPLATES_GROUP, gk.CONSTRAINTS_GROUP):
            return True
        return f"{group}/{obj['kind']}" in served_crds or self._kind_served(obj)

    def _kind_served(self, obj: dict[str, Any]) -> bool:
        discovery = self.get(f"/apis/{obj['apiVersion']}")
        return bool(discovery) and any(r["kind"] == obj["kind"] for r in discovery["resources"])

    def wipe(self, *, keep_crds: list[dict[str, Any]] = (), timeout: float = 30.0) -> None:
        """Delete every VAP, VAPB, Gatekeeper object and CRD, Gatekeeper's Deployments and
        ReplicaSets; return once all are gone and admission no longer enforces a deleted
        binding.
        CRDs shaped as one in ``keep_crds`` stay (emptied): a new CRD's first write costs the
        real server ~2 s, so scenarios that share CRDs reuse them."""
        wanted = {_crd_signature(c) for c in keep_crds}
        for kind in (VAPB, VAP):
            self.request("DELETE", resource_path(ADMISSION, kind))
        # Bindings deleted moments ago (here or by a sweep) may still enforce for a second.
        self.wait_for("admission forgets the deleted bindings", self.admits, timeout)
        crds = self._gatekeeper_crds()
        for crd in crds:
            path = _collection_of(crd)
            for item in self.items(path):
                if item["metadata"].get("finalizers"):
                    item_path = f"{path}/{item['metadata']['name']}"
                    self.merge_patch(item_path, {"metadata": {"finalizers": None}})
            self.request("DELETE", path)
        for crd in crds:
            if _crd_signature(crd) not in wanted:
                self.delete(resource_path(CRD_API, CRD, crd["metadata"]["name"]))
        if self.get("/api/v1/namespaces/gatekeeper-system"):
            for kind in ("Deployment", "ReplicaSet"):  # no collector removes the ReplicaSets
                self.request("DELETE", resource_path("apps/v1", kind, None, GK_NAMESPACE))

        def all_gone() -> bool:
            left = self._gatekeeper_crds()
            return (
                all(_crd_signature(c) in wanted for c in left)
                and not any(self.items(_collection_of(c)) for c in left)
                and not any(self.items(resource_path(ADMISSION, k)) for k in (VAPB, VAP))
            )

        self.wait_for("Gatekeeper objects wiped", all_gone, timeout)

    def admits(self) -> bool:
        """Whether a label-less ClusterRole and ConfigMap would be admitted (dry runs): false
        while a deleted binding still enforces (admission refreshes its policies about once a
        second). Both scopes: a namespaceSelector never excludes a cluster-scoped object
        (but a Namespace, which it selects by the Namespace's own labels)."""
        probes = [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": _PROBE},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": _PROBE, "namespace": "default"},
            },
        ]
        for probe in probes:
            try:
                self.create(probe, query={"dryRun": "All"})
            except ApiError as err:
                if err.status in (400, 403, 422) and "denied request" in str(err):
                    return False
                if err.status != 409:  # 409: a probe of that name exists; admitted
                    raise
        return True

    def _gatekeeper_crds(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.items(resource_path(CRD_API, CRD))
            if c["spec"]["group"] in (gk.TEMPLATES_GROUP, gk.CONSTRAINTS_GROUP)
        ]


def _collection_of(crd: dict[str, Any]) -> str:
    version = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
    return resource_path(f"{crd['spec']['group']}/{version}", crd["spec"]["names"]["kind"])


def _crd_signature(crd: dict[str, Any]) -> str:
    """What a sweep can see of a CRD: names, group, scope, versions, labels."""
    spec = crd["spec"]
    versions = [(v["name"], v.get("served"), v.get("storage")) for v in spec["versions"]]
    names = {k: v for k, v in spec["names"].items() if k != "listKind"}
    labels = crd["metadata"].get("labels") or {}
    return json.dumps([spec["group"], spec["scope"], names, versions, labels], sort_keys=True)


def _fresh(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the fields a server assigns (a deep copy)."""
    body = json.loads(json.dumps(obj))
    for key in _SERVER_FIELDS:
        body["metadata"].pop(key, None)
    body.pop("status", None)
    return body


def _rank(obj: dict[str, Any]) -> int:
    """Creation order: owners before dependents, and bindings last, since a binding starts
    enforcing its policy (on every write, a leftover's CEL may deny what follows)."""
    kind = obj["kind"]
    if kind == CRD:
        return 0 if obj["metadata"]["name"] == gk.TEMPLATE_CRD_NAME else 3
    order = {"Namespace": 1, gk.TEMPLATE_KIND: 2, "ReplicaSet": 6, VAP: 7, VAPB: 8}
    if kind in order:
        return order[kind]
    return 4 if obj["apiVersion"].startswith(gk.CONSTRAINTS_GROUP) else 5
