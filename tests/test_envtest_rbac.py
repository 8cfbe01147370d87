"""The shipped RBAC under real authorization: the kustomize base (with the events component)
and the Helm chart are rendered, their ServiceAccount, ClusterRole, Roles and bindings applied
to a real API server, a token issued through the TokenRequest API, and the sweeper run as that
ServiceAccount: a full sweep with Gatekeeper observed and Events written meets no 403, and the
same token is refused what the sweeper must never do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from envtest_support import api_for, exempting, namespace, real_sweep, vap_names
from rendering import CHART, ROOT, helm, kustomize
from scenarios.observed import gatekeeper_deployments
from scenarios.owners import template_deleted

from sweeper.core.settings import Observing, Recording
from sweeper.testing import objects as make
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import ApiError, RealApi, resource_path

pytestmark = [pytest.mark.envtest, pytest.mark.usefixtures("wiped_after_module")]


RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
CHART_RELEASE = "sweeper-chart"  # its own names, beside the kustomize base's


def render(source: str, state_dir: Path) -> tuple[list[dict[str, Any]], str]:
    """(objects, the sweeper's namespace) of the kustomize base + events, or of the chart."""
    if source == "kustomize":
        return kustomize(ROOT / "examples" / "with-events", state_dir), "gatekeeper-sweeper"
    values = {"events": {"enabled": True}, "gatekeeper": {"observe": True}}
    with helm().Chart.load(CHART) as chart:
        rendered = chart.render(values=values, name=CHART_RELEASE, namespace=CHART_RELEASE)
    objects = [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return objects, CHART_RELEASE


def ensure(api: RealApi, obj: dict[str, Any]) -> None:
    api.wait_for("admission lets writes through", api.admits)
    try:
        api.create(obj)
    except ApiError as err:
        if err.status != 409:
            raise


@pytest.fixture(scope="module", params=["kustomize", "chart"])
def service_account(request, control_plane: ControlPlane, tmp_path_factory) -> dict[str, Any]:
    """The shipped RBAC applied; a kubeconfig with a TokenRequest token of its ServiceAccount."""
    objects, ns = render(request.param, tmp_path_factory.mktemp("kubectl"))
    api = api_for(control_plane)
    for name in (ns, "gatekeeper-system"):
        ensure(api, namespace(name))
    rbac = [o for o in objects if o["kind"] in RBAC_KINDS]
    assert {o["kind"] for o in rbac} == set(RBAC_KINDS), "the sweeper needs all of them"
    for obj in rbac:
        api.create(obj)
    (account,) = [o for o in rbac if o["kind"] == "ServiceAccount"]
    issued = api.request(
        "POST",
        resource_path("v1", "ServiceAccount", account["metadata"]["name"], ns) + "/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    token = issued["status"]["token"]
    folder = tmp_path_factory.mktemp(f"sa-{request.param}")
    return {
        "source": request.param,
        "namespace": ns,
        "kubeconfig": control_plane.kubeconfig_for_token(token, folder / "kubeconfig"),
        "api": RealApi(control_plane.server, token, control_plane.ca_file),
    }


def test_a_full_sweep_as_the_service_account_meets_no_403(
    service_account: dict[str, Any], control_plane: ControlPlane
) -> None:
    api = api_for(control_plane)
    scenario = template_deleted()
    api.wipe(keep_crds=[o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"])
    # v3.22.0 generates its VAPs scoped by its webhook's namespaceSelector: the leftover (its
    # paramKind gone, failurePolicy Fail) leaves the sweeper's labelled namespace alone, so
    # its records and Events are admitted however soon admission loads the leftover.
    api.load([*exempting(scenario.objects), *gatekeeper_deployments("v3.22.0")])
    ns = service_account["namespace"]
    run = real_sweep(
        service_account["kubeconfig"],
        observing=Observing(enabled=True),
        events=True,
        events_namespace=ns,
        recording=Recording(namespace=ns),
        max_deletions=0,
        max_deletion_percent=0,
    )
    assert run.exit_code == 0, run.lines
    (observed,) = run.events("gatekeeper_observed")
    assert "problem" not in observed and observed["version"] == "v3.22.0"
    failures = ("list_failed", "kube_events_failed", "delete_failed", "undecided")
    for failure in (*failures, "record_failed", "record_prune_failed"):
        assert not run.events(failure), json.dumps(run.events(failure))
    expected = {n for n, want in scenario.expected.items() if want.startswith("deleted")}
    assert run.names("deleted") == expected
    assert vap_names(api) == set(scenario.expected) - expected
    events = api.items(resource_path("v1", "Event", None, ns))
    about = {e["involvedObject"]["name"] for e in events if e["message"].startswith("deleted ")}
    assert expected <= about, events


def refusal(action: str, admin: RealApi, api: RealApi) -> None:
    if action == "delete-configmap":
        name = "sweeper-rbac-probe"
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        ensure(admin, {**cm, "metadata": {"name": name, "namespace": "default", "labels": {}}})
        api.delete(resource_path("v1", "ConfigMap", name, "default"), missing_ok=False)
    elif action == "read-secret":
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sweeper-rbac-probe", "namespace": "gatekeeper-system"},
            "stringData": {"k": "v"},
        }
        ensure(admin, secret)
        api.request("GET", resource_path("v1", "Secret", "sweeper-rbac-probe", "gatekeeper-system"))
    else:
        scenario = template_deleted()  # any constraint will do: create one to delete
        crd = [o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"]
        admin.wipe(keep_crds=crd)
        template = make.template("K8sRequiredLabels")
        loaded = admin.load([*crd, template, make.constraint("K8sRequiredLabels", "probe")])
        assert loaded is not None
        api.delete(
            resource_path("constraints.gatekeeper.sh/v1beta1", "K8sRequiredLabels", "probe"),
            missing_ok=False,
        )


@pytest.mark.parametrize("action", ["delete-configmap", "read-secret", "delete-constraint"])
def test_the_service_account_is_refused_what_the_sweeper_must_never_do(
    action: str, service_account: dict[str, Any], control_plane: ControlPlane
) -> None:
    with pytest.raises(ApiError) as refused:
        refusal(action, api_for(control_plane), service_account["api"])
    assert refused.value.status == 403, refused.value
    assert "system:serviceaccount:" in str(refused.value)
