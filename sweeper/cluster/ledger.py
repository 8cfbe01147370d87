"""The cluster's identity and the write-ahead record of deletions, over the API.

The I/O half of ``sweeper.core.ledger``: reads the uid of the ``kube-system`` Namespace
(the cluster's identity, on every log line as ``cluster_uid``), writes one record's
ConfigMaps before its DELETE, lists the records for ``restore --from-cluster`` and
``explain``, and prunes those older than the retention. It decides nothing: what a record
holds and which ones are old are the core's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sweeper.cluster.kube import DeleteResult, KubeClient
from sweeper.core import ledger, paths
from sweeper.core.errors import AlreadyExists, ApiError, bad_response


def read_cluster_uid(client: KubeClient) -> str:
    """The uid of the ``kube-system`` Namespace; ``ApiError`` when it cannot be read."""
    path = paths.namespace(paths.KUBE_SYSTEM)
    found = client.get(path)
    if found is None:
        raise ApiError(verb="get", path=path, status=404, message="namespace kube-system not found")
    metadata = found.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    if not isinstance(uid, str) or not uid:
        raise bad_response("get", path, "namespace kube-system has no metadata.uid")
    return uid


def write_record(client: KubeClient, entry: Mapping[str, Any], *, namespace: str) -> list[str]:
    """Store one record (``RecordError``, ``ApiError`` when it cannot be); its names.

    The first part is paced by the caller. A name taken already is this sweep's own
    earlier POST whose answer was lost: a record's name holds the sweep id.
    """
    names = []
    collection = paths.configmaps(namespace)
    for index, configmap in enumerate(ledger.configmaps(entry, namespace=namespace)):
        with contextlib.suppress(AlreadyExists):
            client.create(collection, configmap, paced=index > 0)
        names.append(configmap["metadata"]["name"])
    return names


def list_records(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Every record ConfigMap of ``namespace`` (labelled ``ledger.SELECTOR``)."""
    return client.list(
        paths.configmaps(namespace), label_selector=ledger.SELECTOR, transform=lambda o: o
    )


def prune(client: KubeClient, namespace: str, *, now: datetime, retention: timedelta) -> int:
    """Delete the records older than ``retention``; how many went. Each DELETE carries the
    uid and resourceVersion it listed, so nothing else of that name is touched."""
    if retention <= timedelta(0):
        return 0
    pruned = 0
    for name, uid, version in ledger.expired(
        list_records(client, namespace), now=now, retention=retention
    ):
        result = client.delete(paths.configmaps(namespace, name), uid=uid, resource_version=version)
        pruned += result is DeleteResult.DELETED
    return pruned
