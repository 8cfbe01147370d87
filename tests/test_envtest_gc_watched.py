"""With the real garbage collector watching the constraint kind (run last: the collector
starts watching a new CRD's kind at its next discovery resync, ~30 s after the first GC test
installed it, while the other envtest tests run): ``kubectl delete --cascade=orphan`` leaves
a binding the sweep reports as ``orphaned-unowned``; an owner deleted normally while a sweep
runs is handled by the collector and the sweep counts ``already_gone``; and what Gatekeeper's
uninstall leaves is swept (``gatekeeper-uninstalled``); a CRD deleted while its kind is
watched takes its bindings with it (nothing left behind)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from envtest_support import (
    WATCHED_KIND,
    api_for,
    collector_paused,
    real_sweep,
    vap_names,
    wait_until_collector_watches,
)
from scenarios.building import AUDIT_ONLY, Cluster
from test_envtest_gc import control_dependent, install_and_remove_crds, settle_and_sweep

from sweeper.cluster.kube import KubeClient
from sweeper.core.gatekeeper import CONSTRAINTS_GROUP
from sweeper.testing import objects as make
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import CRD, CRD_API, RealApi, path_of, resource_path

pytestmark = pytest.mark.envtest
KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="module")
def watching(gc_watched: RealApi) -> RealApi:
    wait_until_collector_watches(gc_watched)
    return gc_watched


def owned_binding(api: RealApi, name: str, **options) -> tuple[dict, dict]:
    owner = api.create(make.constraint(WATCHED_KIND, name, **options))
    return owner, api.create(make.binding(owner))


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_cascade_orphan_leaves_a_binding_reported_as_orphaned_unowned(
    gc_control_plane: ControlPlane, watching: RealApi, tmp_path
) -> None:
    owner, binding = owned_binding(watching, "cascade-orphan")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "KUBECONFIG": str(gc_control_plane.kubeconfig),
    }
    subprocess.run(
        [KUBECTL, "delete", "--cascade=orphan", WATCHED_KIND.lower(), "cascade-orphan"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    watching.wait_for("owner gone", lambda: watching.get(path_of(owner)) is None)
    stripped = watching.wait_for(
        "ownerReferences removed",
        lambda: (
            (b := watching.get(path_of(binding))) and "ownerReferences" not in b["metadata"] and b
        ),
    )
    assert stripped["metadata"]["name"] == binding["metadata"]["name"]
    run = real_sweep(gc_control_plane.kubeconfig)
    assert {(r["object_name"], r["reason"]) for r in run.events("reported")} == {
        (binding["metadata"]["name"], "orphaned-unowned")
    }
    assert not run.events("deleted")
    watching.delete(path_of(binding))


def test_an_owner_deleted_during_a_sweep_is_collected_and_counted_already_gone(
    gc_control_plane: ControlPlane, watching: RealApi, monkeypatch
) -> None:
    owner, binding = owned_binding(watching, "audit-only", scoped=AUDIT_ONLY)  # not-wanted
    real_delete = KubeClient.delete
    seen = []

    def owner_deleted_first(self, path, **kwargs):
        # Between the sweep's re-check and its DELETE, someone deletes the owner normally:
        # the collector removes the binding before the sweep's DELETE arrives.
        if not seen:
            seen.append(path)
            watching.delete(path_of(owner))
            watching.wait_for("collected", lambda: watching.get(path_of(binding)) is None)
        return real_delete(self, path, **kwargs)

    monkeypatch.setattr(KubeClient, "delete", owner_deleted_first)
    run = real_sweep(gc_control_plane.kubeconfig, max_deletions=0, max_deletion_percent=0)
    assert seen, "the sweep never tried to delete the binding"
    assert run.exit_code == 0
    assert run.names("already_gone") == {binding["metadata"]["name"]}
    assert run.summary["already_gone"] == 1 and run.summary["deleted"] == 0
    assert not run.events("delete_failed")


def test_a_watched_kinds_crd_deleted_takes_its_bindings_with_it(
    gc_control_plane: ControlPlane, watching: RealApi
) -> None:
    """The healthy path: the CRD's deletion removes its constraints, and the collector,
    watching the kind, removes their bindings; nothing is left to sweep."""
    owner, binding = owned_binding(watching, "crd-deleted")
    watching.delete(resource_path(CRD_API, CRD, f"{WATCHED_KIND.lower()}.{CONSTRAINTS_GROUP}"))
    watching.wait_for("binding collected", lambda: watching.get(path_of(binding)) is None)
    assert watching.get(path_of(owner)) is None
    run = real_sweep(gc_control_plane.kubeconfig)
    assert run.exit_code == 0 and run.summary["candidates"] == 0


def test_what_an_uninstall_leaves_is_swept(
    gc_control_plane: ControlPlane, watching: RealApi
) -> None:
    """Last GC test: it removes every Gatekeeper CRD. Templates were watched, so the collector
    may remove their policies; the bindings of a kind it never watched stay."""
    api = api_for(gc_control_plane)
    c = Cluster()
    c.template("K8sUninstalled")
    constraint = c.constraint("K8sUninstalled", "left-behind", binding=False)
    # Audit, not Deny: an enforcing leftover would refuse the CRD deletions' own updates.
    c.binding(constraint, action="Audit")
    gatekeeper_crds = [
        "constrainttemplates.templates.gatekeeper.sh",
        "k8suninstalled.constraints.gatekeeper.sh",
        f"{WATCHED_KIND.lower()}.constraints.gatekeeper.sh",
    ]
    with collector_paused(gc_control_plane):
        install_and_remove_crds(api, c, remove=gatekeeper_crds)
        control = control_dependent(api, "gc-control-uninstall")
    before, run = settle_and_sweep(api, gc_control_plane, control)
    assert "gatekeeper-k8suninstalled-left-behind" in before
    assert {d["object_name"] for d in run.events("deleted")} == before
    assert {d["reason"] for d in run.events("deleted")} == {"gatekeeper-uninstalled"}
    assert vap_names(api) == set()
