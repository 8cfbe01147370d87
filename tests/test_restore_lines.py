"""The pure half of `sweeper restore`: reading captured log lines, selecting, deciding."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sweeper.core.manifests import clean_manifest
from sweeper.core.restorable import creation_body, owner_checks, owner_drop_reason
from sweeper.core.restore_lines import (
    BadInput,
    BadLine,
    Deletion,
    Filters,
    deletion,
    make_filters,
    parse_line,
    resolve,
)

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
BINDING = "ValidatingAdmissionPolicyBinding"
POLICY = "ValidatingAdmissionPolicy"
OWNER_REF = {
    "apiVersion": "constraints.gatekeeper.sh/v1beta1",
    "kind": "K8sRequiredLabels",
    "name": "must-have-owner",
    "uid": "c-1",
    "controller": True,
    "blockOwnerDeletion": True,
}


TEMPLATE_REF = {
    "apiVersion": "templates.gatekeeper.sh/v1",
    "kind": "ConstraintTemplate",
    "name": "k8srequiredlabels",
    "uid": "t-1",
    "controller": True,
}
NAME = "gatekeeper-k8srequiredlabels-must-have-owner"  # the binding OWNER_REF's constraint gets


def manifest(kind: str = BINDING, name: str | None = None, **meta: Any) -> dict[str, Any]:
    """A Gatekeeper-shaped binding (or policy), owned unless ``ownerReferences`` says else."""
    policy = kind == POLICY
    meta.setdefault("ownerReferences", [TEMPLATE_REF if policy else OWNER_REF])
    if not meta["ownerReferences"]:
        del meta["ownerReferences"]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name or ("gatekeeper-k8srequiredlabels" if policy else NAME), **meta},
        "spec": {"policyName": "gatekeeper-k8srequiredlabels"},
    }


def deleted_line(obj: dict[str, Any], *, time: str = "2026-01-02T10:00:00.000Z", **extra: Any):
    return {
        "time": time,
        "level": "info",
        "msg": "deleted",
        "sweep_id": "0123456789ab",
        "schema_version": 1,
        "event": "deleted",
        "object_kind": obj["kind"],
        "object_name": obj["metadata"]["name"],
        "object_uid": "u-1",
        "cluster_uid": "cluster-1",
        "reason": "owner-deleted",
        "detail": "",
        "manifest": obj,
        **extra,
    }


# --- clean_manifest ---------------------------------------------------------------------------


def test_clean_manifest_drops_what_the_server_owns_and_keeps_the_rest() -> None:
    served = manifest(
        uid="u",
        resourceVersion="7",
        generation=2,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[{"manager": "gatekeeper"}],
        selfLink="/x",
        deletionTimestamp="2026-01-01T00:00:01Z",
        deletionGracePeriodSeconds=0,
        labels={"a": "b"},
        annotations={"c": "d"},
        ownerReferences=[OWNER_REF],
    )
    served["status"] = {"observedGeneration": 2}
    clean = clean_manifest(served)
    assert clean == {
        **manifest(labels={"a": "b"}, annotations={"c": "d"}, ownerReferences=[OWNER_REF])
    }
    assert served["metadata"]["uid"] == "u" and "status" in served  # the input is untouched
    clean["metadata"]["labels"]["a"] = "changed"
    assert served["metadata"]["labels"]["a"] == "b"  # a deep copy


def test_clean_manifest_never_raises_on_odd_objects() -> None:
    assert clean_manifest({"metadata": "not a dict", "status": 1}) == {"metadata": "not a dict"}
    assert clean_manifest({}) == {}


# --- every input form -------------------------------------------------------------------------

RAW = json.dumps(deleted_line(manifest()))
STAMP = "2026-01-02T10:00:00Z"
BLUE, RED, PLAIN = "\x1b[34m", "\x1b[31m", "\x1b[0m"
FORMS = {
    "kubectl logs": RAW,
    "kubectl logs --timestamps": f"2026-01-02T10:00:00.123456789Z {RAW}",
    "kubectl logs --prefix --timestamps": f"[pod/sweeper-2900-x/sweeper] {STAMP} {RAW}",
    "logcli --output=raw": RAW,
    "logcli --output=jsonl": json.dumps(
        {"labels": {"app": "sweeper"}, "line": RAW, "timestamp": "2026-01-02T11:00:00+01:00"}
    ),
    "logcli default": f'2026-01-02T10:00:00Z {{app="sweeper", namespace="gk"}}   {RAW}',
    "logcli default, local zone": f'2026-01-02T11:00:00+01:00 {{app="a\\"b"}} {RAW}',
    "logcli default, coloured": f'{BLUE}{STAMP}{PLAIN} {RED}{{a="s"}}{PLAIN} {RAW}',
    "logcli default --no-labels": f"2026-01-02T10:00:00Z {RAW}",
    "logcli default, empty label set": f"2026-01-02T10:00:00Z {{}} {RAW}",
    "windows line end": RAW + "\r\n",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_capture_form_reads_as_the_sweepers_line(form: str) -> None:
    assert parse_line(FORMS[form]) == json.loads(RAW)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "sweeper: error: cannot read kubeconfig x: no such file",
        "2026-01-02T10:00:00Z sweeper: error: some deletions failed",
    ],
)
def test_blank_lines_and_the_sweepers_own_stderr_are_skipped(text: str) -> None:
    assert parse_line(text) is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Traceback (most recent call last):", "not a JSON log line"),
        ("[1, 2]", "not a JSON object"),
        ('{"level": "info", "msg": "hello", "ts": 1}', "not a sweeper log line"),
        ('{"event": "deleted", "sweep_id": "x"}', "not a sweeper log line"),
        (json.dumps({**deleted_line(manifest()), "schema_version": 2}), "schema_version 2"),
        (json.dumps({"line": "not json", "labels": {}}), "not a JSON log line"),
        ('2026-01-02T10:00:00Z {app="x"} plain text', "not a JSON log line"),
    ],
)
def test_lines_that_are_not_the_sweepers_are_refused_with_one_reason(text: str, needle: str):
    with pytest.raises(BadLine, match=needle) as caught:
        parse_line(text)
    assert "\n" not in str(caught.value)


# --- deleted lines ----------------------------------------------------------------------------


def test_a_deleted_line_yields_its_object_and_time() -> None:
    item = deletion(deleted_line(manifest()), "f:1")
    assert (item.kind, item.name, item.api_version, item.origin) == (
        BINDING,
        NAME,
        "admissionregistration.k8s.io/v1",
        "f:1",
    )
    assert item.time == datetime(2026, 1, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda m: {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}, "refusing"),
        (lambda m: {**m, "kind": "ClusterRoleBinding"}, "refusing"),
        (lambda m: {**m, "apiVersion": "admissionregistration.k8s.io/v1alpha1"}, "refusing"),
        (lambda m: {**m, "apiVersion": "example.com/v1"}, "refusing"),
        (lambda m: {**m, "kind": ["list"]}, "refusing"),
        (lambda m: {**m, "metadata": {"name": "../../api/v1/secrets"}}, "metadata.name"),
        (lambda m: {**m, "metadata": {"name": "Upper"}}, "metadata.name"),
        (lambda m: {**m, "metadata": []}, "metadata.name"),
        (lambda m: {**m, "metadata": {"name": "gatekeeper-other"}}, "does not match"),
        (lambda m: "a string", "no manifest"),
        (lambda m: None, "no manifest"),
    ],
)
def test_a_manifest_that_is_not_a_vap_or_vapb_is_refused(change: Any, needle: str) -> None:
    line = deleted_line(manifest())
    line["manifest"] = change(manifest())
    with pytest.raises(BadLine, match=needle):
        deletion(line, "f:1")


def test_a_deleted_line_with_a_bad_time_is_refused() -> None:
    with pytest.raises(BadLine, match="no zone"):
        deletion(deleted_line(manifest(), time="2026-01-02T10:00:00"), "f:1")


def test_v1beta1_manifests_are_restorable() -> None:
    obj = {**manifest(POLICY), "apiVersion": "admissionregistration.k8s.io/v1beta1"}
    assert deletion(deleted_line(obj), "f:1").api_version.endswith("/v1beta1")


# --- filters ----------------------------------------------------------------------------------


def test_filters_select_deleted_lines_by_sweep_name_and_time() -> None:
    line = deleted_line(manifest(), time="2026-01-02T10:00:00.000Z")
    assert Filters().selects(line)
    assert not Filters().selects({**line, "event": "would_delete"})
    assert Filters(sweep_ids=frozenset({"0123456789ab"})).selects(line)
    assert not Filters(sweep_ids=frozenset({"other"})).selects(line)
    assert Filters(names=frozenset({NAME, "y"})).selects(line)
    assert Filters().selects({**line, "event": "deleting"})  # written before the DELETE
    assert Filters(reasons=frozenset({"owner-deleted"})).selects(line)
    assert not Filters(reasons=frozenset({"not-wanted"})).selects(line)
    assert not Filters(names=frozenset({"y"})).selects(line)
    assert not Filters(names=frozenset({"y"})).selects({**line, "object_name": ["unhashable"]})
    at = datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert Filters(since=at, until=at).selects(line)  # both bounds inclusive
    assert not Filters(since=at + timedelta(milliseconds=1)).selects(line)
    assert not Filters(until=at - timedelta(milliseconds=1)).selects(line)


def test_since_and_until_take_rfc3339_or_a_duration_back_from_now() -> None:
    filters = make_filters(since="2h", until="2026-01-02T11:30:00+01:00", now=NOW)
    assert filters.since == NOW - timedelta(hours=2)
    assert filters.until == datetime(2026, 1, 2, 10, 30, tzinfo=UTC)
    both = make_filters(sweep_ids=["a", "b"], names=["n"], now=NOW)
    assert (both.sweep_ids, both.names, both.since) == (frozenset("ab"), frozenset({"n"}), None)


@pytest.mark.parametrize(
    ("since", "until", "needle"),
    [
        ("yesterday", None, "invalid --since 'yesterday'"),
        (None, "2026-01-02T10:00:00", "invalid --until"),  # no zone: ambiguous
        ("1h", "2h", "--since is later than --until"),
    ],
)
def test_bad_time_filters_are_one_line_errors(since: Any, until: Any, needle: str) -> None:
    with pytest.raises(BadInput, match=needle):
        make_filters(since=since, until=until, now=NOW)


def item(kind: str, name: str, minute: int, origin: str, *, uid: str = "", **meta: Any) -> Deletion:
    return Deletion(
        kind,
        name,
        "admissionregistration.k8s.io/v1",
        NOW.replace(minute=minute),
        "s",
        origin,
        manifest(kind, name, **meta),
        uid=uid or f"{kind}/{name}/{minute}",
        cluster_uid="cluster-1",
    )


def test_the_latest_deletion_of_a_name_wins_and_policies_come_first() -> None:
    chosen, errors = resolve(
        [
            item(BINDING, "b", 5, "f:1"),
            item(BINDING, "b", 9, "f:2"),
            item(BINDING, "b", 1, "f:3"),
            item(POLICY, "z", 0, "f:4"),
            item(BINDING, "a", 0, "f:5", uid="same"),
            item(BINDING, "a", 0, "f:6", uid="same"),  # one object twice (deleting, deleted)
        ],
        now=NOW + timedelta(hours=1),
    )
    assert errors == []
    assert [(d.kind, d.name, d.origin) for d in chosen] == [
        (POLICY, "z", "f:4"),
        (BINDING, "a", "f:5"),
        (BINDING, "b", "f:2"),
    ]


def test_two_manifests_of_one_object_are_refused_not_guessed() -> None:
    chosen, errors = resolve(
        [
            item(BINDING, "a", 1, "f:1", uid="u"),
            item(BINDING, "a", 2, "f:2", uid="u", labels={"forged": "yes"}),
            item(BINDING, "c", 1, "f:3"),
        ],
        now=NOW,
    )
    assert [d.name for d in chosen] == ["c"]
    assert len(errors) == 1 and "different manifests in f:1, f:2" in errors[0]


def test_a_line_dated_in_the_future_is_refused_so_it_cannot_win() -> None:
    forged = replace(item(BINDING, "a", 0, "f:9", uid="x"), time=NOW.replace(year=2099))
    chosen, errors = resolve([item(BINDING, "a", 0, "f:1"), forged], now=NOW)
    assert [d.origin for d in chosen] == ["f:1"]
    assert errors == ["f:9: dated 2099-01-02T12:00:00+00:00, in the future"]


# --- owner references -------------------------------------------------------------------------


def test_owner_checks_read_gatekeeper_owners_and_drop_any_other() -> None:
    template_ref = {
        "apiVersion": "templates.gatekeeper.sh/v1beta1",
        "kind": "ConstraintTemplate",
        "name": "k8srequiredlabels",
        "uid": "t-1",
    }
    deployment_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "d-1"}
    bad_ref = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "K8s",
        "name": "../secrets",
        "uid": "x",
    }
    obj = manifest(ownerReferences=[OWNER_REF, template_ref, deployment_ref, bad_ref, "junk"])
    checks = owner_checks(obj)
    assert [(c.index, c.label, c.path, c.drop_reason) for c in checks] == [
        (
            0,
            "K8sRequiredLabels/must-have-owner",
            "/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels/must-have-owner",
            None,
        ),
        (
            1,
            "ConstraintTemplate/k8srequiredlabels",
            "/apis/templates.gatekeeper.sh/v1/constrainttemplates/k8srequiredlabels",
            None,
        ),
        (2, "Deployment/d", None, "not a Gatekeeper owner, so it cannot be verified"),
        (3, "K8s/../secrets", None, "malformed ownerReference"),
        (4, "None/None", None, "malformed ownerReference"),
    ]
    assert owner_checks(manifest(ownerReferences=[])) == []


def test_an_owner_is_kept_only_when_it_exists_with_the_same_uid() -> None:
    (check,) = owner_checks(manifest(ownerReferences=[OWNER_REF]))
    assert owner_drop_reason(check, {"metadata": {"uid": "c-1"}}) is None
    assert owner_drop_reason(check, None) == "owner not found"
    assert owner_drop_reason(check, {"metadata": {"uid": "c-2"}}) == (
        "owner re-created with another uid (c-2)"
    )
    assert owner_drop_reason(check, {"metadata": None}) is not None


def test_the_creation_body_is_clean_and_lacks_only_the_dropped_references() -> None:
    other = {**OWNER_REF, "name": "other", "uid": "c-2"}
    obj = manifest(uid="u", resourceVersion="1", ownerReferences=[OWNER_REF, other])
    stamp = {"restored_at": "2026-01-02T12:00:00.000Z", "restore_id": "r1"}
    marks = {
        "sweeper.gatekeeper.sh/restored-at": "2026-01-02T12:00:00.000Z",
        "sweeper.gatekeeper.sh/restore-id": "r1",
    }
    assert creation_body(obj, drop=[0], **stamp)["metadata"] == {
        "name": NAME,
        "annotations": marks,
        "ownerReferences": [other],
    }
    assert creation_body(obj, drop=[0, 1], **stamp)["metadata"] == {
        "name": NAME,
        "annotations": marks,
    }
    assert creation_body(obj, drop=[], **stamp)["metadata"]["ownerReferences"] == [
        OWNER_REF,
        other,
    ]
    assert obj["metadata"]["ownerReferences"] == [OWNER_REF, other]  # input untouched


def test_the_pure_module_loads_nothing_that_does_io() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sweeper.core.restore_lines; "
        "print(sorted(m for m in ('sweeper.cluster.kube', 'urllib3', 'tenacity', 'kubernetes') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docs_describe_every_field_of_the_restore_lines() -> None:
    from pathlib import Path

    from restore_helpers import COMMON, OPTIONAL, PER_OBJECT, SUMMARY

    doc = Path(__file__).resolve().parents[1].joinpath("docs", "logging.md").read_text()
    section = doc.split("## sweeper restore output", 1)[1]
    for name in [*COMMON, *PER_OBJECT, *OPTIONAL, *SUMMARY]:
        assert f"`{name}`" in section, name
