"""The scenario corpus on a real API server: each scenario is created for real (CRDs,
templates, constraints, policies, bindings in dependency order, ownerReferences pointing at
the uids the server assigned), swept, and compared with the same sweep on the fake server:
the same outcome per object, the same summary, the same objects left. A difference is a bug
in the fake or in the sweeper's model of Kubernetes."""

from __future__ import annotations

from typing import Any

import pytest
from envtest_support import (
    REQUEST_TIMEOUT,
    api_for,
    decisions,
    outcomes,
    real_now,
    vap_names,
)
from helpers import T0, sweep
from scenarios import Scenario, corpus
from scenarios.building import V1BETA1
from test_scenarios import rules_for

from sweeper.core.settings import Observing, Recording
from sweeper.testing import FakeApiServer
from sweeper.testing.controlplane import ControlPlane

pytestmark = [pytest.mark.envtest, pytest.mark.usefixtures("wiped_after_module")]


CRD = "CustomResourceDefinition"


def crd_names(scenario: Scenario) -> list[str]:
    return sorted(o["metadata"]["name"] for o in scenario.objects if o["kind"] == CRD)


# Scenarios that need the same CRDs run one after another: they reuse them (a new CRD's first
# write costs the real server about 2 s).
SCENARIOS = sorted(corpus(), key=crd_names)
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gatekeeper-system"}}


def sweep_options(scenario: Scenario) -> dict[str, Any]:
    rules = rules_for(scenario)
    gatekeeper: dict[str, Any] = (
        {"observing": Observing(enabled=True)}
        if scenario.deployments
        else {"gatekeeper": scenario.defaults}
    )
    # The decisions are compared here, without records: a scenario's live constraints may
    # deny ConfigMaps everywhere (a record kept out of a namespace they match is
    # test_envtest_records.py's and test_records.py's business).
    return {
        "reasons": rules.reasons,
        "max_deletions": 0,
        "max_deletion_percent": 0,
        "recording": Recording(enabled=False),
        **gatekeeper,
    }


def on_fake(scenario: Scenario, tmp_path) -> tuple[Any, set[str]]:
    versions = ("v1", "v1beta1") if scenario.vap_version == "v1" else ("v1beta1",)
    with FakeApiServer(vap_versions=versions, clock=lambda: T0) as server:
        for obj in [*scenario.objects, *scenario.deployments, *scenario.replicasets]:
            server.create(obj, force=True)
        run = sweep(
            server.write_kubeconfig(tmp_path / "fake.kubeconfig"), **sweep_options(scenario)
        )
        left = {
            o["metadata"]["name"]
            for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
            for o in server.objects(kind)
        }
    return run, left


def observation(run: Any) -> list[dict[str, Any]]:
    """The sweep's lines about the running Gatekeeper, without times and ids."""
    return [
        {
            key: value
            for key, value in line.items()
            if key not in ("time", "sweep_id", "cluster_uid")
        }
        for line in run.lines
        if line["event"].startswith("gatekeeper_")
    ]


def served(obj: dict[str, Any]) -> dict[str, Any]:
    """Kubernetes 1.36 no longer serves admissionregistration.k8s.io/v1beta1: such objects
    are created through v1 (the same object; only the fake still models a v1beta1-only
    cluster)."""
    if obj["apiVersion"] == V1BETA1:
        return {**obj, "apiVersion": "admissionregistration.k8s.io/v1"}
    return obj


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_sweeps_the_same_on_the_real_server(
    scenario: Scenario, control_plane: ControlPlane, tmp_path
) -> None:
    api = api_for(control_plane)
    extra = (
        [NAMESPACE, *scenario.deployments, *scenario.replicasets] if scenario.deployments else []
    )
    api.wipe(keep_crds=[o for o in scenario.objects if o["kind"] == CRD])
    api.load([served(obj) for obj in [*scenario.objects, *extra]])
    real = sweep(
        str(control_plane.kubeconfig),
        now=real_now(),
        request_timeout=REQUEST_TIMEOUT,
        **sweep_options(scenario),
    )
    real_left = vap_names(api)
    fake, fake_left = on_fake(scenario, tmp_path)
    # Held verdicts are undecided (exit 4, e.g. a Gatekeeper older than modelled): the real
    # server must end as the fake does, and the fake as the scenario says.
    assert real.exit_code == fake.exit_code == scenario.exit_code, real.lines
    assert outcomes(real) == outcomes(fake), real.lines
    # Gatekeeper read the same way: version, flags, rollout (the Deployments' and
    # ReplicaSets' statuses as the scenario gives them), warnings.
    assert observation(real) == observation(fake)
    if scenario.vap_version == "v1":
        assert decisions(real.summary) == decisions(fake.summary)
    else:  # the real server serves v1 only; the fake models a v1beta1-only cluster
        assert real.summary["vap_version"] == "v1"
        assert decisions({**real.summary, "vap_version": "-"}) == decisions(
            {**fake.summary, "vap_version": "-"}
        )
    assert real_left == fake_left
    deleted = {name for name, want in scenario.expected.items() if want.startswith("deleted")}
    assert set(scenario.expected) - real_left == deleted
