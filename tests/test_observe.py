"""Observing the running Gatekeeper from its Deployments (sweeper.core.observe, manager_args)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from chart_deployments import AUDIT_ARGS, IMAGE, VAP, VAPB, chart, container, deployment

from sweeper.core import observe as ob
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.manager_args import Unreadable, parse_flags
from sweeper.core.versions import (
    Version,
    image_version,
    label_version,
    parse_version,
    version_default,
)

# --- Go flag syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "vap", "vapb"),
    [
        ([], None, None),
        ([f"{VAP}=false"], False, None),
        ([f"-{VAP[2:]}=false"], False, None),  # one dash is the same flag
        ([VAP], True, None),  # a bare boolean is true
        ([f"{VAP}=0", f"{VAP}=1"], True, None),  # the last one wins
        ([f"{VAPB}=F", f"{VAP}=TRUE"], True, False),
        ([f"{VAPB}=t"], None, True),
        ([f"{VAPB}=False"], None, False),
        # A boolean never takes the next argument: "false" is the first non-flag argument,
        # so the flag is true and parsing stops there.
        ([VAPB, "false", f"{VAP}=false"], None, True),
        (["--", f"{VAP}=false"], None, None),  # "--" ends the flags
        (["-", f"{VAP}=false"], None, None),  # "-" alone is a non-flag argument
        (["positional", f"{VAP}=false"], None, None),
        # An unknown non-boolean flag takes the next argument, whatever it looks like.
        (["--port", f"{VAP}=false"], None, None),
        (["--port", "8443", f"{VAP}=false"], False, None),
        (["--logtostderr", f"{VAP}=false"], False, None),  # a known boolean takes nothing
    ],
)
def test_go_flag_syntax(argv: list[str], vap: bool | None, vapb: bool | None) -> None:
    flags = parse_flags(argv)
    assert (flags.vap_default, flags.vapb_default) == (vap, vapb)


@pytest.mark.parametrize(
    ("argv", "operations"),
    [
        ([], None),
        (["--operation=generate"], {"generate"}),
        (["--operation", "generate"], {"generate"}),
        (["-operation=audit,status,generate"], {"audit", "status", "generate"}),
        (["--operation=audit", "--operation=webhook"], {"audit", "webhook"}),
        (["stop", "--operation=audit"], None),
    ],
)
def test_operation_flag(argv: list[str], operations: set[str] | None) -> None:
    found = parse_flags(argv).operations
    assert (None if found is None else set(found)) == operations


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([f"{VAP}=yes"], "invalid boolean"),
        ([f"{VAP}="], "invalid boolean"),
        ([f"{VAP}=$(DEFAULT_VAP)"], "invalid boolean"),  # an unexpanded reference
        (["--operation=audit,frobnicate"], "not a valid operation"),
        (["--operation="], "not a valid operation"),
        (["--operation"], "needs an argument"),
        # A string flag swallows what follows, and "--operation=audit" is no operation.
        (["--operation", "--operation=audit"], "not a valid operation"),
        (["---operation=audit"], "bad flag syntax"),
        (["-=x"], "bad flag syntax"),
        (["--help"], "usage"),
    ],
)
def test_what_the_manager_would_refuse_is_unreadable(argv: list[str], message: str) -> None:
    with pytest.raises(Unreadable, match=message):
        parse_flags(argv)


# --- versions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("openpolicyagent/gatekeeper:v3.20.1", Version(3, 20, 1)),
        ("registry.example:5000/openpolicyagent/gatekeeper:v3.22.0", Version(3, 22, 0)),
        ("registry.example:5000/gatekeeper", None),  # the port is no tag
        ("openpolicyagent/gatekeeper@sha256:" + "a" * 64, None),
        ("openpolicyagent/gatekeeper:v3.21.1@sha256:" + "b" * 64, Version(3, 21, 1)),
        ("openpolicyagent/gatekeeper:3.19.0", Version(3, 19, 0)),
        ("openpolicyagent/gatekeeper:v3.24.0-beta.0", Version(3, 24, 0, "beta.0")),
        ("openpolicyagent/gatekeeper:latest", None),
        ("openpolicyagent/gatekeeper:dev-3.20.1", None),
        ("", None),
    ],
)
def test_image_version(image: str, version: Version | None) -> None:
    assert image_version(image) == version


def test_label_versions_and_version_defaults() -> None:
    assert label_version({"helm.sh/chart": "gatekeeper-3.20.1"}) == Version(3, 20, 1)
    assert label_version({"app.kubernetes.io/version": "3.19.2"}) == Version(3, 19, 2)
    assert label_version({"helm.sh/chart": "other-1.0.0"}) is None
    assert label_version({"app.kubernetes.io/version": 3}) is None
    assert parse_version("v3.22.0_1") == Version(3, 22, 0)  # the chart writes "+" as "_"
    assert version_default(None) is None and version_default(Version(3, 16, 0)) is None
    assert (
        version_default(Version(3, 19, 3)) is False and version_default(Version(3, 20, 0)) is True
    )


# --- which containers generate, and what they run with --------------------------------------


def test_chart_defaults_observed_from_the_audit_container() -> None:
    found = ob.observe(chart())
    assert found.observed, found.problem
    assert found.deployments == ("gatekeeper-audit", "gatekeeper-controller-manager")
    assert found.generators == ("gatekeeper-audit/manager",)
    assert (found.version, found.vap_default, found.vapb_default) == (Version(3, 20, 1), True, True)
    assert found.reconciling


def test_flags_set_by_helm_values_are_observed() -> None:
    found = ob.observe(chart(f"{VAPB}=false", f"{VAP}=true"))
    assert (found.vap_default, found.vapb_default) == (True, False)


def test_version_default_applies_when_the_flag_is_absent() -> None:
    found = ob.observe(chart(image="openpolicyagent/gatekeeper:v3.19.1"))
    assert (found.vap_default, found.vapb_default) == (False, False)


def test_digest_only_image_falls_back_to_the_chart_label() -> None:
    digest = "openpolicyagent/gatekeeper@sha256:" + "c" * 64
    deployments = chart(image=digest)
    for obj in deployments:
        obj["metadata"]["labels"]["helm.sh/chart"] = "gatekeeper-3.22.0"
    assert ob.observe(deployments).version == Version(3, 22, 0)
    unlabelled = ob.observe(chart(f"{VAP}=true", f"{VAPB}=true", image=digest))
    assert unlabelled.observed and unlabelled.version is None
    assert (unlabelled.vap_default, unlabelled.vapb_default) == (True, True)
    assert "no version tag" in str(unlabelled.version_unknown)
    unknown = ob.observe(chart(image=digest))  # flags absent and no version: cannot be told
    assert not unknown.observed and unknown.cause == ob.CAUSE_FLAGS_UNKNOWN


def test_no_operation_flag_means_every_operation() -> None:
    found = ob.observe([deployment("gatekeeper", container(["--port=8443"]))])
    assert found.generators == ("gatekeeper/manager",)


def test_generate_alone_adds_no_controller() -> None:
    """The constraint and template controllers need a validation operation too."""
    only = ob.observe([deployment("g", container(["--operation=generate"]))])
    assert not only.observed and only.problem == ob.NO_GENERATOR


def test_before_v3_18_validation_operations_generate() -> None:
    old = "openpolicyagent/gatekeeper:v3.17.1"
    found = ob.observe([deployment("g", container(["--operation=audit"], image=old))])
    assert found.generators == ("g/manager",) and found.vap_default is False
    bad = ob.observe([deployment("g", container(["--operation=generate,audit"], image=old))])
    assert not bad.observed and "v3.18" in str(bad.problem)


def test_both_deployments_generating_must_agree() -> None:
    agree = chart(webhook_extra=("--operation=generate",))
    assert ob.observe(agree).generators == (
        "gatekeeper-audit/manager",
        "gatekeeper-controller-manager/manager",
    )
    disagree = chart(f"{VAPB}=false", webhook_extra=("--operation=generate",))
    found = ob.observe(disagree)
    assert not found.observed
    assert "disagree" in str(found.problem) and VAPB[2:] in str(found.problem)
    versions = chart()
    versions[1]["spec"]["template"]["spec"]["containers"][0]["args"].append("--operation=generate")
    versions[1]["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE[:-1] + "2"
    # Versions that differ leave the version unknown; the flags, explicit or agreed, are seen.
    differ = ob.observe(versions)
    assert "differ in version: v3.20.1, v3.20.2" in str(differ.version_unknown)
    assert differ.observed and differ.version is None


def test_sidecars_and_unlabelled_deployments_are_ignored() -> None:
    sidecar = container(
        [f"{VAPB}=false"], name="proxy", image="envoyproxy/envoy:v1.30.0", command=["envoy"]
    )
    labelled = deployment("gatekeeper-audit", container(AUDIT_ARGS), sidecar)
    decoy = deployment("not-gatekeeper", container([f"{VAPB}=false", *AUDIT_ARGS]))
    decoy["metadata"]["labels"] = {"app": "gatekeeper"}
    found = ob.observe([labelled, decoy])
    assert found.deployments == ("gatekeeper-audit",)
    assert found.generators == ("gatekeeper-audit/manager",) and found.vapb_default is True


def test_manager_identified_by_image_or_command() -> None:
    by_image = container(AUDIT_ARGS, name="gk", command=[])
    by_command = container(
        AUDIT_ARGS, name="gk", image="mirror.example/gk:v3.20.1", command=["/bin/manager"]
    )
    assert ob.observe([deployment("a", by_image)]).generators == ("a/gk",)
    assert ob.observe([deployment("b", by_command)]).version == Version(3, 20, 1)
    wrapped = container(AUDIT_ARGS, command=["/bin/sh", "-c", "exec /manager"])
    found = ob.observe([deployment("c", wrapped)])
    assert not found.observed and "not /manager" in str(found.problem)


@pytest.mark.parametrize(
    ("deployments", "part"),
    [
        ([], "no Deployment labelled"),
        ([deployment("g", container(["--operation=webhook"]))], ob.NO_GENERATOR),
        (chart(f"{VAP}=maybe"), "invalid boolean"),
        ("not a list", "not a list"),
        ([deployment("g", {"name": "manager", "args": "--operation=audit"})], "list of strings"),
        ([deployment("g", container(AUDIT_ARGS), replicas=True)], "replicas"),  # type: ignore
        ([deployment("g", "manager")], "not an object"),  # type: ignore[arg-type]
    ],
)
def test_not_observed_says_why(deployments: Any, part: str) -> None:
    found = ob.observe(deployments)
    assert not found.observed and part in str(found.problem)


def test_scaled_to_zero_is_observed_but_not_reconciling() -> None:
    deployments = chart()
    deployments[0]["spec"]["replicas"] = 0
    config = ob.resolve(ob.observe(deployments))
    assert config.reconciling is False and config.vap_default_source == ob.OBSERVED
    assert len(config.warnings(gatekeeper_installed=True)) == 1
    assert config.warnings(gatekeeper_installed=False) == []


# --- resolving the effective configuration -------------------------------------------------


def test_options_win_over_what_is_observed() -> None:
    observed = ob.observe(chart(f"{VAPB}=false", image="openpolicyagent/gatekeeper:v3.22.0"))
    config = ob.resolve(observed, vapb_option=True)
    assert (config.vap_default, config.vap_default_source) == (True, ob.OBSERVED)
    assert (config.vapb_default, config.vapb_default_source) == (True, ob.OPTION)
    assert config.defaults == GatekeeperDefaults(True, True, Version(3, 22, 0))
    assert config.defaults.legacy_binding_names
    fields = config.fields()
    assert fields["version"] == "v3.22.0" and "problem" not in fields
    assert set(fields) >= {
        "namespace",
        "deployments",
        "vap_default",
        "vapb_default",
        "vap_default_source",
        "vapb_default_source",
    }


def test_not_observed_falls_back_to_options_then_defaults() -> None:
    failed = ob.not_observed("gatekeeper-system", "HTTP 403 listing deployments")
    config = ob.resolve(failed, vap_option=False)
    assert (config.vap_default, config.vap_default_source) == (False, ob.OPTION)
    assert (config.vapb_default, config.vapb_default_source) == (True, ob.DEFAULT)
    assert config.version is None and config.fields()["problem"] == failed.problem
    assert config.warnings(gatekeeper_installed=True)[0].message.startswith(
        "Gatekeeper not observed"
    )
    # Nothing of a failed observation is used, not even an agreed version.
    disagree = ob.observe(chart(f"{VAPB}=false", webhook_extra=("--operation=generate",)))
    assert ob.resolve(disagree).defaults == GatekeeperDefaults()


def test_observation_off() -> None:
    config = ob.resolve(None, namespace="gk")
    assert config.namespace == "gk" and config.problem == ob.OBSERVATION_OFF
    assert config.warnings(gatekeeper_installed=True) == []
    assert config.defaults == GatekeeperDefaults()


def test_observe_imports_nothing_that_does_io() -> None:
    code = (
        "import sys, sweeper.core.observe, sweeper.core.manager_args; "
        "bad = {'sweeper.cluster.kube', 'urllib3', 'kubernetes', 'tenacity'} & set(sys.modules); "
        "sys.exit(sorted(bad) and 1 or 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
