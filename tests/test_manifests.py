"""What ships under cronjob/ and in the Dockerfile: hardened, consistent with the code.

Reads the plain manifest files (no kubectl needed); schema validation of the rendered
manifests is `.ci/lint`'s job.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sweeper import __version__
from sweeper.cli import commands as cli
from sweeper.core.reasons import ExitCode
from sweeper.core.settings import parse_duration

ROOT = Path(__file__).resolve().parents[1]
CRONJOB = ROOT / "cronjob" / "cronjob.yaml"
ONESHOT = ROOT / "cronjob" / "oneshot" / "job.yaml"
IMAGE = f"ghcr.io/example/gatekeeper-sweeper:{__version__}"
NONROOT = 65532


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def job_specs() -> dict[str, dict[str, Any]]:
    """The Job spec of the CronJob and of the one-shot Job."""
    return {
        "cronjob": load(CRONJOB)["spec"]["jobTemplate"]["spec"],
        "oneshot": load(ONESHOT)["spec"],
    }


def env(job: dict[str, Any]) -> dict[str, str]:
    (container,) = job["template"]["spec"]["containers"]
    return {entry["name"]: entry["value"] for entry in container["env"]}


@pytest.mark.parametrize("name", ["cronjob", "oneshot"])
def test_pod_is_hardened(name: str) -> None:
    pod = job_specs()[name]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": NONROOT,
        "runAsGroup": NONROOT,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is True  # the in-cluster config needs it
    assert pod["serviceAccountName"] == "gatekeeper-sweeper"
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    assert "emptyDir" in volumes[mount["name"]]


@pytest.mark.parametrize("name", ["cronjob", "oneshot"])
def test_usage_and_guard_exit_codes_fail_the_job_at_once(name: str) -> None:
    job = job_specs()[name]
    assert job["template"]["spec"]["restartPolicy"] == "Never"  # podFailurePolicy needs it
    fail_fast = [rule for rule in job["podFailurePolicy"]["rules"] if rule["action"] == "FailJob"]
    (rule,) = fail_fast
    assert rule["onExitCodes"]["operator"] == "In"
    assert rule["onExitCodes"]["containerName"] == "sweeper"
    assert set(rule["onExitCodes"]["values"]) == {ExitCode.USAGE, ExitCode.GUARD}


@pytest.mark.parametrize("name", ["cronjob", "oneshot"])
def test_job_deadline_outlasts_the_sweep_timeout(name: str) -> None:
    job = job_specs()[name]
    timeout = parse_duration(env(job)["SWEEPER_TIMEOUT"]).total_seconds()
    # The deadline covers every attempt: each may run its timeout plus one request in
    # flight (30 s), and Kubernetes waits 10 s, 20 s, ... between attempts.
    attempts = job["backoffLimit"] + 1
    backoff = sum(10 * 2**i for i in range(attempts - 1))
    assert job["activeDeadlineSeconds"] > attempts * (timeout + 30) + backoff


@pytest.mark.parametrize("name", ["cronjob", "oneshot"])
def test_every_env_var_is_a_sweep_option(name: str) -> None:
    """A misspelt SWEEPER_* variable would be ignored silently."""
    options = {param.envvar for param in cli.sweep.params if getattr(param, "envvar", None)}
    assert set(env(job_specs()[name])) <= options


def test_cronjob_schedule_history_and_ttl_agree() -> None:
    cronjob = load(CRONJOB)["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert cronjob["startingDeadlineSeconds"] > 0
    match = re.fullmatch(r"\*/(\d+) \* \* \* \*", cronjob["schedule"])
    assert match, cronjob["schedule"]
    interval = int(match.group(1)) * 60
    job = cronjob["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] < interval  # a run ends before the next is due
    history = max(cronjob["successfulJobsHistoryLimit"], cronjob["failedJobsHistoryLimit"])
    # The TTL must not delete Jobs the history limits mean to keep.
    assert job["ttlSecondsAfterFinished"] >= history * interval


def test_oneshot_is_the_cronjob_pod_as_a_dry_run() -> None:
    specs = job_specs()
    assert env(specs["cronjob"])["SWEEPER_DRY_RUN"] == "false"
    assert env(specs["oneshot"])["SWEEPER_DRY_RUN"] == "true"
    for spec in specs.values():
        (container,) = spec["template"]["spec"]["containers"]
        container["env"] = [e for e in container["env"] if e["name"] != "SWEEPER_DRY_RUN"]
    assert specs["oneshot"]["template"] == specs["cronjob"]["template"]


def test_role_binding_names_the_service_account_and_role() -> None:
    base = ROOT / "cronjob"
    # The base sets its namespace with a NamespaceTransformer (unsetOnly: the observer Role
    # keeps gatekeeper-system), not with `namespace:`.
    (transformer,) = [
        yaml.safe_load(text) for text in load(base / "kustomization.yaml")["transformers"]
    ]
    assert transformer["kind"] == "NamespaceTransformer" and transformer["unsetOnly"] is True
    namespace = transformer["metadata"]["namespace"]
    binding = load(base / "clusterrolebinding.yaml")
    assert binding["roleRef"]["name"] == load(base / "clusterrole.yaml")["metadata"]["name"]
    account = load(base / "serviceaccount.yaml")["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    ]
    assert load(base / "namespace.yaml")["metadata"]["name"] == namespace
    assert load(base / "oneshot" / "kustomization.yaml")["namespace"] == namespace


def test_dockerfile_runs_the_sweep_as_non_root_with_this_version() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert f"ARG VERSION={__version__}" in lines
    assert f"USER {NONROOT}:{NONROOT}" in lines
    assert 'ENTRYPOINT ["/usr/bin/python3.11", "-m", "sweeper"]' in lines
    assert 'CMD ["sweep"]' in lines
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases == ["${PYTHON_IMAGE}", "${RUNTIME_IMAGE}"]
    # The packages built by one run on the other's interpreter: both Debian 12, Python 3.11.
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in lines
    assert "ARG RUNTIME_IMAGE=gcr.io/distroless/python3-debian12:nonroot" in lines


def test_base_puts_everything_in_its_namespace_but_the_observer_role(tmp_path: Path) -> None:
    from rendering import kustomize

    for obj in kustomize(ROOT / "cronjob", tmp_path):
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert namespace is None
        elif obj["kind"] in ("Role", "RoleBinding") and "observer" in obj["metadata"]["name"]:
            assert namespace == "gatekeeper-system", obj["metadata"]["name"]
        else:
            assert namespace == "gatekeeper-sweeper", obj["kind"]


def test_a_sigterm_never_cuts_a_deletion_in_the_middle(tmp_path: Path) -> None:
    """The grace period outlasts the request in flight plus the write-ahead record before a
    DELETE (two requests of --request-timeout), so the sweep ends as tests/test_signals.py
    shows, not by SIGKILL."""
    from rendering import kustomize

    for directory in ("cronjob", "cronjob/oneshot"):
        for obj in kustomize(ROOT / directory, tmp_path):
            if obj["kind"] not in ("CronJob", "Job"):
                continue
            job = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
            pod = job["template"]["spec"]
            env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
            timeout = float(env.get("SWEEPER_REQUEST_TIMEOUT", "30s").rstrip("s"))
            assert pod["terminationGracePeriodSeconds"] > 2 * timeout + 10, directory
