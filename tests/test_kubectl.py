"""Real kubectl against the fake API server: TLS, token, discovery, categories, dry-run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import tool_env

from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine")

ADM = "admissionregistration.k8s.io"
TEAM = "gatekeeper-k8srequiredlabels-must-have-team"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeApiServer, Path]]:
    home = tmp_path_factory.mktemp("kubectl-home")
    with FakeApiServer() as server:
        seed_sample_cluster(server)
        kubeconfig = Path(server.write_kubeconfig(home / "kubeconfig"))
        yield server, kubeconfig


def kubectl(cluster: tuple[FakeApiServer, Path], *args: str) -> subprocess.CompletedProcess:
    """kubectl with only our kubeconfig; HOME is private (kubectl caches discovery there)."""
    _, kubeconfig = cluster
    env = tool_env(kubeconfig.parent / "kubectl")
    return subprocess.run(
        [KUBECTL or "kubectl", "--kubeconfig", str(kubeconfig), "--request-timeout", "10s", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines() if line.strip()]


def test_get_constrainttemplates_over_tls_with_the_token(cluster) -> None:
    done = kubectl(cluster, "get", "constrainttemplates")
    assert done.returncode == 0, done.stderr
    table = rows(done.stdout)
    assert table[0] == ["NAME", "AGE"]
    assert [row[0] for row in table[1:]] == [
        "k8sallowedrepos",
        "k8sblocknodeport",
        "k8srequiredlabels",
    ]
    assert all(row[1] == "60m" for row in table[1:])  # the sample is an hour old
    server, _ = cluster
    assert {r.headers.get("authorization") for r in server.requests} == {"Bearer test-token"}


def test_get_constraints_by_category(cluster) -> None:
    done = kubectl(cluster, "get", "constraints", "-o", "name")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "k8sallowedrepos.constraints.gatekeeper.sh/audit-only",
        "k8sallowedrepos.constraints.gatekeeper.sh/prod-repos",
        "k8srequiredlabels.constraints.gatekeeper.sh/must-have-app",
        "k8srequiredlabels.constraints.gatekeeper.sh/must-have-env",
        "k8srequiredlabels.constraints.gatekeeper.sh/must-have-owner",
        "k8srequiredlabels.constraints.gatekeeper.sh/namespaces-have-owner",
    ]


def test_get_bindings_by_name(cluster) -> None:
    done = kubectl(cluster, "get", "validatingadmissionpolicybindings", "-o", "name")
    assert done.returncode == 0, done.stderr
    names = [line.split("/", 1) for line in done.stdout.splitlines()]
    assert {kind for kind, _ in names} == {f"validatingadmissionpolicybinding.{ADM}"}
    assert TEAM in {name for _, name in names} and len(names) == 11


def test_server_side_dry_run_delete_keeps_the_object(cluster) -> None:
    server, _ = cluster
    before = server.get(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", TEAM)
    done = kubectl(cluster, "delete", "validatingadmissionpolicybinding", TEAM, "--dry-run=server")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f'validatingadmissionpolicybinding.{ADM} "{TEAM}" deleted (server dry run)'
    )
    assert [r.verb for r in server.requests if r.method == "DELETE"][-1:] == ["delete"]
    assert server.get(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", TEAM) == before


def test_api_resources_lists_short_names_and_kinds(cluster) -> None:
    done = kubectl(cluster, "api-resources", "--no-headers")
    assert done.returncode == 0, done.stderr
    by_name = {row[0]: row for row in rows(done.stdout)}
    assert by_name["customresourcedefinitions"][1:] == [
        "crd,crds",
        "apiextensions.k8s.io/v1",
        "false",
        "CustomResourceDefinition",
    ]
    assert by_name["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert by_name["validatingadmissionpolicybindings"][1:] == [
        f"{ADM}/v1",
        "false",
        "ValidatingAdmissionPolicyBinding",
    ]
    assert by_name["k8srequiredlabels"][1:] == [
        "constraints.gatekeeper.sh/v1",
        "false",
        "K8sRequiredLabels",
    ]
    done = kubectl(cluster, "api-resources", "--categories=constraint", "-o", "name")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == [
        "k8sallowedrepos.constraints.gatekeeper.sh",
        "k8sblocknodeport.constraints.gatekeeper.sh",
        "k8srequiredlabels.constraints.gatekeeper.sh",
    ]


def test_an_untrusted_server_certificate_is_refused(cluster, tmp_path: Path) -> None:
    server, _ = cluster
    with FakeApiServer() as other:  # a different CA
        other_config = Path(other.write_kubeconfig(tmp_path / "other"))
        forged = other_config.read_text().replace(other.url, server.url)
        (tmp_path / "forged").write_text(forged)
        env = tool_env(tmp_path / "kubectl")
        done = subprocess.run(
            [
                KUBECTL or "kubectl",
                "--kubeconfig",
                str(tmp_path / "forged"),
                "--request-timeout",
                "10s",
                "get",
                "constrainttemplates",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert "certificate" in done.stderr
