"""Observing the running Gatekeeper, end to end over HTTP: what a sweep reads from its
Deployments, and how it falls back when it cannot read them (never a different exit code)."""

from __future__ import annotations

from typing import Any

from helpers import NOW, sweep

from sweeper.core.settings import Observing
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster

GENERATE = ["--operation=audit", "--operation=status", "--operation=generate"]
OBSERVING = Observing(enabled=True)


def audit(version: str = "v3.23.0", *flags: str, name: str = "gatekeeper-audit") -> dict:
    return make.gatekeeper_deployment(name, version=version, args=[*GENERATE, *flags])


def observed_sweep(server: FakeApiServer, tmp_path: Any, **changes: Any):
    seed_sample_cluster(server, now=NOW, gatekeeper=False)
    changes.setdefault("observing", OBSERVING)
    return sweep(server.write_kubeconfig(tmp_path / "kc"), **changes)


def test_observed_flags_and_version_reach_the_log_and_the_summary(
    server: FakeApiServer, tmp_path
) -> None:
    server.create(make.gatekeeper_deployment())  # the webhook: no generate operation
    server.create(audit("v3.23.0", "--default-create-vap-binding-for-constraints=false"))
    run = observed_sweep(server, tmp_path, dry_run=True, max_deletions=0, max_deletion_percent=0)
    (line,) = run.events("gatekeeper_observed")
    assert line["deployments"] == ["gatekeeper-audit", "gatekeeper-controller-manager"]
    assert line["generators"] == ["gatekeeper-audit/manager"]
    assert (line["version"], line["vap_default"], line["vapb_default"]) == ("v3.23.0", True, False)
    assert (line["vap_default_source"], line["vapb_default_source"]) == ("observed", "observed")
    assert run.summary["gatekeeper_version"] == "v3.23.0"
    assert (run.summary["vap_default"], run.summary["vapb_default"]) == (True, False)
    assert not run.events("gatekeeper_not_observed") and run.exit_code == 0
    # No option given: the observed binding default off makes bindings not wanted.
    assert run.summary["candidates_not_wanted"] > 2


def test_an_explicit_option_wins_over_what_is_observed(server: FakeApiServer, tmp_path) -> None:
    server.create(audit("v3.23.0", "--default-create-vap-binding-for-constraints=false"))
    observing = Observing(enabled=True, vapb_default=True)
    run = observed_sweep(server, tmp_path, dry_run=True, observing=observing)
    (line,) = run.events("gatekeeper_observed")
    assert (line["vapb_default"], line["vapb_default_source"]) == (True, "option")


def test_a_403_on_deployments_is_one_warning_and_changes_no_exit_code(
    server: FakeApiServer, tmp_path
) -> None:
    server.create(audit())
    server.inject(method="GET", path="/deployments$", status=403, times=None)
    run = observed_sweep(server, tmp_path)
    (warning,) = run.events("gatekeeper_not_observed")
    assert warning["level"] == "warning" and "403" in warning["msg"]
    (line,) = run.events("gatekeeper_observed")
    assert "403" in line["problem"] and line["vapb_default_source"] == "default"
    assert warning["cause"] == "deployments-unreadable"
    # Version unknown: the sample's legacy duplicate is held and reported, not deleted.
    assert run.exit_code == 0 and run.summary["deleted"] == 5
    assert "legacy-duplicate" in {line["reason"] for line in run.events("reported")}


def test_disagreeing_generating_containers_are_not_observed(
    server: FakeApiServer, tmp_path
) -> None:
    server.create(audit("v3.23.0", "--default-create-vap-binding-for-constraints=false"))
    server.create(
        audit("v3.23.0", "--default-create-vap-binding-for-constraints=true", name="second")
    )
    run = observed_sweep(server, tmp_path, dry_run=True)
    (warning,) = run.events("gatekeeper_not_observed")
    assert "default-create-vap-binding-for-constraints" in warning["msg"]
    (line,) = run.events("gatekeeper_observed")
    assert (line["vapb_default"], line["vapb_default_source"]) == (True, "default")
    assert run.exit_code == 0


def test_no_generating_container_while_gatekeeper_is_installed_is_reported(
    server: FakeApiServer, tmp_path
) -> None:
    server.create(make.gatekeeper_deployment())  # webhook only: nothing generates
    run = observed_sweep(server, tmp_path, dry_run=True)
    (idle,) = run.events("gatekeeper_idle")
    assert idle["level"] == "warning" and "no running container generates" in idle["msg"]
    # No verdict changes but the version-unknown hold of the sample's legacy duplicate.
    assert run.exit_code == 0 and run.summary["would_delete"] == 5


def test_scaled_to_zero_is_idle_too(server: FakeApiServer, tmp_path) -> None:
    server.create(make.gatekeeper_deployment("gatekeeper-audit", args=GENERATE, replicas=0))
    run = observed_sweep(server, tmp_path, dry_run=True)
    assert run.events("gatekeeper_idle") and not run.events("gatekeeper_not_observed")


def test_observation_off_reads_no_deployment(server: FakeApiServer, tmp_path) -> None:
    server.create(audit("v3.23.0", "--default-create-vap-binding-for-constraints=false"))
    seed_sample_cluster(server, now=NOW, gatekeeper=False)
    run = sweep(server.write_kubeconfig(tmp_path / "kc"), dry_run=True)
    assert not [r for r in server.requests if r.resource == "deployments"]
    (line,) = run.events("gatekeeper_observed")
    assert line["problem"].startswith("observation is off")
    assert not run.events("gatekeeper_not_observed")


def test_a_rollout_whose_replicasets_are_forbidden_is_not_observed(
    server: FakeApiServer, tmp_path
) -> None:
    """Old pods may still run the old flags: without their ReplicaSets, the safe side."""
    stored = server.create(audit("v3.23.0", "--default-create-vap-binding-for-constraints=false"))
    server.replace(make.stuck_rollout(stored))
    server.inject(method="GET", path="/replicasets$", status=403, times=None)
    run = observed_sweep(server, tmp_path, dry_run=True)
    (warning,) = run.events("gatekeeper_not_observed")
    assert warning["cause"] == "rollout" and "403" in warning["msg"]
    (line,) = run.events("gatekeeper_observed")
    assert (line["vapb_default"], line["vapb_default_source"]) == (True, "default")
    assert "1 old replicas still running" in line["rollout"]
    assert run.exit_code == 0
