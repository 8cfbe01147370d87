"""The write-ahead record and restore on a real kube-apiserver: a sweep's stdout thrown away,
`restore --from-cluster` brings back everything it deleted, the next sweep holds it, and
lines of another cluster create nothing."""

from __future__ import annotations

import json

import pytest
from envtest_support import api_for, ensure_namespace, exempting, real_now, vap_names
from helpers import sweep
from restore_helpers import restore, write
from scenarios.owners import template_deleted

from sweeper.core import ledger
from sweeper.core.settings import Recording
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import ApiError, resource_path

pytestmark = [pytest.mark.envtest, pytest.mark.usefixtures("wiped_after_module")]


def test_records_restore_everything_and_the_next_sweep_holds_it(
    control_plane: ControlPlane, tmp_path
) -> None:
    api = api_for(control_plane)
    scenario = template_deleted()
    api.wipe(keep_crds=[o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"])
    # The leftover VAP's paramKind is gone: it would deny the records once admission loads
    # it, unless it leaves the sweeper's namespace alone (a v3.22+ VAP with the exemption).
    api.load(exempting(scenario.objects))
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


def test_a_live_constraint_that_denies_the_records_keeps_what_it_would_delete(
    control_plane: ControlPlane,
) -> None:
    """Fail closed on a real server: a wanted binding whose policy matches ConfigMaps denies
    the record, so the leftover is kept (record_failed, exit 1), not deleted unrecorded."""
    from scenarios.owners import constraint_deleted

    api = api_for(control_plane)
    scenario = constraint_deleted()
    api.wipe(keep_crds=[o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"])
    api.load(scenario.objects)
    ensure_namespace(api)
    probe = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "probe", "namespace": "gatekeeper-sweeper"},
    }

    def denies_configmaps() -> bool:
        try:
            api.create(probe, query={"dryRun": "All"})
        except ApiError as error:
            return "denied request" in str(error)
        return False

    # A new binding starts enforcing about a second after its creation.
    api.wait_for("the live binding denies unlabelled ConfigMaps", denies_configmaps)
    before = vap_names(api)
    run = sweep(str(control_plane.kubeconfig), now=real_now())
    failed = run.events("record_failed")
    # The live constraint must-have-owner (and the leftover itself) require the label
    # `owner` on every kind: the record ConfigMap is denied, so nothing is deleted.
    assert run.exit_code == 1 and failed and "denied request" in failed[0]["error"]
    assert not run.events("deleted") and vap_names(api) == before
    # Deleted on purpose without a record (`--no-record`): the log line is the only copy.
    once = sweep(str(control_plane.kubeconfig), now=real_now(), recording=Recording(enabled=False))
    assert once.exit_code == 0 and once.names("deleted") == {failed[0]["object_name"]}
    assert once.events("deleting")[0]["record"] == []
