"""The write-ahead record and restore on a real kube-apiserver: a sweep's stdout thrown away,
`restore --from-cluster` brings back everything it deleted, the next sweep holds it, and
lines of another cluster create nothing."""

from __future__ import annotations

import json

import pytest
from envtest_support import api_for, ensure_namespace, real_now, vap_names
from helpers import sweep
from restore_helpers import restore, write
from scenarios.owners import template_deleted

from sweeper.core import ledger
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import resource_path

pytestmark = pytest.mark.envtest


def test_records_restore_everything_and_the_next_sweep_holds_it(
    control_plane: ControlPlane, tmp_path
) -> None:
    api = api_for(control_plane)
    scenario = template_deleted()
    api.wipe(keep_crds=[o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"])
    api.load(scenario.objects)
    ensure_namespace(api)
    before = vap_names(api)
    kubeconfig = str(control_plane.kubeconfig)
    first = sweep(kubeconfig, now=real_now(), max_deletions=0, max_deletion_percent=0)
    deleted = first.names("deleted")
    assert first.exit_code == 0 and deleted and vap_names(api) == before - deleted
    sweep_id = first.lines[0]["sweep_id"]
    maps = api.items(resource_path("v1", "ConfigMap", None, "gatekeeper-sweeper"))
    ours = [m for m in maps if m["metadata"]["labels"].get(ledger.RECORD_SWEEP_LABEL) == sweep_id]
    assert len(ours) == len(deleted)  # stored by the real server, one per deleted object

    run = restore(kubeconfig, from_cluster=True, filters=None)
    assert run.code == 0, run.stderr
    assert {line["object_name"] for line in run.events("restored")} >= deleted
    assert vap_names(api) == before
    again = sweep(kubeconfig, now=real_now(), max_deletions=0, max_deletion_percent=0)
    assert again.exit_code == 0 and not again.events("deleting")
    assert again.names("restored") == deleted

    # The same lines, claimed to be of another cluster: refused, nothing created.
    for name in deleted:
        kind = next(line["object_kind"] for line in first.lines if line.get("object_name") == name)
        api.delete(resource_path("admissionregistration.k8s.io/v1", kind, name))
    forged = [
        json.dumps({**line, "cluster_uid": "not-this-cluster"})
        for line in first.lines
        if line["event"] == "deleting"
    ]
    refused = restore(kubeconfig, write(tmp_path, *forged))
    assert refused.code == 2 and "not this one" in refused.stderr
    assert vap_names(api) == before - deleted
