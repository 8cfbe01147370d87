"""Kubernetes API vocabulary for the fake server: resource types, Status, version priority.

Contract: pure functions and immutable values, no state and no I/O; the rules mirror
kube-apiserver where the sweeper depends on them (Status shape, version priority, the
resource types served). Request paths are in `paths`, label selectors in `selectors`.
Stdlib only.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from typing import Any

CORE = ""
APIEXT = "apiextensions.k8s.io"
ADMISSION = "admissionregistration.k8s.io"
APPS = "apps"
CRD_KEY = (APIEXT, "CustomResourceDefinition")
VAP_STORAGE_VERSIONS = frozenset({"v1", "v1beta1", "v1alpha1"})

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


def status_body(
    code: int, message: str, *, reason: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Kubernetes `Status` failure object; reason "" leaves it out (StatusReasonUnknown,
    omitempty), as kube-apiserver does for errors that are no Status of their own."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": REASONS.get(code, "Unknown") if reason is None else reason,
        "code": code,
    }
    if not body["reason"]:
        del body["reason"]
    if details is not None:
        body["details"] = details
    return body


class ApiError(Exception):
    """An HTTP error answered with a `Status` body."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status_body(code, message, reason=reason, details=details)


class AlreadyExistsError(ValueError):
    """create() of a name that is already stored."""


# The verbs discovery lists: built-in stores (sorted), and the CRD handler's own order.
BUILTIN_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CUSTOM_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
API_EXTENSIONS = ("api-extensions",)


@dataclass(frozen=True)
class ResourceType:
    """One served (group, version, plural)."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = BUILTIN_VERBS
    # genericregistry.Store.ReturnDeletedObject: most stores answer a DELETE with a
    # Status naming the object; a few (CRDs, through their finalizer) with the object.
    returns_deleted_object: bool = False

    @property
    def api_version(self) -> str:
        """`group/version`, or just the version for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`plural.group` as kube-apiserver spells it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def not_found(self, name: str) -> ApiError:
        """The 404 kube-apiserver answers for a missing object of this type."""
        return ApiError(
            404,
            f'{self.qualified} "{name}" not found',
            details={"name": name, "group": self.group, "kind": self.plural},
        )


def deleted_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The `Status` Success kube-apiserver answers a DELETE with (finalizeDelete)."""
    meta = obj.get("metadata") or {}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": meta.get("name"),
            "group": rt.group,
            "kind": rt.plural,
            "uid": meta.get("uid"),
        },
    }


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of Kubernetes version priority: GA, then beta, then alpha, newest first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), version)


# Served whatever is stored, whatever the VAP versions, with the short names and categories
# their kube-apiserver stores declare (ShortNamesProvider / CategoriesProvider).
_FIXED_TYPES = (
    ResourceType(
        APIEXT,
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "customresourcedefinition",
        False,
        ("crd", "crds"),
        API_EXTENSIONS,
        returns_deleted_object=True,
    ),
    ResourceType(CORE, "v1", "events", "Event", "event", True, ("ev",)),
    ResourceType(CORE, "v1", "namespaces", "Namespace", "namespace", False, ("ns",)),
    ResourceType(CORE, "v1", "configmaps", "ConfigMap", "configmap", True, ("cm",)),
    ResourceType(
        APPS, "v1", "deployments", "Deployment", "deployment", True, ("deploy",), ("all",)
    ),
    ResourceType(APPS, "v1", "replicasets", "ReplicaSet", "replicaset", True, ("rs",), ("all",)),
    ResourceType(
        ADMISSION,
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfiguration",
        False,
        categories=API_EXTENSIONS,
    ),
    ResourceType(
        ADMISSION,
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfiguration",
        False,
        categories=API_EXTENSIONS,
    ),
)


def _admission_policy_types(version: str) -> list[ResourceType]:
    """ValidatingAdmissionPolicy and its binding, served at one admissionregistration version."""
    return [
        ResourceType(
            ADMISSION,
            version,
            plural,
            kind,
            kind.lower(),
            False,
            categories=API_EXTENSIONS,
        )
        for plural, kind in (
            ("validatingadmissionpolicies", "ValidatingAdmissionPolicy"),
            ("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding"),
        )
    ]


def builtin_types(vap_versions: tuple[str, ...]) -> list[ResourceType]:
    """Resource types served whatever is stored: the fixed built-ins, then the admission
    policy types at each of `vap_versions` (a fresh list; the types themselves are frozen)."""
    types = list(_FIXED_TYPES)
    for version in vap_versions:
        types.extend(_admission_policy_types(version))
    return types


def _strings(value: Any) -> tuple[str, ...] | None:
    """A list of strings as a tuple (absent: empty); None when it is anything else."""
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def crd_types(crd: dict[str, Any]) -> tuple[list[ResourceType], set[str]]:
    """Served types of one CRD object, and every version it declares; ([], set()) if malformed
    (kube-apiserver would have refused such a CRD, so it serves nothing here)."""
    spec = crd.get("spec") if isinstance(crd, dict) else None
    names = spec.get("names") if isinstance(spec, dict) else None
    if not isinstance(names, dict):
        return [], set()
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    singular = names.get("singular") or (kind.lower() if isinstance(kind, str) else None)
    short_names, categories = _strings(names.get("shortNames")), _strings(names.get("categories"))
    versions = spec.get("versions")
    if not (
        all(isinstance(v, str) and v for v in (group, plural, kind, singular))
        and short_names is not None
        and categories is not None
        and isinstance(versions, list)
        and all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in versions)
    ):
        return [], set()
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    served = [
        ResourceType(
            group,
            v["name"],
            plural,
            kind,
            singular,
            namespaced,
            short_names,
            categories,
            CUSTOM_VERBS,
        )
        for v in versions
        if v.get("served", True) is True
    ]
    return served, {v["name"] for v in versions}


def copy_json(obj: Any) -> Any:
    """Deep copy of a JSON-like value (pickle: about 3x faster than copy.deepcopy)."""
    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


def api_group(group: str, types: list[ResourceType]) -> dict[str, Any]:
    """The APIGroup discovery document of one group."""
    versions = sorted({rt.version for rt in types}, key=version_priority)
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }
