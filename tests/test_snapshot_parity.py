"""``snapshot`` (the pure tests' inventory) must see what ``gather`` over HTTP sees."""

from __future__ import annotations

import copy

import pytest
from conftest import T0
from kubernetes.client import ApiClient
from scenarios import Scenario, corpus

from sweeper.inventory import gather
from sweeper.kube import KubeClient
from sweeper.kubeconfig import load_configuration
from sweeper.settings import ClusterAccess
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp


def odd_crds() -> Scenario:
    """A labelled CRD serving no version, and an unlabelled one with another plural."""
    template = stamp(make.template("K8sBroken"))
    broken = make.constraint_crd(template)
    for version in broken["spec"]["versions"]:
        version["served"] = False
    other = stamp(make.template("K8sOther"))
    renamed = make.constraint_crd(other)
    renamed["metadata"].update(name="k8sothers.constraints.gatekeeper.sh", labels={})
    renamed["spec"]["names"]["plural"] = "k8sothers"
    live = stamp(make.constraint("K8sOther", "c"))
    objects = [
        make.template_crd(),
        template,
        broken,
        other,
        renamed,
        live,
        stamp(make.binding(make.constraint("K8sBroken", "b", uid="u"))),
        stamp(make.binding(live)),
    ]
    return Scenario("odd-crds", objects, {})


CASES = [*corpus(), odd_crds()]
FAILURES = {
    "discovery/constraints": r"^/apis/constraints\.gatekeeper\.sh$",
    "crd/k8sother": r"/customresourcedefinitions/k8sother\.constraints\.gatekeeper\.sh$",
    "templates": r"/constrainttemplates$",
}


def summary(inventory) -> dict:
    return {
        "kinds": dict(inventory.kinds),
        "template_crd": inventory.template_crd,
        "constraints": sorted(inventory.constraints),
        "templates": sorted(inventory.templates),
        "bindings": sorted(o.name for o in inventory.bindings),
        "policies": sorted(o.name for o in inventory.policies),
        "paths": dict(inventory.constraint_paths),
    }


@pytest.mark.parametrize("failure", [None, *FAILURES], ids=["none", *FAILURES])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_snapshot_matches_gather(case: Scenario, failure: str | None, tmp_path) -> None:
    versions = ("v1", "v1beta1") if case.vap_version == "v1" else ("v1beta1",)
    with FakeApiServer(vap_versions=versions, clock=lambda: T0) as server:
        for obj in case.objects:
            server.create(copy.deepcopy(obj), force=True)
        if failure is not None:
            server.inject(method="GET", path=FAILURES[failure], status=403, times=None)
        access = ClusterAccess(kubeconfig=server.write_kubeconfig(tmp_path / "kc"))
        client = KubeClient(ApiClient(load_configuration(access, environ={})), access=access)
        gathered = gather(client, vap_version=case.vap_version)
    failed = () if failure is None else (failure,)
    modelled = snapshot(case.objects, vap_version=case.vap_version, failed=failed)
    assert summary(modelled) == summary(gathered)
    # Failed lists are named differently (list names vs paths) but fail alike.
    assert len(modelled.failed_lists) == len(gathered.failed_lists)
