"""The Helm chart (cronjob/chart/): lints, validates, and deploys what the kustomize base does.

Rendered with Helm's own engine (helm-python-sdk) and compared with ``kubectl kustomize`` of
cronjob/, cronjob/oneshot/ and examples/with-events/: with default values the two give the
same CronJob, the same Job, the same RBAC. The ClusterRole's equality with what a sweep
sends is proved in tests/test_rbac.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from rendering import (
    CHART,
    FULL_VALUES,
    NAMESPACE,
    ROOT,
    Manifest,
    env_of,
    helm,
    kustomize,
    one,
    render_chart,
)

from sweeper import __version__
from sweeper.cli import commands as cli
from sweeper.cli import options

OLDEST = "1.28.0"  # the oldest Kubernetes with ValidatingAdmissionPolicy
# Options that make no sense in a pod: it uses its in-cluster service account.
NOT_IN_A_POD = {
    "SWEEPER_KUBECONFIG",
    "SWEEPER_CONTEXT",
    # fleet mode needs a kubeconfig of several contexts: a usage error in a pod
    "SWEEPER_ALL_CONTEXTS",
    "SWEEPER_FLEET_CONCURRENCY",
}
# Options the chart maps before the sweeper has them (Gatekeeper observation, in progress):
# set only when they differ from the sweeper's default, so today's sweeper never sees them.
AHEAD_OF_THE_SWEEPER = {"SWEEPER_OBSERVE_GATEKEEPER", "SWEEPER_GATEKEEPER_NAMESPACE"}


def newest_schema() -> str:
    from kubernetes_validate.utils import Version, all_versions

    return str(max(all_versions(), key=Version))


def cli_envvars() -> set[str]:
    return {p.envvar for p in cli.sweep.params if isinstance(getattr(p, "envvar", None), str)}


def without_template_metadata(job_spec: Manifest) -> Manifest:
    """A Job spec minus its pod template's metadata (Helm adds its own labels there)."""
    spec = copy.deepcopy(job_spec)
    spec["template"].pop("metadata", None)
    return spec


# --- lint and schema validation ----------------------------------------------------------


@pytest.mark.parametrize("values", [{}, FULL_VALUES], ids=["default", "full"])
@pytest.mark.parametrize("kube_version", [OLDEST, "newest"])
def test_helm_lint_finds_nothing(values: dict[str, Any], kube_version: str) -> None:
    version = newest_schema() if kube_version == "newest" else kube_version
    report = helm().lint(CHART, values, strict=True, kube_version=f"v{version}")
    assert report["errors"] == []
    # Severity 2 = warning, 3 = error; 1 is "icon is recommended" and the like.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("values", [{}, FULL_VALUES], ids=["default", "full"])
@pytest.mark.parametrize("kube_version", [OLDEST, "newest"])
def test_every_rendered_object_validates_strictly(
    values: dict[str, Any], kube_version: str
) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    version = newest_schema() if kube_version == "newest" else kube_version
    objects = render_chart(values)
    not_in_kubernetes = []
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            # A prometheus-operator CRD: kubernetes-validate has no schema for it. Its rules
            # are checked with promtool in tests/test_alerts.py.
            not_in_kubernetes.append(obj["kind"])
            continue
        kubernetes_validate.validate(obj, version, strict=True)
    expected = {"PrometheusRule"} if values else set()
    assert set(not_in_kubernetes) == expected
    kinds = {obj["kind"] for obj in objects}
    assert {"CronJob", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} <= kinds
    if values:
        assert {"Job", "Role", "RoleBinding", "NetworkPolicy"} <= kinds


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"sweeper": {"dryRun": "yes"}}, "/sweeper/dryRun"),
        ({"sweeper": {"minAge": "5 minutes"}}, "/sweeper/minAge"),
        ({"sweeper": {"logLevel": "verbose"}}, "/sweeper/logLevel"),
        ({"sweeper": {"maxDeletionPercent": 150}}, "/sweeper/maxDeletionPercent"),
        ({"sweeper": {"exclude": ["a b"]}}, "/sweeper/exclude/0"),
        ({"sweeper": {"minage": "5m"}}, "'minage' not allowed"),
        ({"schedul": "@hourly"}, "'schedul' not allowed"),
        ({"image": {"digest": "latest"}}, "/image/digest"),
    ],
)
def test_the_schema_refuses_bad_values(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm().HelmValuesError, match=complaint):
        render_chart(values)


def test_network_policy_refuses_to_guess_the_api_server() -> None:
    with pytest.raises(helm().HelmRenderError, match=r"networkPolicy\.apiServer\.cidrs"):
        render_chart({"networkPolicy": {"enabled": True}})
    values = {
        "networkPolicy": {"enabled": True, "apiServer": {"cidrs": ["10.0.0.1/32"]}},
        "sweeper": {"pushgatewayUrl": "http://pushgateway:9091"},
    }
    with pytest.raises(helm().HelmRenderError, match=r"networkPolicy\.pushgateway\.to"):
        render_chart(values)


def test_chart_app_version_is_the_sweeper_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == __version__
    cronjob = one(render_chart(), "CronJob")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(f":{__version__}")
    digest = "sha256:" + "a" * 64
    cronjob = one(render_chart({"image": {"digest": digest}}), "CronJob")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/example/gatekeeper-sweeper@{digest}"


# --- the chart and the kustomize base deploy the same thing -----------------------------


def test_default_cronjob_equals_the_kustomize_base(tmp_path: Path) -> None:
    chart = one(render_chart(), "CronJob")
    base = one(kustomize(ROOT / "cronjob", tmp_path), "CronJob")
    assert chart["metadata"]["name"] == base["metadata"]["name"]
    assert chart["metadata"]["namespace"] == base["metadata"]["namespace"]
    chart_spec, base_spec = chart["spec"], base["spec"]
    chart_job, base_job = chart_spec.pop("jobTemplate"), base_spec.pop("jobTemplate")
    assert chart_spec == base_spec  # schedule, time zone, concurrency, history
    assert without_template_metadata(chart_job["spec"]) == without_template_metadata(
        base_job["spec"]
    )
    # Helm adds labels; the ones the LogQL selector relies on are the base's.
    base_labels = base_job["spec"]["template"]["metadata"]["labels"]
    assert base_labels.items() <= chart_job["spec"]["template"]["metadata"]["labels"].items()


def test_oneshot_job_equals_the_kustomize_oneshot(tmp_path: Path) -> None:
    assert not [o for o in render_chart() if o["kind"] == "Job"], "opt-in only"
    chart = one(render_chart({"oneshot": {"enabled": True}}), "Job")
    base = one(kustomize(ROOT / "cronjob" / "oneshot", tmp_path), "Job")
    assert chart["metadata"]["name"] == base["metadata"]["name"]
    assert without_template_metadata(chart["spec"]) == without_template_metadata(base["spec"])
    assert {"name": "SWEEPER_DRY_RUN", "value": "true"} in env_of(chart["spec"])
    real = one(render_chart({"oneshot": {"enabled": True, "dryRun": False}}), "Job")
    assert {"name": "SWEEPER_DRY_RUN", "value": "false"} in env_of(real["spec"])


def test_events_equal_the_events_component(tmp_path: Path) -> None:
    chart = render_chart({"events": {"enabled": True}})
    base = kustomize(ROOT / "examples" / "with-events", tmp_path)
    chart_job = one(chart, "CronJob")["spec"]["jobTemplate"]["spec"]
    base_job = one(base, "CronJob")["spec"]["jobTemplate"]["spec"]
    assert without_template_metadata(chart_job) == without_template_metadata(base_job)
    chart_role, base_role = one(chart, "Role", "-events"), one(base, "Role", "-events")
    assert chart_role["rules"] == base_role["rules"]
    assert chart_role["metadata"]["namespace"] == base_role["metadata"]["namespace"]
    binding = one(chart, "RoleBinding", "-events")
    assert binding["subjects"] == one(base, "RoleBinding", "-events")["subjects"]
    assert not [o for o in render_chart() if o["metadata"]["name"].endswith("-events")]


def test_rbac_equals_the_kustomize_base(tmp_path: Path) -> None:
    chart, base = render_chart(), kustomize(ROOT / "cronjob", tmp_path)
    for kind in ("ClusterRole", "ClusterRoleBinding", "ServiceAccount"):
        chart_obj, base_obj = one(chart, kind), one(base, kind)
        for field in ("rules", "roleRef", "subjects", "automountServiceAccountToken"):
            assert chart_obj.get(field) == base_obj.get(field), (kind, field)
    for kind in ("Role", "RoleBinding"):
        chart_obj, base_obj = one(chart, kind, "-observer"), one(base, kind, "-observer")
        assert chart_obj["metadata"]["namespace"] == "gatekeeper-system"
        assert base_obj["metadata"]["namespace"] == "gatekeeper-system"
        for field in ("rules", "roleRef", "subjects"):
            assert chart_obj.get(field) == base_obj.get(field), (kind, field)
        # The write-ahead record's Role, in the sweeper's own namespace in both.
        chart_obj, base_obj = one(chart, kind, "-records"), one(base, kind, "-records")
        assert chart_obj["metadata"]["namespace"] == base_obj["metadata"]["namespace"]
        for field in ("rules", "roleRef", "subjects"):
            assert chart_obj.get(field) == base_obj.get(field), (kind, field)


def test_record_role_follows_the_record_values() -> None:
    elsewhere = render_chart({"sweeper": {"recordNamespace": "sweeper-records"}})
    assert one(elsewhere, "Role", "-records")["metadata"]["namespace"] == "sweeper-records"
    assert one(elsewhere, "RoleBinding", "-records")["metadata"]["namespace"] == "sweeper-records"
    off = render_chart({"sweeper": {"record": False}})
    assert not [o for o in off if o["metadata"]["name"].endswith("-records")]
    env = env_of(one(off, "CronJob")["spec"]["jobTemplate"]["spec"])
    assert {"name": "SWEEPER_RECORD", "value": "false"} in env


def test_observer_role_follows_gatekeeper_values() -> None:
    elsewhere = render_chart({"gatekeeper": {"namespace": "opa-system"}})
    assert one(elsewhere, "Role", "-observer")["metadata"]["namespace"] == "opa-system"
    env = env_of(one(elsewhere, "CronJob")["spec"]["jobTemplate"]["spec"])
    assert {"name": "SWEEPER_GATEKEEPER_NAMESPACE", "value": "opa-system"} in env
    blind = render_chart({"gatekeeper": {"observe": False}})
    assert not [o for o in blind if o["metadata"]["name"].endswith("-observer")]
    env = env_of(one(blind, "CronJob")["spec"]["jobTemplate"]["spec"])
    assert {"name": "SWEEPER_OBSERVE_GATEKEEPER", "value": "false"} in env


# --- values reach the sweeper ------------------------------------------------------------


def test_every_sweep_option_is_a_chart_value() -> None:
    cronjob = one(
        render_chart(FULL_VALUES | {"gatekeeper": {"observe": False, "namespace": "opa"}}),
        "CronJob",
    )
    names = {entry["name"] for entry in env_of(cronjob["spec"]["jobTemplate"]["spec"])}
    sweeper_names = {name for name in names if name.startswith("SWEEPER_")}
    assert sweeper_names == (cli_envvars() - NOT_IN_A_POD) | AHEAD_OF_THE_SWEEPER


def test_the_sweeper_reads_what_the_chart_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every value the full render sets parses as the sweep's option it names."""
    cronjob = one(render_chart(FULL_VALUES), "CronJob")
    # SWEEPER_NOTIFY_URL comes from a Secret: it has no value in the manifest.
    env = {
        e["name"]: e["value"]
        for e in env_of(cronjob["spec"]["jobTemplate"]["spec"])
        if "value" in e
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    context = cli.sweep.make_context("sweep", [], resilient_parsing=False)
    params = context.params
    assert params["max_deletions"] == 1000000
    assert params["max_deletion_percent"] == 12.5
    assert params["exclude"] == ("^keep-", "-manual$")
    assert params["gatekeeper_vap_default"] is False
    assert params["cluster_name"] == "prod-eu-1"
    settings = options.build_settings(params)
    assert settings.access.page_size == 250
    assert settings.access.request_timeout == 20
    assert {reason.value for reason in settings.rules.reasons} == {
        "owner-deleted",
        "not-wanted",
        "orphaned-unowned",
    }


def test_an_unreadable_value_is_caught_by_the_schema_not_the_pod() -> None:
    with pytest.raises(click.BadParameter):
        options.Duration().convert("5 minutes", None, None)
    with pytest.raises(helm().HelmValuesError):
        render_chart({"sweeper": {"timeout": "5 minutes"}})


def test_notify_url_comes_from_the_secret_only() -> None:
    cronjob = one(render_chart(FULL_VALUES), "CronJob")
    (entry,) = [
        e
        for e in env_of(cronjob["spec"]["jobTemplate"]["spec"])
        if e["name"] == "SWEEPER_NOTIFY_URL"
    ]
    assert entry == {
        "name": "SWEEPER_NOTIFY_URL",
        "valueFrom": {"secretKeyRef": {"name": "gatekeeper-sweeper-notify", "key": "url"}},
    }


def test_full_render_sets_the_pod_options() -> None:
    objects = render_chart(FULL_VALUES)
    template = one(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
    pod = template["spec"]
    assert pod["priorityClassName"] == "low-priority"
    assert pod["nodeSelector"] == FULL_VALUES["nodeSelector"]
    assert pod["tolerations"] == FULL_VALUES["tolerations"]
    assert pod["affinity"] == FULL_VALUES["affinity"]
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    assert template["metadata"]["annotations"] == FULL_VALUES["podAnnotations"]
    assert template["metadata"]["labels"]["example.com/cost-center"] == "infra"
    account = one(objects, "ServiceAccount")
    assert account["metadata"]["annotations"] == {"example.com/owner": "platform"}
    rule = one(objects, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prometheus"


def test_network_policy_allows_only_the_sweepers_peers() -> None:
    objects = render_chart(FULL_VALUES)
    policy = one(objects, "NetworkPolicy")["spec"]
    pod_labels = one(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"][
        "labels"
    ]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy  # nothing may connect to the sweeper
    api, dns, pushgateway, webhook = policy["egress"]
    assert [peer["ipBlock"]["cidr"] for peer in api["to"]] == ["10.0.0.1/32", "172.18.0.2/32"]
    assert {p["port"] for p in api["ports"]} == {443, 6443}
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert pushgateway["to"] == FULL_VALUES["networkPolicy"]["pushgateway"]["to"]
    assert [p["port"] for p in pushgateway["ports"]] == [9091]
    assert [p["port"] for p in webhook["ports"]] == [443]
    # Without a Pushgateway URL or a webhook Secret, their rules are not rendered.
    values = {"networkPolicy": {"enabled": True, "apiServer": {"cidrs": ["10.0.0.1/32"]}}}
    assert len(one(render_chart(values), "NetworkPolicy")["spec"]["egress"]) == 2


def test_release_namespace_is_used_throughout() -> None:
    objects = render_chart()
    for obj in objects:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            assert namespace is None
        elif obj["metadata"]["name"].endswith("-observer"):
            assert namespace == "gatekeeper-system"
        else:
            assert namespace == NAMESPACE, obj["kind"]
