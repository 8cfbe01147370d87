"""`sweeper restore` over HTTP against the fake API server: deleted lines in, objects back."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import NOW, sweep

from sweeper.cli import cli
from sweeper.kube import RetryPolicy
from sweeper.restore import RestoreRequest, connect, run_restore
from sweeper.restore_lines import Filters, clean_manifest
from sweeper.settings import ClusterAccess
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster

BINDING = "ValidatingAdmissionPolicyBinding"
POLICY = "ValidatingAdmissionPolicy"
V1 = "admissionregistration.k8s.io/v1"
RESTORE_TIME = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# The restore's lines: every field and its type (for docs/logging.md).
COMMON = {
    "time": str,
    "level": str,
    "msg": str,
    "restore_id": str,
    "schema_version": int,
    "event": str,
}
PER_OBJECT = {
    "object_kind": str,
    "object_name": str,
    "dry_run": bool,
    "owner_references_dropped": list,
    "source_sweep_id": str,
    "deleted_at": str,
}
OPTIONAL = {"object_uid": str, "error": str}
SUMMARY = {
    "exit_code": int,
    "dry_run": bool,
    "selected": int,
    "restored": int,
    "exists": int,
    "failed": int,
    "owner_references_dropped_count": int,
    "not_attempted": int,
    "duration_ms": int,
}


def check_line(line: dict[str, Any]) -> None:
    """A restore line has exactly the documented fields, with their types."""
    required = {**COMMON, **(SUMMARY if line["event"] == "restore_summary" else PER_OBJECT)}
    optional = {"error": str} if line["event"] == "restore_summary" else OPTIONAL
    assert line["event"] in {"restored", "exists", "restore_failed", "restore_summary"}
    assert required.keys() <= line.keys() <= required.keys() | optional.keys(), line
    for key, value in line.items():
        assert isinstance(value, {**required, **optional}[key]), (key, value)
    assert _TIME.fullmatch(line["time"]) and line["schema_version"] == 1
    assert line["level"] in {"info", "warning", "error"}
    assert all(isinstance(item, str) for item in line.get("owner_references_dropped", []))


@dataclass
class RestoreRun:
    code: int
    lines: list[dict[str, Any]]
    stderr: str
    sleeps: list[float]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == event]

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {line["object_name"]: line for line in self.lines if "object_name" in line}

    @property
    def summary(self) -> dict[str, Any]:
        assert [line["event"] for line in self.lines].count("restore_summary") == 1
        assert self.lines[-1]["event"] == "restore_summary"
        return self.lines[-1]


def restore(
    kubeconfig: str,
    *paths: str,
    filters: Filters | None = None,
    dry_run: bool = False,
    stdin: str = "",
) -> RestoreRun:
    """Run a restore in-process; retries wait on a fake clock."""
    out, err, sleeps = io.StringIO(), io.StringIO(), []
    access = ClusterAccess(kubeconfig=kubeconfig, request_timeout=5.0)
    code = run_restore(
        RestoreRequest(paths, filters or Filters(), dry_run=dry_run),
        connect=lambda: connect(access, environ={}, retry=RetryPolicy(sleep=sleeps.append)),
        out=out,
        err=err,
        stdin=io.StringIO(stdin),
        now=lambda: RESTORE_TIME,
    )
    lines = [json.loads(text) for text in out.getvalue().splitlines()]
    for line in lines:
        check_line(line)
    return RestoreRun(code, lines, err.getvalue(), sleeps)


def deleted_line(
    obj: dict[str, Any], *, sweep_id: str = "aaaaaaaaaaaa", time: str = "2026-01-01T01:00:00.000Z"
) -> str:
    """A `deleted` line as the sweep writes it, with the manifest the API server returned."""
    return json.dumps(
        {
            "time": time,
            "level": "info",
            "msg": "deleted",
            "sweep_id": sweep_id,
            "schema_version": 1,
            "event": "deleted",
            "object_kind": obj["kind"],
            "object_name": obj["metadata"]["name"],
            "object_uid": obj["metadata"]["uid"],
            "reason": "owner-deleted",
            "detail": "",
            "manifest": clean_manifest(obj),
        }
    )


def write(tmp_path: Path, *lines: str, name: str = "sweep.log") -> str:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def gatekeeper(server: FakeApiServer, constraint_name: str = "must-have-owner"):
    """A live template and constraint with their policy and binding; returns all four."""
    server.create(make.template_crd())
    template = server.create(make.template("K8sRequiredLabels"))
    server.create(make.constraint_crd(template))
    constraint = server.create(make.constraint("K8sRequiredLabels", constraint_name))
    policy = server.create(make.policy(template))
    binding = server.create(make.binding(constraint))
    return template, constraint, policy, binding


def delete(server: FakeApiServer, *objs: dict[str, Any]) -> None:
    for obj in objs:
        server.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def stored(server: FakeApiServer, obj: dict[str, Any]) -> dict[str, Any] | None:
    return server.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def posts(server: FakeApiServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST"]


# --- the round trip ---------------------------------------------------------------------------


def test_restore_recreates_policy_then_binding_as_they_were(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding), deleted_line(policy))
    delete(server, binding, policy)
    server.clear_requests()

    run = restore(kubeconfig, log)

    assert run.code == 0 and run.stderr == ""
    for original in (policy, binding):
        back = stored(server, original)
        assert back is not None and clean_manifest(back) == clean_manifest(original)
        assert back["metadata"]["uid"] != original["metadata"]["uid"]  # a new object
        assert run.by_name()[original["metadata"]["name"]]["object_uid"] == back["metadata"]["uid"]
    assert [line["event"] for line in run.lines] == ["restored", "restored", "restore_summary"]
    assert [r.resource for r in posts(server)] == [  # a binding is inert without its policy
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    ]
    assert all(r.query == {} for r in posts(server))
    gets = [r.path for r in server.requests if r.method == "GET" and r.name]
    assert "/apis/templates.gatekeeper.sh/v1/constrainttemplates/k8srequiredlabels" in gets
    assert "/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels/must-have-owner" in gets
    assert run.summary | {"duration_ms": 0} == {
        **run.summary,
        "exit_code": 0,
        "dry_run": False,
        "selected": 2,
        "restored": 2,
        "exists": 0,
        "failed": 0,
        "owner_references_dropped_count": 0,
        "not_attempted": 0,
        "duration_ms": 0,
    }
    assert run.lines[0]["source_sweep_id"] == "aaaaaaaaaaaa"
    assert run.lines[0]["deleted_at"] == "2026-01-01T01:00:00Z"


def test_a_second_restore_reports_exists_and_overwrites_nothing(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    assert restore(kubeconfig, log).code == 0
    changed = stored(server, binding)
    assert changed is not None
    changed["spec"]["validationActions"] = ["Warn"]  # someone changed it since
    server.replace(changed)
    before = [stored(server, policy), stored(server, binding)]

    again = restore(kubeconfig, log)

    assert again.code == 0
    assert [line["event"] for line in again.lines] == ["exists", "exists", "restore_summary"]
    assert again.summary["exists"] == 2 and again.summary["restored"] == 0
    assert [stored(server, policy), stored(server, binding)] == before  # untouched


def test_dry_run_sends_dry_run_all_and_creates_nothing(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    server.clear_requests()

    run = restore(kubeconfig, log, dry_run=True)

    assert run.code == 0
    assert stored(server, policy) is None and stored(server, binding) is None
    assert [r.query for r in posts(server)] == [{"dryRun": "All"}] * 2
    assert [(line["event"], line["dry_run"]) for line in run.lines[:2]] == [("restored", True)] * 2
    assert run.summary["dry_run"] is True


# --- owner references -------------------------------------------------------------------------


def test_an_owner_that_is_gone_loses_its_reference_and_the_line_says_so(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, constraint, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding, constraint)

    run = restore(kubeconfig, log)

    assert run.code == 0
    back = stored(server, binding)
    assert back is not None and "ownerReferences" not in back["metadata"]
    (line,) = run.events("restored")
    assert line["owner_references_dropped"] == [
        "K8sRequiredLabels/must-have-owner: owner not found"
    ]
    assert line["level"] == "warning"
    assert run.summary["owner_references_dropped_count"] == 1
    expected = clean_manifest(binding)
    del expected["metadata"]["ownerReferences"]
    assert clean_manifest(back) == expected  # nothing else differs


def test_an_owner_recreated_with_another_uid_loses_its_reference(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, constraint, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding, constraint)
    fresh = server.create(make.constraint("K8sRequiredLabels", "must-have-owner"))

    run = restore(kubeconfig, log)

    back = stored(server, binding)
    assert back is not None and "ownerReferences" not in back["metadata"]
    (dropped,) = run.events("restored")[0]["owner_references_dropped"]
    assert dropped == (
        f"K8sRequiredLabels/must-have-owner: owner re-created with another uid "
        f"({fresh['metadata']['uid']})"
    )


def test_an_owner_whose_kind_is_no_longer_served_loses_its_reference(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    template, constraint, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding, constraint, make.constraint_crd(template))

    run = restore(kubeconfig, log)

    assert run.code == 0
    assert run.events("restored")[0]["owner_references_dropped"] == [
        "K8sRequiredLabels/must-have-owner: owner kind not served"
    ]
    assert "ownerReferences" not in stored(server, binding)["metadata"]  # type: ignore[index]


def test_an_owner_that_cannot_be_read_is_dropped_with_the_error(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, _, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding)
    server.inject(method="GET", path="/must-have-owner$", status=503, times=None)

    run = restore(kubeconfig, log)

    (dropped,) = run.events("restored")[0]["owner_references_dropped"]
    assert dropped.startswith("K8sRequiredLabels/must-have-owner: owner could not be read (")
    assert "HTTP 503" in dropped
    assert run.sleeps  # retried first, on the fake clock


def test_a_reference_to_a_non_gatekeeper_owner_is_dropped_without_a_request(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, _, binding = gatekeeper(server)
    binding["metadata"]["ownerReferences"].append(
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x", "uid": "d-1"}
    )
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding)
    server.clear_requests()

    run = restore(kubeconfig, log)

    assert run.events("restored")[0]["owner_references_dropped"] == [
        "Deployment/x: not a Gatekeeper owner, so it cannot be verified"
    ]
    back = stored(server, binding)
    assert back is not None
    assert [ref["kind"] for ref in back["metadata"]["ownerReferences"]] == ["K8sRequiredLabels"]
    assert not [r for r in server.requests if r.path.startswith("/apis/apps")]


# --- failures -----------------------------------------------------------------------------------


def test_a_refused_create_is_restore_failed_and_exit_1_while_the_rest_is_restored(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    server.inject(method="POST", path="validatingadmissionpolicybindings$", status=403)

    run = restore(kubeconfig, log)

    assert run.code == 1
    assert stored(server, policy) is not None and stored(server, binding) is None
    (failed,) = run.events("restore_failed")
    assert failed["object_name"] == binding["metadata"]["name"] and failed["level"] == "error"
    assert "HTTP 403" in failed["error"] and "operator's credentials" in failed["error"]
    assert run.summary["failed"] == 1 and run.summary["restored"] == 1
    assert run.summary["exit_code"] == 1 and run.summary["level"] == "error"


def test_lines_that_are_not_the_sweepers_exit_2_with_one_error_each_and_nothing_sent(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "uid": "s"}}
    log = write(
        tmp_path,
        deleted_line(policy),
        "I0101 00:00:00 some other program",
        '{"level": "info", "msg": "another app"}',
        deleted_line(secret),
        "",
        "sweeper: error: some deletions failed; see the delete_failed lines",
    )
    delete(server, policy, binding)
    server.clear_requests()

    run = restore(kubeconfig, log)

    assert run.code == 2
    assert run.stderr.splitlines() == [
        f"sweeper: error: {log}:2: not a JSON log line",
        f"sweeper: error: {log}:3: not a sweeper log line "
        "(needs schema_version, sweep_id and event)",
        f"sweeper: error: {log}:4: refusing to create v1 Secret: only ValidatingAdmissionPolicy "
        "and ValidatingAdmissionPolicyBinding of admissionregistration.k8s.io/v1 or v1beta1",
        "sweeper: error: 3 input lines refused; nothing restored",
    ]
    assert server.requests == []  # not even a connection
    assert run.summary["exit_code"] == 2 and run.summary["selected"] == 0


def test_a_flood_of_bad_lines_is_cut_short_on_stderr(kubeconfig: str, tmp_path: Path) -> None:
    log = write(tmp_path, *(["not json"] * 50))
    run = restore(kubeconfig, log)
    assert run.code == 2
    assert len(run.stderr.splitlines()) == 22
    assert "... and 30 more lines like these" in run.stderr


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unreadable_file_is_one_line_naming_it(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path, kind: str
) -> None:
    good = write(tmp_path, deleted_line(gatekeeper(server)[3]))
    bad = str(tmp_path / "nope.log") if kind == "missing" else str(tmp_path)
    server.clear_requests()
    run = restore(kubeconfig, good, bad)
    assert run.code == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"sweeper: error: cannot read {bad}: ")
    assert server.requests == []


def test_no_matching_deleted_lines_exit_2(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    started = json.dumps(
        {
            "time": "2026-01-01T01:00:00.000Z",
            "level": "info",
            "msg": "x",
            "sweep_id": "a",
            "schema_version": 1,
            "event": "sweep_started",
        }
    )
    log = write(tmp_path, started, deleted_line(binding))
    run = restore(kubeconfig, log, filters=Filters(names=frozenset({"other"})))
    assert run.code == 2
    assert run.stderr == (
        "sweeper: error: no deleted lines matched (2 sweeper lines read, "
        "1 of them deleted lines before the filters)\n"
    )
    assert restore(kubeconfig, write(tmp_path, started, name="empty.log")).code == 2


# --- selection --------------------------------------------------------------------------------


def test_filters_choose_what_is_restored(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, first = gatekeeper(server)
    second = server.create(
        make.binding(server.create(make.constraint("K8sRequiredLabels", "must-have-app")))
    )
    log = write(
        tmp_path,
        deleted_line(policy, sweep_id="111111111111", time="2026-01-01T00:30:00.000Z"),
        deleted_line(first, sweep_id="222222222222", time="2026-01-01T01:00:00.000Z"),
        deleted_line(second, sweep_id="222222222222", time="2026-01-01T01:30:00.000Z"),
    )
    delete(server, policy, first, second)

    by_sweep = restore(kubeconfig, log, filters=Filters(sweep_ids=frozenset({"222222222222"})))
    assert set(by_sweep.by_name()) == {first["metadata"]["name"], second["metadata"]["name"]}
    by_name = restore(
        kubeconfig, log, filters=Filters(names=frozenset({"gatekeeper-k8srequiredlabels"}))
    )
    assert list(by_name.by_name()) == ["gatekeeper-k8srequiredlabels"]
    assert by_name.events("restored")  # the policy was not restored by the first run
    delete(server, policy, first, second)
    until = restore(kubeconfig, log, filters=Filters(until=datetime(2026, 1, 1, 1, 0, tzinfo=UTC)))
    assert set(until.by_name()) == {policy["metadata"]["name"], first["metadata"]["name"]}


def test_the_latest_manifest_of_an_object_deleted_twice_is_restored(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    older = json.loads(json.dumps(binding))
    older["spec"]["validationActions"] = ["Warn"]
    log = write(
        tmp_path,
        deleted_line(binding, time="2026-01-01T01:00:00.000Z"),
        deleted_line(older, time="2026-01-01T00:00:00.000Z"),
    )
    delete(server, binding)
    run = restore(kubeconfig, log)
    assert run.summary["selected"] == 1
    assert stored(server, binding)["spec"]["validationActions"] == ["Deny"]  # type: ignore[index]


def test_a_logcli_jsonl_export_on_stdin_restores(server: FakeApiServer, kubeconfig: str) -> None:
    binding = gatekeeper(server)[3]
    export = json.dumps(
        {
            "labels": {"app": "gatekeeper-sweeper"},
            "line": deleted_line(binding),
            "timestamp": "2026-01-01T01:00:00.123Z",
        }
    )
    delete(server, binding)
    run = restore(kubeconfig, "-", stdin=export + "\n")
    assert run.code == 0 and stored(server, binding) is not None


def test_a_409_that_is_not_already_exists_is_a_failure_not_exists(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    binding = gatekeeper(server)[3]
    log = write(tmp_path, deleted_line(binding))
    delete(server, binding)
    server.inject(method="POST", path="validatingadmissionpolicybindings$", status=409)
    run = restore(kubeconfig, log)
    assert run.code == 1
    assert "HTTP 409" in run.events("restore_failed")[0]["error"]


# --- with a real sweep --------------------------------------------------------------------------


def with_manifests(lines: list[dict[str, Any]], before: dict[str, dict[str, Any]]) -> list[str]:
    """The sweep's lines, each `deleted` one carrying its manifest.

    Stands in for the sweep's own `manifest` field until it writes one: a line that already
    carries it is left as it is.
    """
    out = []
    for line in lines:
        if line["event"] == "deleted" and "manifest" not in line:
            line = {**line, "manifest": clean_manifest(before[line["object_name"]])}
        out.append(json.dumps(line))
    return out


def test_a_sweep_of_the_sample_cluster_restores_and_the_next_sweep_agrees_with_the_table(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    seed_sample_cluster(server, now=NOW)
    before = {o["metadata"]["name"]: o for kind in (POLICY, BINDING) for o in server.objects(kind)}
    swept = sweep(kubeconfig)
    deleted = {line["object_name"]: line["reason"] for line in swept.events("deleted")}
    assert set(deleted.values()) == {
        "owner-deleted",
        "owner-kind-gone",
        "not-wanted",
        "legacy-duplicate",
    }
    log = write(tmp_path, *with_manifests(swept.lines, before))

    run = restore(kubeconfig, log)

    assert run.code == 0 and set(run.by_name()) == set(deleted)
    assert {line["event"] for line in run.lines[:-1]} == {"restored"}
    dropped = {n for n, line in run.by_name().items() if line["owner_references_dropped"]}
    # Exactly the objects whose owners are gone lose their references.
    assert dropped == {n for n, reason in deleted.items() if reason.startswith("owner-")}
    for name in deleted:
        original = before[name]
        back = stored(server, original)
        assert back is not None
        expected = clean_manifest(original)
        if name in dropped:
            del expected["metadata"]["ownerReferences"]
        assert clean_manifest(back) == expected

    # The decision table on what came back: objects whose owners live are judged as before;
    # the ones restored without an owner are unowned leftovers, only reported by default.
    again = sweep(kubeconfig, dry_run=True)
    verdicts = {
        line["object_name"]: (line["event"], line["reason"])
        for line in again.lines
        if line.get("object_name") in deleted
    }
    assert verdicts == {
        name: ("reported", "orphaned-unowned") if name in dropped else ("would_delete", reason)
        for name, reason in deleted.items()
    }
    assert all(stored(server, before[name]) is not None for name in deleted)  # a dry run


# --- the command line -------------------------------------------------------------------------


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["restore", *args], input=stdin, env={}, catch_exceptions=False)


def test_cli_restores_from_a_file_and_from_stdin(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy))
    delete(server, policy, binding)
    result = invoke(
        log,
        "-",
        "--kubeconfig",
        kubeconfig,
        "--since",
        "2026-01-01T00:00:00Z",
        stdin=deleted_line(binding) + "\n",
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(text) for text in result.stdout.splitlines()]
    for line in lines:
        check_line(line)
    assert [line["event"] for line in lines] == ["restored", "restored", "restore_summary"]
    assert stored(server, policy) is not None and stored(server, binding) is not None
    assert result.stderr == ""


def test_cli_dry_run_and_name_filter_from_the_environment(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    result = CliRunner().invoke(
        cli,
        ["restore", log],
        catch_exceptions=False,
        env={
            "SWEEPER_KUBECONFIG": kubeconfig,
            "SWEEPER_DRY_RUN": "true",
            "SWEEPER_NAME": binding["metadata"]["name"],
        },
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(text) for text in result.stdout.splitlines()]
    assert [(line["object_name"], line["dry_run"]) for line in lines[:-1]] == [
        (binding["metadata"]["name"], True)
    ]
    assert stored(server, binding) is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "last tuesday"], "sweeper: error: invalid --since 'last tuesday'"),
        (["--request-timeout", "0"], "sweeper: error: --request-timeout must be greater than 0"),
        (["--kubeconfig", "/nonexistent/kubeconfig"], "sweeper: error: cannot read kubeconfig"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    server: FakeApiServer, tmp_path: Path, args: list[str], needle: str
) -> None:
    log = write(tmp_path, deleted_line(gatekeeper(server)[3]))
    result = invoke(log, *args)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(needle), line


def test_cli_needs_a_file() -> None:
    result = invoke()
    assert result.exit_code == 2 and "Missing argument" in result.stderr


def test_a_stop_signal_ends_the_restore_and_counts_what_was_not_attempted(
    server: FakeApiServer, kubeconfig: str, tmp_path: Path
) -> None:
    import threading

    from sweeper.kube import KubeClient
    from sweeper.kubeconfig import load_configuration

    _, _, policy, binding = gatekeeper(server)
    log = write(tmp_path, deleted_line(policy), deleted_line(binding))
    delete(server, policy, binding)
    access = ClusterAccess(kubeconfig=kubeconfig)
    stop = threading.Event()
    stop.set()  # as SIGTERM would

    def stopped_client() -> KubeClient:
        from kubernetes.client import ApiClient

        api = ApiClient(load_configuration(access, {}))
        return KubeClient(api, access=access, stop=stop)

    out, err = io.StringIO(), io.StringIO()
    request = RestoreRequest((log,), Filters())
    code = run_restore(
        request,
        connect=stopped_client,
        out=out,
        err=err,
        stdin=io.StringIO(),
        now=lambda: RESTORE_TIME,
    )
    assert code == 1
    (summary,) = [json.loads(text) for text in out.getvalue().splitlines()]
    check_line(summary)
    assert summary["not_attempted"] == 2 and summary["restored"] == 0
    assert err.getvalue().startswith("sweeper: error: stopped by a signal")
    assert stored(server, policy) is None
