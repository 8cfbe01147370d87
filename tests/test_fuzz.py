"""Fuzzing gather's parsing and the planner with malformed objects: never raise, never delete.

Objects from the API server can be anything: wrong types, missing metadata, huge strings,
unicode. Parsing and planning must survive all of it, and an object whose proof of origin
or identity is broken must never be deleted.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweeper.core import gatekeeper as gk
from sweeper.core import observe
from sweeper.core.plan import plan
from sweeper.core.reasons import DELETE_REASONS, Action
from sweeper.core.records import (
    BINDING_KIND,
    POLICY_KIND,
    admission_object,
    parse_timestamp,
    served_version,
)
from sweeper.core.settings import Rules
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
RULES = Rules(min_age=timedelta(0), reasons=DELETE_REASONS)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.text(min_size=300, max_size=2000)
    | st.sampled_from(
        [
            "",
            "true",
            "Allow",
            "gatekeeper-",
            "constraints.gatekeeper.sh/v1",
            "\u0000",
            "\ud7ff\ue000",
            "2026-01-01T00:00:00Z",
        ]
    )
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def base_cluster() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A cluster with one dangling binding (owner deleted) and one wanted binding."""
    template = stamp(make.template("K8sRequiredLabels"))
    live = stamp(make.constraint("K8sRequiredLabels", "live"))
    gone = make.constraint("K8sRequiredLabels", "gone", uid="gone-uid")
    dangling = stamp(make.binding(gone))
    objects = [
        make.template_crd(),
        template,
        make.constraint_crd(template),
        stamp(make.policy(template)),
        live,
        stamp(make.binding(live)),
        dangling,
    ]
    return objects, dangling


IDENTITY_PATHS = [
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "uid"),
    ("metadata", "resourceVersion"),
    ("metadata", "creationTimestamp"),
    ("metadata", "ownerReferences"),
    ("metadata", "ownerReferences", 0),
    ("metadata", "ownerReferences", 0, "apiVersion"),
    ("metadata", "ownerReferences", 0, "kind"),
    ("metadata", "ownerReferences", 0, "controller"),
]


def put(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@FUZZ
@given(kind=st.sampled_from([BINDING_KIND, POLICY_KIND]), obj=junk)
def test_parsing_any_value_never_raises(kind: str, obj: Any) -> None:
    value = obj if isinstance(obj, dict) else {"metadata": obj, "spec": obj}
    record = admission_object(kind, value)
    assert isinstance(record.name, str)
    gk.parse_template(value)
    gk.parse_constraint(value)


@FUZZ
@given(path=st.sampled_from(IDENTITY_PATHS), value=junk)
def test_broken_identity_or_proof_of_origin_is_never_deleted(path: tuple, value: Any) -> None:
    objects, dangling = base_cluster()
    original = copy.deepcopy(dangling)
    put(dangling, path, value)
    # Default reasons: an object stripped of its owner is deleted only when opted in.
    result = plan(snapshot(objects), Rules(min_age=timedelta(0)), now=NOW)
    deleted = {v.obj.name for v in result.deletions}
    still_well_formed = dangling == original or (
        isinstance(dangling.get("metadata"), dict)
        and admission_object(BINDING_KIND, dangling).problem is None
        and gk.controller_owner(dangling) is not None
        and gk.controller_owner(dangling).group == gk.CONSTRAINTS_GROUP
    )
    if not still_well_formed:
        assert deleted == set(), (path, value)
    assert "gatekeeper-k8srequiredlabels-live" not in deleted


@FUZZ
@given(
    kind=st.sampled_from(["constraint", "template"]),
    field=st.sampled_from(
        ["spec", "enforcementAction", "scopedEnforcementActions", "targets", "crd"]
    ),
    value=junk,
)
def test_a_malformed_owner_never_loses_its_binding(kind: str, field: str, value: Any) -> None:
    objects, _ = base_cluster()
    owner = objects[4] if kind == "constraint" else objects[1]
    if field == "spec":
        owner["spec"] = value
    elif isinstance(owner.get("spec"), dict):
        owner["spec"][field] = value
    result = plan(snapshot(objects), RULES, now=NOW)
    live = next(v for v in result.verdicts if v.obj.name == "gatekeeper-k8srequiredlabels-live")
    facts_ok = (
        gk.parse_constraint(owner).problem is None
        if kind == "constraint"
        else gk.parse_template(owner).problem is None
    )
    if not facts_ok:
        assert live.action is not Action.DELETE


@FUZZ
@given(
    items=st.lists(
        st.dictionaries(
            st.sampled_from(["kind", "metadata", "spec", "apiVersion"]), junk, max_size=4
        ),
        max_size=6,
    )
)
def test_junk_objects_of_every_kind_never_raise_or_get_deleted(items: list[dict]) -> None:
    objects, _ = base_cluster()
    kinds = [
        BINDING_KIND,
        POLICY_KIND,
        gk.TEMPLATE_KIND,
        "K8sRequiredLabels",
        "CustomResourceDefinition",
    ]
    for index, item in enumerate(items):
        item["kind"] = kinds[index % len(kinds)]
        objects.append(item)
    result = plan(snapshot(objects), RULES, now=NOW)
    assert {v.obj.name for v in result.deletions} <= {"gatekeeper-k8srequiredlabels-gone"}


def test_timestamps_at_the_edges_never_crash_a_log_line_or_the_table() -> None:
    from sweeper.core.records import parse_timestamp
    from sweeper.output.report import rfc3339
    from sweeper.output.table import age

    assert parse_timestamp("0001-01-01T00:00:00+01:00") is None  # not representable in UTC
    early = parse_timestamp("0001-01-01T00:00:00Z")
    assert early is not None and rfc3339(early) == "0001-01-01T00:00:00Z"
    assert rfc3339(parse_timestamp("2026-01-01T02:00:00+02:00")) == "2026-01-01T00:00:00Z"
    assert age("0001-01-01T00:00:00Z", NOW).endswith("d")
    assert age("yesterday", NOW) == age(None, NOW) == "-"


CRD_PATHS = [
    ("spec",),
    ("spec", "group"),
    ("spec", "names"),
    ("spec", "names", "kind"),
    ("spec", "names", "plural"),
    ("spec", "versions"),
    ("spec", "versions", 0),
    ("spec", "versions", 0, "name"),
    ("spec", "versions", 0, "served"),
    ("metadata", "labels"),
]


@FUZZ
@given(path=st.sampled_from(CRD_PATHS), value=junk)
def test_a_malformed_constraint_crd_never_raises_or_deletes(path: tuple, value: Any) -> None:
    """A wrongly typed CRD field (e.g. a dict for spec.versions[].name) makes its kind
    undecided, never an internal error, and never a deletion of a live owner's binding."""
    objects, _ = base_cluster()
    put(objects[2], path, value)
    assert isinstance(served_version(objects[2], preferred=("v1beta1", "v1")), str | None)
    result = plan(snapshot(objects), RULES, now=NOW)
    if not isinstance(value, str | bool):  # a well-typed value may really rename the kind
        assert "gatekeeper-k8srequiredlabels-live" not in {v.obj.name for v in result.deletions}


@FUZZ
@given(kind=st.sampled_from(["constraint", "template"]), value=junk)
def test_a_junk_deletion_timestamp_never_deletes_a_live_owners_objects(
    kind: str, value: Any
) -> None:
    objects, _ = base_cluster()
    owner = objects[4] if kind == "constraint" else objects[1]
    owner["metadata"]["deletionTimestamp"] = value
    result = plan(snapshot(objects), RULES, now=NOW)
    deleted = {v.obj.name for v in result.deletions}
    proper = isinstance(value, str) and parse_timestamp(value) is not None
    if value is None or not proper:
        assert not deleted & {"gatekeeper-k8srequiredlabels-live", "gatekeeper-k8srequiredlabels"}


DEPLOYMENT_PATHS = [
    (),
    ("metadata",),
    ("metadata", "labels"),
    ("metadata", "name"),
    ("spec",),
    ("spec", "replicas"),
    ("spec", "template"),
    ("spec", "template", "spec"),
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "containers", 0),
    ("spec", "template", "spec", "containers", 0, "args"),
    ("spec", "template", "spec", "containers", 0, "command"),
    ("spec", "template", "spec", "containers", 0, "image"),
]


def gatekeeper_deployment() -> dict[str, Any]:
    manager = {
        "name": "manager",
        "image": "openpolicyagent/gatekeeper:v3.20.1",
        "command": ["/manager"],
        "args": ["--operation=generate", "--operation=audit"],
    }
    return {
        "metadata": {"name": "gatekeeper-audit", "labels": {"gatekeeper.sh/system": "yes"}},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [manager]}}},
    }


@FUZZ
@given(path=st.sampled_from(DEPLOYMENT_PATHS), value=junk)
def test_a_malformed_deployment_is_not_observed_never_an_error(path: tuple, value: Any) -> None:
    deployment = gatekeeper_deployment() if path else value
    if path:
        put(deployment, path, value)
    found = observe.observe([deployment])
    assert found.observed or found.problem
    config = observe.resolve(found)
    assert isinstance(config.defaults.create_vapb, bool)
    json.dumps(config.fields())  # the log line can always be written
