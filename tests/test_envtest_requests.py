"""What the sweeper sends a real API server, read from its audit log: a DELETE whose object
changed after the re-check is refused (409) and the object left alone; ``--dry-run`` sends no
write at all; ``--page-size 5`` pages with ``limit`` and ``continue``; the restore round trip
(sweep, restore, sweep) passes real validation; and kubectl and the sweeper work on the same
cluster. The sweeper runs as its own ServiceAccount (bound to cluster-admin here) so that the
audit log tells its requests from the test's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from envtest_support import api_for, exempting, outcomes, real_sweep, vap_names
from scenarios.building import AUDIT_ONLY, Cluster, ghost_constraint, ghost_template
from scenarios.observed import gatekeeper_deployments

from sweeper.cluster.kube import KubeClient
from sweeper.core.settings import Observing
from sweeper.testing import objects as make
from sweeper.testing.controlplane import ControlPlane
from sweeper.testing.realapi import RealApi, resource_path

pytestmark = pytest.mark.envtest


@pytest.fixture(scope="module", autouse=True)
def leave_it_clean(control_plane: ControlPlane) -> Iterator[None]:
    """The last test's objects go at the end of the module: a kept binding enforces on
    every write, and the control plane is shared with the rest of the session."""
    yield
    api_for(control_plane).wipe()


ACCOUNT = "envtest-sweeper"
USER = f"system:serviceaccount:default:{ACCOUNT}"
WRITES = {"create", "update", "patch", "delete", "deletecollection"}
KUBECTL = shutil.which("kubectl")
ADM = "admissionregistration.k8s.io/v1"
CONSTRAINTS = "constraints.gatekeeper.sh/v1beta1"
VAP, VAPB = "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"
NO_GUARD = {"max_deletions": 0, "max_deletion_percent": 0}
GATEKEEPER_NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "gatekeeper-system"},
}


@pytest.fixture(scope="module")
def sweeper_kubeconfig(control_plane: ControlPlane, tmp_path_factory) -> Path:
    """A kubeconfig of a ServiceAccount bound to cluster-admin: the sweeper's own identity."""
    api = api_for(control_plane)
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT}}
    api.create({**sa, "metadata": {"name": ACCOUNT, "namespace": "default"}})
    api.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": ACCOUNT},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": "default"}],
        }
    )
    token = api.request(
        "POST",
        resource_path("v1", "ServiceAccount", ACCOUNT, "default") + "/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )["status"]["token"]
    return control_plane.kubeconfig_for_token(token, tmp_path_factory.mktemp("sa") / "kubeconfig")


def seed(api: RealApi, c: Cluster, *extra: dict[str, Any]) -> None:
    """The objects, their VAPs scoped out of the sweeper's exempt namespace as Gatekeeper
    v3.22+ generates them: a live constraint of a policy matching every ConfigMap would
    otherwise deny the sweep's write-ahead records (docs/gatekeeper-exemption.md)."""
    api.wipe(keep_crds=[o for o in c.objects if o["kind"] == "CustomResourceDefinition"])
    api.load(exempting([*c.objects, *extra]))


def leftovers() -> Cluster:
    """A kept template, policy, constraint and binding; two deletable bindings and a policy."""
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "kept", binding=False)
    c.binding(ghost_constraint("K8sRequiredLabels", "team"))
    c.binding(ghost_constraint("K8sRequiredLabels", "cost-center"))
    c.policy(ghost_template("K8sAllowedRepos"))
    return c


class Audit:
    """The sweeper's requests in the API server's audit log, from a mark on."""

    def __init__(self, plane: ControlPlane) -> None:
        assert plane.audit_log is not None
        self.path = plane.audit_log
        self.offset = self.path.stat().st_size

    def requests(self) -> list[dict[str, Any]]:
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            events = [json.loads(line) for line in fh.read().splitlines() if line.strip()]
        return [
            e for e in events if e["stage"] == "ResponseComplete" and e["user"]["username"] == USER
        ]


def test_dry_run_sends_no_write(control_plane: ControlPlane, sweeper_kubeconfig: Path) -> None:
    api = api_for(control_plane)
    seed(api, leftovers(), GATEKEEPER_NAMESPACE, *gatekeeper_deployments("v3.22.0"))
    before = resource_versions(api)
    audit = Audit(control_plane)
    run = real_sweep(
        sweeper_kubeconfig,
        dry_run=True,
        events=True,
        observing=Observing(enabled=True),
        **NO_GUARD,
    )
    assert run.exit_code == 0
    assert run.names("would_delete") == {
        "gatekeeper-k8srequiredlabels-team",
        "gatekeeper-k8srequiredlabels-cost-center",
        "gatekeeper-k8sallowedrepos",
    }
    sent = audit.requests()
    assert sent, "the audit log shows none of the sweeper's requests"
    assert {e["verb"] for e in sent} <= {"get", "list"}, [
        (e["verb"], e["requestURI"]) for e in sent if e["verb"] in WRITES
    ]
    assert resource_versions(api) == before
    lists = [e for e in sent if e["verb"] == "list"]
    assert any("/deployments" in e["requestURI"] for e in lists)  # observed, read-only


def test_a_delete_after_the_object_changed_is_refused_409_and_left_alone(
    control_plane: ControlPlane, sweeper_kubeconfig: Path, monkeypatch
) -> None:
    api = api_for(control_plane)
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.binding(ghost_constraint("K8sRequiredLabels", "team"))
    seed(api, c)
    target = resource_path(ADM, VAPB, "gatekeeper-k8srequiredlabels-team")
    real_delete = KubeClient.delete

    def changed_first(self, path, **kwargs):
        # After the sweep's re-check GET, before its DELETE: someone edits the binding.
        api.merge_patch(target, {"metadata": {"labels": {"edited": "by-someone"}}})
        return real_delete(self, path, **kwargs)

    monkeypatch.setattr(KubeClient, "delete", changed_first)
    audit = Audit(control_plane)
    run = real_sweep(sweeper_kubeconfig, **NO_GUARD)
    assert run.exit_code == 0
    assert outcomes(run) == {"gatekeeper-k8srequiredlabels-team": "conflict owner-deleted"}
    assert run.summary["conflicts"] == 1 and run.summary["deleted"] == 0
    (delete,) = [e for e in audit.requests() if e["verb"] == "delete"]
    assert delete["responseStatus"]["code"] == 409
    assert api.get(target)["metadata"]["labels"] == {"edited": "by-someone"}


def test_page_size_5_pages_through_the_real_server(
    control_plane: ControlPlane, sweeper_kubeconfig: Path
) -> None:
    api = api_for(control_plane)
    c = Cluster()
    c.template("K8sRequiredLabels")
    for i in range(12):
        c.binding(ghost_constraint("K8sRequiredLabels", f"gone-{i:02}"))
    for kind in ("K8sA", "K8sB", "K8sC", "K8sD", "K8sE", "K8sF"):
        c.policy(ghost_template(kind))
    seed(api, c)
    audit = Audit(control_plane)
    paged = real_sweep(sweeper_kubeconfig, dry_run=True, page_size=5, **NO_GUARD)
    pages = [
        e["requestURI"]
        for e in audit.requests()
        if e["verb"] == "list" and "/validatingadmissionpolicybindings?" in e["requestURI"]
    ]
    whole = real_sweep(sweeper_kubeconfig, dry_run=True, **NO_GUARD)
    assert len(pages) == 3 and all("limit=5" in uri for uri in pages)
    assert sum("continue=" in uri for uri in pages) == 2
    assert outcomes(paged) == outcomes(whole) and len(paged.names("would_delete")) == 18
    assert (paged.summary["listed_bindings"], paged.summary["listed_policies"]) == (12, 7)


def test_restore_round_trip_on_the_real_server(
    control_plane: ControlPlane, sweeper_kubeconfig: Path, tmp_path: Path
) -> None:
    api = api_for(control_plane)
    seed(api, leftovers())
    first = real_sweep(sweeper_kubeconfig, **NO_GUARD)
    deleted = first.names("deleted")
    assert len(deleted) == 3 and not deleted & vap_names(api)
    log = tmp_path / "sweep.log"
    log.write_text("".join(json.dumps(line) + "\n" for line in first.lines))
    restored = subprocess.run(
        [
            sys.executable,
            "-m",
            "sweeper",
            "restore",
            "--kubeconfig",
            str(sweeper_kubeconfig),
            str(log),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert restored.returncode == 0, restored.stderr
    assert deleted <= vap_names(api)  # created again: real validation (CEL included) passed
    again = real_sweep(sweeper_kubeconfig, **NO_GUARD)
    assert again.exit_code == 0 and again.summary["deleted"] == 0
    # A restore is a decision: the restored objects carry restored-at, and the next sweep
    # holds every one of them (``restored``) instead of deleting them again.
    assert again.names("restored") == deleted


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_and_the_sweeper_on_the_same_cluster(
    control_plane: ControlPlane, sweeper_kubeconfig: Path, tmp_path: Path
) -> None:
    api = api_for(control_plane)
    c = Cluster()
    c.template("K8sRequiredLabels")
    c.constraint("K8sRequiredLabels", "must-have-owner", scoped=AUDIT_ONLY, binding=False)
    c.constraint("K8sRequiredLabels", "must-have-team", binding=False)
    seed(api, c)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "KUBECONFIG": str(sweeper_kubeconfig)}

    def kubectl(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [KUBECTL, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    # kubectl creates the bindings Gatekeeper would (owned by the live constraints) ...
    for name in ("must-have-owner", "must-have-team"):
        owner = api.get(resource_path(CONSTRAINTS, "K8sRequiredLabels", name))
        kubectl("create", "-f", "-", stdin=json.dumps(binding_for(owner)))
    # ... deletes one constraint (no garbage collector here: its binding stays) ...
    kubectl("delete", "k8srequiredlabels", "must-have-team")
    # Both bindings deny unlabelled writes once admission loads them (the live constraint's
    # for good); the sweep's records are not among them: seed() scoped the policy out of
    # the sweeper's exempt namespace, as Gatekeeper v3.22+ generates it.
    names = set(kubectl("get", VAPB.lower() + "s", "-o", "name").split())
    assert names == {
        "validatingadmissionpolicybinding.admissionregistration.k8s.io/"
        f"gatekeeper-k8srequiredlabels-{n}"
        for n in ("must-have-owner", "must-have-team")
    }
    run = real_sweep(sweeper_kubeconfig, **NO_GUARD)
    assert outcomes(run) == {
        "gatekeeper-k8srequiredlabels-must-have-owner": "deleted not-wanted",
        "gatekeeper-k8srequiredlabels-must-have-team": "deleted owner-deleted",
    }, run.lines
    assert kubectl("get", VAPB.lower() + "s", "-o", "name").strip() == ""
    assert "gatekeeper-k8srequiredlabels" in kubectl(
        "get", "validatingadmissionpolicies", "-o", "name"
    )


def binding_for(owner: dict[str, Any]) -> dict[str, Any]:
    return make.binding(owner)


def resource_versions(api: RealApi) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for kind in (VAP, VAPB)
        for o in api.items(resource_path(ADM, kind))
    }
