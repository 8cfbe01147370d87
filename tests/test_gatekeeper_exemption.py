"""The example that keeps Gatekeeper from locking out its own cleaner
(examples/gatekeeper-exemption/, docs/gatekeeper-exemption.md).

Gatekeeper v3.22+ (v3.21 with --sync-vap-enforcement-scope) copies its webhook's
namespaceSelector into each VAP's matchConstraints and writes the Config's webhook
exclusions and the --exempt-namespace list into matchConditions
(pkg/drivers/k8scel/transform: TemplateToPolicyDefinitionWithWebhookConfig,
buildMatchConditions). Once Gatekeeper is uninstalled, a leftover VAP's paramKind names a
kind nobody serves: the API server applies its failurePolicy (Fail) before any
matchCondition can exempt a request, so only the namespaceSelector keeps the sweeper's pod
out of its reach. These tests build that VAP on the fake server from the example's
settings, show that its selector leaves the example's namespace alone, and that a sweep
removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import sweep
from rendering import ROOT, kustomize, one
from sweeping import names

from sweeper.core import gatekeeper as gk
from sweeper.runs.restore import DEFAULT_RECORD_NAMESPACE
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.gatekeeper_exemption import documented_exemption

EXAMPLE = ROOT / "examples" / "gatekeeper-exemption"
IGNORE_LABEL = "admission.gatekeeper.sh/ignore"
# Gatekeeper's chart: the webhook skips namespaces with the ignore label and its own.
WEBHOOK_NAMESPACE_SELECTOR = {
    "matchExpressions": [
        {"key": IGNORE_LABEL, "operator": "DoesNotExist"},
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["gatekeeper-system"],
        },
    ]
}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector selects an object with ``labels``."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        present = key in labels
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
    return True


def generated_policy(
    template: dict[str, Any], *, excluded: list[str], exempted: list[str]
) -> dict[str, Any]:
    """The VAP Gatekeeper v3.22+ generates with its webhook scope synchronised: the webhook's
    namespaceSelector, and the global exclusion and exemption matchConditions (their CEL,
    abridged here, lists the namespaces quoted and comma-joined, as quoteNamespaces does)."""
    policy = make.policy(template)
    policy["spec"]["matchConstraints"]["namespaceSelector"] = WEBHOOK_NAMESPACE_SELECTOR
    for name, namespaces in (
        ("global_excluded_namespaces", excluded),
        ("global_exempted_namespaces", exempted),
    ):
        quoted = ",".join(f'"{namespace}"' for namespace in namespaces)
        policy["spec"]["matchConditions"].append(
            {
                "name": f"gatekeeper_internal_match_{name}",
                "expression": f"[object, oldObject].exists(obj, obj != null && "
                f"![{quoted}].exists(ns, string(obj.metadata.namespace).matches(ns)))",
            }
        )
    return policy


def example_config() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLE / "gatekeeper-config.yaml").read_text())


def test_the_config_excludes_the_sweepers_namespace_from_the_webhook() -> None:
    config = example_config()
    # Gatekeeper reconciles only the Config named "config" in its own namespace.
    assert (config["apiVersion"], config["kind"]) == ("config.gatekeeper.sh/v1alpha1", "Config")
    assert config["metadata"] == {"name": "config", "namespace": "gatekeeper-system"}
    (entry,) = config["spec"]["match"]
    assert entry["excludedNamespaces"] == ["gatekeeper-sweeper"]
    assert {"webhook", "*"} & set(entry["processes"])
    values = yaml.safe_load((EXAMPLE / "gatekeeper-values.yaml").read_text())
    assert values == {"controllerManager": {"exemptNamespaces": ["gatekeeper-sweeper"]}}


def test_a_frozen_generated_policy_cannot_reach_the_labelled_namespace(
    server: FakeApiServer, tmp_path: Path
) -> None:
    namespace = one(kustomize(EXAMPLE, tmp_path), "Namespace")
    labels = {
        **namespace["metadata"]["labels"],
        "kubernetes.io/metadata.name": "gatekeeper-sweeper",
    }
    assert IGNORE_LABEL in labels
    excluded = example_config()["spec"]["match"][0]["excludedNamespaces"]
    crd = server.create(make.template_crd())
    template = server.create(make.template("K8sRequiredLabels"))
    policy = generated_policy(template, excluded=excluded, exempted=["gatekeeper-sweeper"])
    server.create(policy)
    # Then Gatekeeper is uninstalled: its template and CRDs go, the generated VAP stays.
    server.delete(template["apiVersion"], "ConstraintTemplate", template["metadata"]["name"])
    server.delete(crd["apiVersion"], "CustomResourceDefinition", crd["metadata"]["name"])
    stored = one(server.objects("ValidatingAdmissionPolicy"), "ValidatingAdmissionPolicy")

    # Evaluated before params are resolved: the labelled namespace is outside the policy...
    selector = stored["spec"]["matchConstraints"]["namespaceSelector"]
    assert not selects(selector, labels)
    unlabelled = {k: v for k, v in labels.items() if k != IGNORE_LABEL}
    assert selects(selector, unlabelled)  # ...and would not be without the label.
    conditions = {c["name"]: c["expression"] for c in stored["spec"]["matchConditions"]}
    assert (
        '["gatekeeper-sweeper"]'
        in conditions["gatekeeper_internal_match_global_excluded_namespaces"]
    )
    assert stored["spec"]["failurePolicy"] == "Fail"

    # The sweep removes the frozen policy.
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    # Every object is a candidate after an uninstall: the README's one-shot turns the guards off.
    run = sweep(kubeconfig, max_deletions=0, max_deletion_percent=0)
    assert run.result.exit_code == 0
    (deleted,) = run.events("deleted")
    assert (deleted["object_name"], deleted["reason"]) == (
        gk.policy_name("k8srequiredlabels"),
        "gatekeeper-uninstalled",
    )
    assert names(server, "ValidatingAdmissionPolicy") == set()


def test_the_gatekeeper_loop_installs_what_the_overlay_renders(tmp_path: Path) -> None:
    """The tests with the real Gatekeeper (and bench/flap.py) install the exemption through
    ``documented_exemption``: the Namespace the overlay renders, in which a sweep outside a
    pod writes its records, the example Config, and the Helm values' exempt namespaces."""
    exemption = documented_exemption(ROOT)
    namespace = one(kustomize(EXAMPLE, tmp_path), "Namespace")
    labels = exemption.namespace["metadata"]["labels"]
    assert IGNORE_LABEL in labels
    # the overlay adds only the base's common labels (app.kubernetes.io/...) to these
    assert labels.items() <= namespace["metadata"]["labels"].items()
    assert exemption.namespace_name == DEFAULT_RECORD_NAMESPACE
    assert exemption.exempt_namespaces == (DEFAULT_RECORD_NAMESPACE,)
    assert exemption.config == example_config()


@pytest.mark.parametrize("doc", ["docs/gatekeeper-exemption.md", "README.md"])
def test_the_docs_name_the_exact_settings(doc: str) -> None:
    text = (ROOT / doc).read_text()
    for needle in ("admission.gatekeeper.sh/ignore", "exempt"):
        assert needle in text, needle
    if doc.startswith("docs/"):
        for needle in (
            "--exempt-namespace",
            "controllerManager.exemptNamespaces",
            "excludedNamespaces",
            'processes: ["webhook"]',
            "gatekeeper_internal_match_global_excluded_namespaces",
            "gatekeeper_internal_match_global_exempted_namespaces",
            "gatekeeper_internal_match_excluded_namespaces",
            "--sync-vap-enforcement-scope",
            "namespaceSelector",
        ):
            assert needle in text, needle
