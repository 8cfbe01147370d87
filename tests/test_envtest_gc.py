"""With the real garbage collector (kube-controller-manager): a binding whose owner kind is
no longer served is never collected (kubernetes#102641) and the sweeper deletes it
(``owner-kind-gone``); a control dependent whose owner's kind is served is collected at once,
proving the collector is at work. The tests that need the collector to watch a new kind
are in ``test_envtest_gc_watched`` (run last); the helpers are shared with it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from envtest_support import api_for, collector_paused, real_sweep, vap_names
from scenarios.building import Cluster

from sweeper.testing import objects as make
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import CRD_API, RealApi, path_of, resource_path

pytestmark = pytest.mark.envtest
CRD = "CustomResourceDefinition"


def control_dependent(api: RealApi, name: str) -> dict[str, Any]:
    """A binding owned by a Namespace uid that does not exist (a served, cluster-scoped kind:
    a namespaced owner of a cluster-scoped dependent is an invalid reference the collector
    leaves alone): the collector deletes it within moments, proving it is at work."""
    ghost = {"apiVersion": "v1", "kind": "Namespace", "name": "gone", "uid": str(uuid.uuid4())}
    body = make.foreign_binding(name, policy_name="none")
    body["metadata"]["ownerReferences"] = [ghost]
    return api.create(body)


def install_and_remove_crds(api: RealApi, c: Cluster, *, remove: list[str]) -> None:
    """Create ``c``'s objects, then delete the CRDs named in ``remove`` (their objects go
    with them)."""
    api.load(c.objects)
    paths = [resource_path(CRD_API, CRD, name) for name in remove]
    for path in paths:
        api.delete(path)
    api.wait_for("CRDs gone", lambda: all(api.get(path) is None for path in paths))


def settle_and_sweep(api: RealApi, plane: ControlPlane, control: dict[str, Any], **options):
    api.wait_for("the control dependent collected", lambda: api.get(path_of(control)) is None)
    before = vap_names(api)
    run = real_sweep(plane.kubeconfig, max_deletions=0, max_deletion_percent=0, **options)
    return before, run


def test_a_binding_whose_owner_kind_is_gone_outlives_the_collector_and_is_swept(
    gc_control_plane: ControlPlane, gc_watched: RealApi
) -> None:
    api = api_for(gc_control_plane)
    c = Cluster()
    c.template("K8sKindGone", policy=False)
    c.constraint("K8sKindGone", "left-behind")
    with collector_paused(gc_control_plane):
        install_and_remove_crds(api, c, remove=["k8skindgone.constraints.gatekeeper.sh"])
        control = control_dependent(api, "gc-control-kind-gone")
    before, run = settle_and_sweep(api, gc_control_plane, control)
    assert "gatekeeper-k8skindgone-left-behind" in before  # the collector kept it
    assert {(d["object_name"], d["reason"]) for d in run.events("deleted")} == {
        ("gatekeeper-k8skindgone-left-behind", "owner-kind-gone")
    }
    assert "gatekeeper-k8skindgone-left-behind" not in vap_names(api)
    (template,) = [o for o in c.objects if o["kind"] == "ConstraintTemplate"]
    api.delete(path_of(template))
