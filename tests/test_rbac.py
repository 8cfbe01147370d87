"""The ClusterRole grants exactly what the sweeper sends: no missing rule, no unused one.

Full sweeps run against the fake API server through every code path that sends a request
(lists, the CRD GETs of gather, every kind of re-check, deletions of bindings and policies,
on a v1 and a v1beta1-only cluster); the (verb, group, resource) of every request is
compared with what cronjob/clusterrole.yaml grants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import NOW, T0, sweep

from sweeper.core import gatekeeper as gk
from sweeper.core.settings import Observing
from sweeper.core.verdicts import Recheck
from sweeper.runs import execute
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster

CLUSTER_ROLE = Path(__file__).resolve().parents[1] / "cronjob" / "clusterrole.yaml"
CRD_KEY = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")

Permission = tuple[str, str, str]  # (verb, apiGroup, resource)
# Observing Gatekeeper lists its Deployments: the observer Role's business, not the ClusterRole's.
OBSERVING = {("list", "apps", "deployments")}
# The write-ahead record: the record Role's business, in the sweeper's namespace.
RECORDING = {("create", "", "configmaps"), ("list", "", "configmaps"), ("delete", "", "configmaps")}
# The cluster's identity: get on one Namespace, by name.
IDENTITY_RULE = {
    "apiGroups": [""],
    "resources": ["namespaces"],
    "resourceNames": ["kube-system"],
    "verbs": ["get"],
}
AUDIT_ARGS = ["--operation=audit", "--operation=status", "--operation=generate"]


def granted(role: dict[str, Any] | None = None) -> set[Permission]:
    """Every (verb, group, resource) the ClusterRole's rules grant, expanded."""
    role = role or yaml.safe_load(CLUSTER_ROLE.read_text())
    assert role["kind"] == "ClusterRole"
    for rule in role["rules"]:
        # resourceNames or nonResourceURLs would grant what this comparison cannot see; the
        # one exception, get on the Namespace kube-system, is checked by its own test.
        if rule.get("resourceNames") is not None:
            assert rule == IDENTITY_RULE, rule
        else:
            assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
    return expanded(role)


def expanded(role: dict[str, Any]) -> set[Permission]:
    """Every (verb, group, resource) a role's rules grant."""
    return {
        (verb, group, resource)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def sent(server: FakeApiServer) -> set[Permission]:
    """What the sweep asked for; discovery needs no rule (system:discovery)."""
    permissions = set()
    for request in server.requests:
        if request.verb == "discovery":
            continue
        assert request.group is not None and request.resource is not None, request.path
        # Constraint kinds appear at run time: the role can only name them all.
        resource = "*" if request.group == gk.CONSTRAINTS_GROUP else request.resource
        permissions.add((request.verb, request.group, resource))
    return permissions


@pytest.fixture
def rechecks(monkeypatch: pytest.MonkeyPatch) -> set[Recheck]:
    """The kinds of re-check the sweeps below performed."""
    seen: set[Recheck] = set()
    original = execute.recheck_path

    def recording(verdict: Any, inventory: Any) -> str:
        seen.add(verdict.recheck)
        return original(verdict, inventory)

    monkeypatch.setattr(execute, "recheck_path", recording)
    return seen


def sweep_sample(
    tmp_path: Path,
    *,
    vap_versions: tuple[str, ...],
    uninstall: bool = False,
    gatekeeper: str = "v3.23.0",
) -> FakeApiServer:
    """One real sweep of the sample cluster; returns the server (and its request log)."""
    with FakeApiServer(vap_versions=vap_versions, clock=lambda: T0) as server:
        seed_sample_cluster(server, now=NOW, gatekeeper=False)
        if uninstall:  # Gatekeeper gone: every CRD GET answers 404
            for crd in server.objects("CustomResourceDefinition"):
                server.delete(*CRD_KEY, crd["metadata"]["name"])
        server.create(
            make.gatekeeper_deployment("gatekeeper-audit", version=gatekeeper, args=AUDIT_ARGS)
        )
        name = "-".join((*vap_versions, gatekeeper)) + ("-uninstalled" if uninstall else "")
        run = sweep(
            server.write_kubeconfig(tmp_path / name),
            max_deletions=0,
            max_deletion_percent=0,
            observing=Observing(enabled=True),
        )
        assert run.exit_code == 0, run.summary
        assert run.summary["deleted"] > 0
        return server


def test_cluster_role_grants_exactly_what_the_sweeper_sends(
    tmp_path: Path, rechecks: set[Recheck]
) -> None:
    servers = [
        sweep_sample(tmp_path, vap_versions=("v1", "v1beta1")),
        sweep_sample(tmp_path, vap_versions=("v1beta1",)),
        sweep_sample(tmp_path, vap_versions=("v1", "v1beta1"), uninstall=True),
        # Gatekeeper <= v3.22.0 manages the legacy names: the re-check GETs the legacy binding.
        sweep_sample(tmp_path, vap_versions=("v1", "v1beta1"), gatekeeper="v3.22.0"),
    ]
    used = set().union(*(sent(server) for server in servers)) - OBSERVING - RECORDING
    assert all(sent(server) >= OBSERVING for server in servers)
    namespaces = {
        r.name for server in servers for r in server.requests if r.resource == "namespaces"
    }
    assert namespaces == {"kube-system"}  # what the rule's resourceNames allows

    # The sweeps went down every path that sends a request, or the equality proves little.
    assert rechecks == set(Recheck)
    paths = {(r.verb, r.path) for server in servers for r in server.requests}
    crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert ("get", f"{crd_path}/{gk.TEMPLATE_CRD_NAME}") in paths
    assert ("get", f"{crd_path}/{gk.constraint_crd_name('K8sDisallowedTags')}") in paths
    assert {"v1", "v1beta1"} == {
        r.version for server in servers for r in server.requests if r.verb == "delete"
    }
    deleted = {resource for verb, _, resource in used if verb == "delete"}
    assert deleted == {"validatingadmissionpolicybindings", "validatingadmissionpolicies"}

    missing = used - granted()
    unused = granted() - used
    assert not missing, f"the ClusterRole lacks permissions the sweeper needs: {sorted(missing)}"
    assert not unused, (
        f"the ClusterRole grants permissions the sweeper never uses: {sorted(unused)}"
    )


def test_the_only_wildcard_is_reading_constraints() -> None:
    wildcards = {(verb, group, res) for verb, group, res in granted() if "*" in (verb, group, res)}
    assert wildcards == {
        ("get", gk.CONSTRAINTS_GROUP, "*"),
        ("list", gk.CONSTRAINTS_GROUP, "*"),
    }
    writes = {(verb, res) for verb, _, res in granted() if verb not in ("get", "list")}
    assert writes == {
        ("delete", "validatingadmissionpolicies"),
        ("delete", "validatingadmissionpolicybindings"),
    }


EVENTS_ROLE = CLUSTER_ROLE.parent / "components" / "events" / "role.yaml"


def test_events_role_grants_exactly_what_events_send(tmp_path: Path) -> None:
    """--events writes only Events, in the sweeper's namespace: the component's Role, no more."""
    role = yaml.safe_load(EVENTS_ROLE.read_text())
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "gatekeeper-sweeper"
    granted_here = expanded(role)
    with FakeApiServer(clock=lambda: T0) as server:
        seed_sample_cluster(server, now=NOW)
        run = sweep(
            server.write_kubeconfig(tmp_path / "kc"),
            events=True,
            events_namespace="gatekeeper-sweeper",
        )
        assert run.exit_code == 0 and run.summary["deleted"] > 0
        beyond_cluster_role = sent(server) - granted()
        namespaces = {r.namespace for r in server.requests if r.resource == "events"}
    assert beyond_cluster_role - RECORDING == granted_here == {("create", "", "events")}
    assert namespaces == {"gatekeeper-sweeper"}


def test_the_charts_cluster_role_grants_the_same(tmp_path: Path) -> None:
    """The Helm chart's ClusterRole, rendered by Helm, grants exactly what the one above does."""
    from rendering import FULL_VALUES, one, render_chart

    for values in ({}, FULL_VALUES):
        assert granted(one(render_chart(values), "ClusterRole")) == granted()


OBSERVER_ROLE = CLUSTER_ROLE.parent / "gatekeeper-observer-role.yaml"


def test_a_rollout_lists_only_the_replicasets_of_gatekeepers_namespace(tmp_path: Path) -> None:
    """The ReplicaSets rule is used only while a Deployment rolls out, and only to list."""
    with FakeApiServer(clock=lambda: NOW) as server:
        seed_sample_cluster(server, now=NOW, gatekeeper=False)
        audit = server.create(make.gatekeeper_deployment("gatekeeper-audit", args=AUDIT_ARGS))
        server.replace(make.stuck_rollout(audit))
        run = sweep(server.write_kubeconfig(tmp_path / "kc"), dry_run=True, observing=Observing())
        read = {
            (r.verb, r.group, r.resource, r.namespace)
            for r in server.requests
            if r.resource == "replicasets"
        }
    assert read == {("list", "apps", "replicasets", "gatekeeper-system")}
    (line,) = run.events("gatekeeper_observed")
    assert "its ReplicaSets read" in line["rollout"]


def test_observer_role_reads_only_gatekeepers_deployments(tmp_path: Path) -> None:
    """Observing Gatekeeper adds list on Deployments in its namespace, nothing else: the
    sweep lists them there and never GETs one, so the Role grants exactly that verb."""
    role, binding = yaml.safe_load_all(OBSERVER_ROLE.read_text())
    server = sweep_sample(tmp_path, vap_versions=("v1", "v1beta1"))
    observed = {
        (r.verb, r.group, r.resource, r.namespace)
        for r in server.requests
        if r.resource == "deployments"
    }
    assert observed == {("list", "apps", "deployments", "gatekeeper-system")}
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "gatekeeper-system"
    assert role["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
    ]
    assert binding["metadata"]["namespace"] == "gatekeeper-system"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gatekeeper-sweeper", "namespace": "gatekeeper-sweeper"}
    ]


RECORD_ROLE = CLUSTER_ROLE.parent / "record-role.yaml"


def test_record_role_grants_exactly_what_the_records_send(tmp_path: Path) -> None:
    """The write-ahead record writes, lists and prunes ConfigMaps in the sweeper's namespace:
    the record Role, no more; and the ClusterRole reads one Namespace by name."""
    from sweeper.core import ledger

    role, binding = yaml.safe_load_all(RECORD_ROLE.read_text())
    assert role["kind"] == "Role" and "namespace" not in role["metadata"]  # the base's
    granted_here = expanded(role)
    with FakeApiServer(clock=lambda: T0) as server:
        seed_sample_cluster(server, now=NOW)
        old = ledger.configmaps(
            {
                "sweep_id": "0ld0ld0ld0ld",
                "object_kind": "ValidatingAdmissionPolicyBinding",
                "object_name": "gone-long-ago",
                "object_uid": "u",
                "manifest": {},
            },
            namespace="gatekeeper-sweeper",
        )[0]
        old["metadata"]["creationTimestamp"] = "2025-01-01T00:00:00Z"  # past the retention
        server.create(old)
        run = sweep(server.write_kubeconfig(tmp_path / "kc"))
        assert run.exit_code == 0 and run.summary["deleted"] > 0
        assert run.events("records_pruned")[0]["pruned"] == 1
        beyond_cluster_role = sent(server) - granted()
        namespaces = {r.namespace for r in server.requests if r.resource == "configmaps"}
    assert beyond_cluster_role == granted_here == RECORDING
    assert namespaces == {"gatekeeper-sweeper"}
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gatekeeper-sweeper", "namespace": "gatekeeper-sweeper"}
    ]
    assert IDENTITY_RULE in yaml.safe_load(CLUSTER_ROLE.read_text())["rules"]
