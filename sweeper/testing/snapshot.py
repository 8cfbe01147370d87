"""An ``Inventory`` of plain objects, read by the real ``gather`` from an in-process server.

For table and property tests of the pure planner: a cluster is a list of dicts. They are
stored in a ``FakeApiServer`` (objects no store could hold, such as one without a name,
are listed as a broken server would list them) and read by the sweeper's own ``gather``
through ``InProcessApi``, so the tests see exactly what a sweep sees. ``failed`` names the
reads that should fail: ``bindings``, ``policies``, ``crds``, ``template-crd``,
``templates``, ``constraints/<lower kind>``, ``crd/<lower kind>``,
``discovery/constraints`` (the ``str()`` of a ``ListKey``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sweeper.cluster.gather import gather
from sweeper.cluster.kube import KubeClient
from sweeper.cluster.retry import Retrier, RetryPolicy
from sweeper.core import gatekeeper as gk
from sweeper.core.inventory import Inventory, ListKey, Source
from sweeper.core.records import BINDING_KIND, POLICY_KIND
from sweeper.core.settings import ClusterAccess
from sweeper.testing.api import AlreadyExistsError
from sweeper.testing.inprocess import InProcessApi
from sweeper.testing.server import FakeApiServer

_CRD_KIND = "CustomResourceDefinition"
_CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def api_version_for(kind: str, vap_version: str) -> str:
    """Where ``gather`` finds objects of ``kind``: the group/version it lists."""
    if kind in (BINDING_KIND, POLICY_KIND):
        return f"admissionregistration.k8s.io/{vap_version}"
    if kind == gk.TEMPLATE_KIND:
        return f"{gk.TEMPLATES_GROUP}/v1"
    if kind == _CRD_KIND:
        return "apiextensions.k8s.io/v1"
    return f"{gk.CONSTRAINTS_GROUP}/v1beta1"


def snapshot(
    objects: Iterable[dict[str, Any]],
    *,
    vap_version: str = "v1",
    failed: Iterable[str | ListKey] = (),
) -> Inventory:
    """The inventory a gather of ``objects`` produces, with the ``failed`` reads failing."""
    objects = list(objects)
    fake = FakeApiServer(vap_versions=(vap_version,))
    extras: dict[str, list[Any]] = {}
    for obj in objects:
        kind = str(obj.get("kind"))
        api_version = api_version_for(kind, vap_version)
        try:
            if not _as_a_server_keeps_it(obj):
                raise ValueError("the store would fill in what this object lacks")
            fake.create({**obj, "apiVersion": api_version}, force=True)
        except (ValueError, AlreadyExistsError):
            group = api_version.rpartition("/")[0]
            extras.setdefault(f"{group}/{kind}", []).append(obj)
    for key in failed:
        fake.inject(method="GET", path=_read_path(str(key), objects), status=503, times=None)
    retrier = Retrier(RetryPolicy(attempts=1), sleep=lambda seconds: None)
    client = KubeClient(
        InProcessApi(fake, extra_items=extras), access=ClusterAccess(), retrier=retrier
    )
    return gather(client, vap_version=vap_version)


def _as_a_server_keeps_it(obj: dict[str, Any]) -> bool:
    """Whether the store may hold ``obj``: it has a name, and either none of the fields a
    server sets (they are filled in, as on a create) or all of them (kept as given)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return False
    stamped = [meta.get(key) for key in ("uid", "resourceVersion", "creationTimestamp")]
    if not any(key in meta for key in ("uid", "resourceVersion", "creationTimestamp")):
        return True
    return all(isinstance(value, str) and value for value in stamped)


def _read_path(key: str, objects: list[dict[str, Any]]) -> str:
    """A regular expression matching the path of the read named ``key``."""
    if key == Source.DISCOVERY.value:  # a name with a "/" of its own
        return rf"^/apis/{re.escape(gk.CONSTRAINTS_GROUP)}/?$"
    source, _, kind = key.partition("/")
    paths = {
        Source.BINDINGS: r"/validatingadmissionpolicybindings$",
        Source.POLICIES: r"/validatingadmissionpolicies$",
        Source.CRDS: rf"^{_CRDS}$",
        Source.TEMPLATE_CRD: rf"^{_CRDS}/{re.escape(gk.TEMPLATE_CRD_NAME)}$",
        Source.TEMPLATES: r"^/apis/templates\.gatekeeper\.sh/[^/]+/constrainttemplates$",
        Source.CRD: rf"^{_CRDS}/{re.escape(gk.constraint_crd_name(kind))}$",
        Source.CONSTRAINTS: rf"^/apis/{re.escape(gk.CONSTRAINTS_GROUP)}/[^/]+/"
        rf"{re.escape(_plural(kind, objects))}$",
    }
    try:
        return paths[Source(source)]
    except ValueError:
        raise ValueError(f"unknown read {key!r}") from None


def _plural(kind: str, objects: list[dict[str, Any]]) -> str:
    """The plural a CRD among ``objects`` serves ``kind`` under (lower kind by default)."""
    for obj in objects:
        names = obj.get("spec", {}).get("names") if obj.get("kind") == _CRD_KIND else None
        if isinstance(names, dict) and str(names.get("kind", "")).lower() == kind:
            return str(names.get("plural") or kind)
    return kind


def stamp(obj: dict[str, Any], *, created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    """Give ``obj`` the uid, resourceVersion and creationTimestamp a server would."""
    import uuid

    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("uid", str(uuid.uuid4()))
    metadata.setdefault("resourceVersion", "1")
    metadata.setdefault("creationTimestamp", created)
    return obj
