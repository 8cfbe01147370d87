"""The ``sweeper explain`` command over HTTP: it agrees with a dry-run sweep, passes the options to
the planner, exits as a sweep does on read errors and bad input, and only ever sends GETs."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from explaining import RULES, SCENARIOS
from helpers import NOW, T0, FakeTime, fake_runtime, settings_for, sweep
from scenarios import Scenario

from sweeper.cli.commands import cli
from sweeper.cli.options import decision_settings
from sweeper.core.inventory import Inventory
from sweeper.core.plan import plan
from sweeper.core.settings import Observing
from sweeper.runs.explain import describe, explain_command, run_explain
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster
from sweeper.testing.snapshot import snapshot

CONSTRAINTS = "/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels"


# --- the command, over HTTP -----------------------------------------------------------------


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def test_explain_text_unknown_name_and_only_gets(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.clear_requests()
    result = invoke(
        "explain",
        "-o",
        "text",
        "--kubeconfig",
        kubeconfig,
        "gatekeeper-k8srequiredlabels-must-have-team",
        "no-such-thing",
        "gatekeeper-k8sblocknodeport",
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "sweeper: error: no ValidatingAdmissionPolicy or binding named no-such-thing\n"
    )
    blocks = result.stdout.split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [
        "ValidatingAdmissionPolicyBinding gatekeeper-k8srequiredlabels-must-have-team",
        "ValidatingAdmissionPolicy gatekeeper-k8sblocknodeport",
    ]
    assert "Decision: row 6, delete (owner-deleted): " in blocks[0]
    assert "Decision: row 7, delete (not-wanted): generateVAP: false" in blocks[1]
    assert server.requests and {r.method for r in server.requests} == {"GET"}


def test_explain_json_matches_a_dry_run_sweep_and_a_name_of_both_kinds(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    template = server.create(make.template("K8sTwin"))
    server.create(make.constraint_crd(template))
    server.create(make.policy(template))
    twin = server.create(make.constraint("K8sTwin", "x"))
    binding = make.binding(twin)
    binding["metadata"]["name"] = "gatekeeper-k8stwin"  # the policy's name: row 7b
    server.create(binding)
    names = [
        o["metadata"]["name"]
        for kind in ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy")
        for o in server.objects(kind)
    ]
    # Observing, as explain does: Gatekeeper v3.23.0 manages the new binding names.
    dry = sweep(
        kubeconfig, dry_run=True, min_age=timedelta(minutes=5), observing=Observing(enabled=True)
    )
    server.clear_requests()
    out, err = io.StringIO(), io.StringIO()
    options = _options(kubeconfig, output="json")
    code = explain_command(
        names, decision_settings(options), runtime=fake_runtime(FakeTime()), out=out, err=err
    )
    assert (code, err.getvalue()) == (0, "")
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(objects) == len(names)
    twins = [
        (o["kind"], o["decision"]["row"]) for o in objects if o["name"] == "gatekeeper-k8stwin"
    ]
    assert twins == [
        ("ValidatingAdmissionPolicyBinding", "7b"),
        ("ValidatingAdmissionPolicy", "12"),
    ]
    would = {(o["kind"], o["name"]) for o in objects if o["decision"]["action"] == "delete"}
    assert would == {
        (line["object_kind"], line["object_name"]) for line in dry.events("would_delete")
    }
    reported = {o["name"] for o in objects if o["decision"]["action"] == "report"}
    assert reported == dry.names("reported")
    assert {r.method for r in server.requests} == {"GET"}


def _options(kubeconfig: str, **changes: Any) -> dict[str, Any]:
    """The options click would pass ``explain`` for ``--kubeconfig KUBECONFIG``."""
    options: dict[str, Any] = {
        "kubeconfig": kubeconfig,
        "context": None,
        "insecure_skip_tls_verify": False,
        "request_timeout": timedelta(seconds=5),
        "min_age": timedelta(minutes=5),
        "reasons": "default",
        "include_unowned": False,
        "exclude": (),
        "gatekeeper_vap_default": True,
        "gatekeeper_vapb_default": True,
        "timeout": timedelta(minutes=5),
        "output": "text",
    }
    return options | changes


def test_the_options_reach_the_planner(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    name = "gatekeeper-k8srequiredlabels-must-have-cost-center"
    result = invoke(
        "explain",
        "--kubeconfig",
        kubeconfig,
        "-o",
        "json",
        "--include-unowned",
        "--no-gatekeeper-vapb-default",
        "--exclude",
        "cost",
        name,
        "gatekeeper-k8srequiredlabels-must-have-owner",
    )
    assert result.exit_code == 0, result.stderr
    orphan, owned = (json.loads(line) for line in result.stdout.splitlines())
    assert orphan["exclusions"]["reason_selected"] is True
    assert orphan["exclusions"]["patterns"] == ["cost"]
    assert (orphan["decision"]["row"], orphan["decision"]["hold"]) == ("2", "excluded")
    assert owned["decision"]["row"] == "7" and owned["gatekeeper"]["create_vapb"] is False
    insecure = invoke("explain", "--kubeconfig", kubeconfig, "--insecure-skip-tls-verify", name)
    assert insecure.exit_code == 0
    assert insecure.stderr == (
        "sweeper: warning: TLS verification is off (--insecure-skip-tls-verify)\n"
    )
    env = invoke("explain", name, env={"SWEEPER_KUBECONFIG": kubeconfig, "SWEEPER_OUTPUT": "table"})
    assert env.exit_code == 0 and env.stdout.startswith("ValidatingAdmissionPolicyBinding ")


def test_an_object_undecided_by_a_failed_list_says_so_and_exits_4(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=CONSTRAINTS, status=503, times=None)
    out, err = io.StringIO(), io.StringIO()
    name = "gatekeeper-k8srequiredlabels-must-have-owner"
    code = explain_command(
        [name],
        decision_settings(_options(kubeconfig)),
        runtime=fake_runtime(FakeTime()),
        out=out,
        err=err,
    )
    assert code == 4
    found = "found: +unknown: the LIST of K8sRequiredLabels constraints is incomplete: .*503"
    assert re.search(found, out.getvalue())
    assert (
        "Decision: row 3, undecided (undecided): list of K8sRequiredLabels constraints incomplete"
        in out.getvalue()
    )
    lines = err.getvalue().splitlines()
    assert lines[0] == (
        f"sweeper: error: ValidatingAdmissionPolicyBinding {name} is undecided: "
        "list of K8sRequiredLabels constraints incomplete"
    )
    assert lines[1].startswith("sweeper: error: the cluster could not be fully read: ")
    assert {r.method for r in server.requests} == {"GET"}


def test_a_name_missing_from_a_failed_list_is_not_called_unknown(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(
        method="GET", path=r".*/validatingadmissionpolicybindings", status=503, times=None
    )
    settings = settings_for(kubeconfig, output="table")
    result = run_explain(
        ["gatekeeper-k8srequiredlabels-must-have-owner"], settings, runtime=fake_runtime(FakeTime())
    )
    assert result.exit_code == 4
    assert result.errors[0].startswith(
        "cannot tell whether gatekeeper-k8srequiredlabels-must-have-owner exists"
    )


@pytest.mark.parametrize(("status", "code"), [(403, 2), (401, 2), (500, 4)])
def test_cluster_read_errors_exit_as_a_sweep_does(
    server: FakeApiServer, kubeconfig: str, status: int, code: int
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=CONSTRAINTS, status=status, times=None)
    result = run_explain(
        ["gatekeeper-k8srequiredlabels"], settings_for(kubeconfig), runtime=fake_runtime(FakeTime())
    )
    assert result.exit_code == code
    assert result.explanations[0].decision.row == "12"  # the policy needs no constraint list
    assert any(str(status) in line for line in result.errors)


def test_unreachable_cluster_and_denied_discovery(server: FakeApiServer, kubeconfig: str) -> None:
    server.inject(
        method="GET", path=r"/apis/admissionregistration.k8s.io/v1", status=403, times=None
    )
    denied = run_explain(["x"], settings_for(kubeconfig), runtime=fake_runtime(FakeTime()))
    assert denied.exit_code == 2 and len(denied.errors) == 1 and "403" in denied.errors[0]
    server.stop()
    gone = run_explain(["x"], settings_for(kubeconfig), runtime=fake_runtime(FakeTime()))
    assert gone.exit_code == 4 and len(gone.errors) == 1 and gone.explanations == ()


def test_bad_input_is_one_line_and_exit_2(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    missing = invoke("explain", "--kubeconfig", str(tmp_path / "nope"), "x")
    assert missing.exit_code == 2 and missing.stderr.startswith("sweeper: error: ")
    assert len(missing.stderr.splitlines()) == 1
    bad = invoke("explain", "--kubeconfig", kubeconfig, "--reasons", "bogus", "x")
    assert bad.exit_code == 2 and "invalid --reasons" in bad.stderr
    assert invoke("explain").exit_code == 2  # a name is required


def test_a_cluster_without_the_vap_api_knows_no_name(tmp_path: Path) -> None:
    with FakeApiServer(vap_versions=(), clock=lambda: T0) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        result = run_explain(
            ["a", "a", "b"], settings_for(kubeconfig), runtime=fake_runtime(FakeTime())
        )
    assert result.exit_code == 2
    assert result.errors == (
        "no ValidatingAdmissionPolicy or binding named a (the cluster serves no "
        "ValidatingAdmissionPolicy API)",
        "no ValidatingAdmissionPolicy or binding named b (the cluster serves no "
        "ValidatingAdmissionPolicy API)",
    )


def test_describe_keeps_the_order_asked_and_drops_repeats() -> None:
    s: Scenario = SCENARIOS["1-constraint-deleted"]
    inventory: Inventory = snapshot(s.objects)
    the_plan = plan(inventory, RULES, now=NOW)
    names = [
        "gatekeeper-k8srequiredlabels-must-have-team",
        "gatekeeper-k8srequiredlabels",
        "gatekeeper-k8srequiredlabels-must-have-team",
    ]
    result = describe(
        names, inventory=inventory, plan=the_plan, settings=settings_for("k"), now=NOW
    )
    assert [e.name for e in result.explanations] == names[:2]
    assert (result.exit_code, result.errors) == (0, ())
