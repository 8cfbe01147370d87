"""``sweeper explain``: the row of every decision-table row, the facts behind it, the output
formats and their documentation, the exit codes, and that it only ever sends GETs."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import typing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import NOW, T0, FakeTime, fake_runtime, settings_for, sweep
from scenarios import Scenario, corpus
from test_scenarios import rules_for

from sweeper import observe
from sweeper.cli import cli
from sweeper.explain import Explanation, explain
from sweeper.explain_cli import describe, explain_command, run_explain, text_lines
from sweeper.inventory import Inventory
from sweeper.plan import plan
from sweeper.reasons import Reason
from sweeper.settings import Rules, compile_excludes
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster
from sweeper.testing.snapshot import snapshot, stamp

SCENARIOS = {scenario.name: scenario for scenario in corpus()}
DOC = Path(__file__).resolve().parent.parent / "docs" / "logging.md"
CONSTRAINTS = "/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels"


def explained(
    objects: list[dict[str, Any]], rules: Rules, *, failed: tuple[str, ...] = (), **kw: Any
) -> dict[str, Explanation]:
    """name -> explanation of every VAP and VAPB, read by the real gather, judged by the
    real planner (bindings and policies of one name would collide: the tests avoid that)."""
    inventory = snapshot(objects, failed=failed, vap_version=kw.pop("vap_version", "v1"))
    verdicts = plan(inventory, rules, now=NOW).verdicts
    return {
        v.obj.name: explain(v, inventory=inventory, rules=rules, now=NOW, **kw) for v in verdicts
    }


def of(scenario: str) -> dict[str, Explanation]:
    s = SCENARIOS[scenario]
    return explained(s.objects, rules_for(s), vap_version=s.vap_version)


def gatekeeper(kind: str = "K8sRequiredLabels", **options: Any) -> list[dict[str, Any]]:
    template = stamp(make.template(kind, **options))
    return [
        make.template_crd(),
        template,
        make.constraint_crd(template),
        stamp(make.policy(template)),
    ]


RULES = Rules(min_age=timedelta(0))
ALL = RULES.reasons | {Reason.ORPHANED_UNOWNED}


# --- the row of every row of the decision table (gatekeeper-reference.md) ----------------

CORPUS_ROWS = [
    ("users-gatekeeper-prefixed-objects", "gatekeeper-audit", "1", "ignore"),
    ("users-gatekeeper-prefixed-objects", "gatekeeper-handmade", "1", "ignore"),
    ("6-orphaned-by-cascade-default", "gatekeeper-k8srequiredlabels-cost-center", "2", "report"),
    ("6-orphaned-by-cascade-opted-in", "gatekeeper-k8srequiredlabels-cost-center", "2", "delete"),
    ("6-orphaned-by-cascade-default", "gatekeeper-k8srequiredlabels-adopted", "2", "keep"),
    ("3-gatekeeper-uninstalled", "gatekeeper-k8srequiredlabels-must-have-owner", "4", "delete"),
    ("3-gatekeeper-uninstalled", "gatekeeper-k8srequiredlabels", "4", "delete"),
    ("2-template-deleted", "gatekeeper-k8sallowedrepos-prod-repos", "5", "delete"),
    ("2-template-deleted", "gatekeeper-k8sallowedrepos", "6", "delete"),
    ("1-constraint-deleted", "gatekeeper-k8srequiredlabels-must-have-team", "6", "delete"),
    ("6-terminating-owner", "gatekeeper-k8srequiredlabels-stuck", "6", "delete"),
    ("6b-two-target-template", "gatekeeper-k8srequiredlabels-must-have-owner", "6b", "report"),
    ("6b-two-target-template", "gatekeeper-k8srequiredlabels", "6b", "report"),
    ("4-enforcement-point-removed", "gatekeeper-k8srequiredlabels-audit-only", "7", "delete"),
    ("4-enforcement-point-removed", "gatekeeper-k8scontainerlimits", "7", "delete"),
    ("4-defaults-off", "gatekeeper-k8srequiredlabels-implicit", "7", "delete"),
    ("7b-copied-owner-references", "platform-no-nodeport", "7b", "report"),
    ("7b-copied-owner-references", "platform-block-nodeport", "7b", "report"),
    ("5-upgrade-legacy-duplicate", "gatekeeper-prod-repos", "8", "delete"),
    ("legacy-new-name-collision", "gatekeeper-k8sfoo-bar", "8", "delete"),
    ("8-observed-v3.22.0-both-names", "gatekeeper-k8sallowedrepos-prod-repos", "8", "delete"),
    ("5-upgrade-legacy-duplicate", "gatekeeper-dev-repos", "9", "keep"),
    ("8-observed-v3.22.0-both-names", "gatekeeper-k8sallowedrepos-dev-repos", "9", "keep"),
    ("7-owner-replaced", "gatekeeper-k8srequiredlabels-recreated", "10", "report"),
    ("8-policy-missing", "gatekeeper-k8srequiredlabels-waiting-for-policy", "11", "report"),
    ("5-upgrade-legacy-duplicate", "gatekeeper-k8sallowedrepos-prod-repos", "12", "keep"),
    ("8-observed-v3.22.0-both-names", "gatekeeper-prod-repos", "12", "keep"),
    ("1-constraint-deleted", "gatekeeper-k8srequiredlabels", "12", "keep"),
]


@pytest.mark.parametrize(
    ("scenario", "name", "row", "action"), CORPUS_ROWS, ids=[f"{r[2]}-{r[1]}" for r in CORPUS_ROWS]
)
def test_the_row_of_each_case_of_the_corpus(
    scenario: str, name: str, row: str, action: str
) -> None:
    decision = of(scenario)[name].decision
    assert (decision.row, decision.action) == (row, action)


def test_row3_every_failed_read_that_leaves_an_object_undecided() -> None:
    gone = make.constraint("K8sRequiredLabels", "gone", uid="u-gone")
    c = stamp(make.constraint("K8sRequiredLabels", "here"))
    objs = [*gatekeeper(), c, stamp(make.binding(c)), stamp(make.binding(gone))]
    by_constraints = explained(objs, RULES, failed=("constraints/k8srequiredlabels",))
    by_templates = explained(objs, RULES, failed=("templates",))
    broken = stamp(make.binding(make.constraint("K8sRequiredLabels", "b", uid="u")))
    del broken["metadata"]["resourceVersion"]
    by_object = explained([*gatekeeper(), broken], RULES)
    cases = [
        by_constraints["gatekeeper-k8srequiredlabels-gone"],
        by_constraints["gatekeeper-k8srequiredlabels-here"],
        by_templates["gatekeeper-k8srequiredlabels-here"],
        by_templates["gatekeeper-k8srequiredlabels"],
        by_object["gatekeeper-k8srequiredlabels-b"],
    ]
    assert {(e.decision.row, e.decision.action) for e in cases} == {("3", "undecided")}
    assert by_object["gatekeeper-k8srequiredlabels-b"].problem is not None


def test_row2_covers_every_verdict_of_an_unowned_binding_but_undecided_and_6b() -> None:
    c = stamp(make.constraint("K8sRequiredLabels", "dup"))
    duplicate = stamp(make.binding(c, legacy=True, owned=False))
    found = explained(
        [*gatekeeper(), c, stamp(make.binding(c)), duplicate], replace(RULES, reasons=ALL)
    )
    assert (found["gatekeeper-dup"].decision.row, found["gatekeeper-dup"].decision.reason) == (
        "2",
        "legacy-duplicate",
    )
    orphan = stamp(make.binding(make.constraint("K8sRequiredLabels", "o", uid="x"), owned=False))
    undecided = explained([*gatekeeper(), orphan], RULES, failed=("constraints/k8srequiredlabels",))
    assert undecided["gatekeeper-k8srequiredlabels-o"].decision.row == "3"
    claimant = stamp(make.constraint("K8sRequiredLabels", "r"))
    unowned = stamp(make.binding(claimant, owned=False))
    rejected = explained([*gatekeeper(targets=2), claimant, unowned], RULES)
    assert rejected["gatekeeper-k8srequiredlabels-r"].decision.row == "6b"


# What each row's verdict and reason column says (gatekeeper-reference.md); a held delete
# row is reported.
ROW_REASONS = {
    "1": {"foreign"},
    "2": {"orphaned-unowned", "wanted", "legacy-duplicate"},
    "3": {"undecided"},
    "4": {"gatekeeper-uninstalled"},
    "5": {"owner-kind-gone"},
    "6": {"owner-deleted"},
    "6b": {"template-invalid"},
    "7": {"not-wanted"},
    "7b": {"name-mismatch"},
    "8": {"legacy-duplicate"},
    "9": {"wanted"},
    "10": {"owner-replaced"},
    "11": {"policy-missing"},
    "12": {"wanted"},
}
ROW_ACTIONS = {
    "1": {"ignore"},
    "2": {"report", "delete", "keep"},
    "3": {"undecided"},
    "6b": {"report"},
    "7b": {"report"},
    "9": {"keep"},
    "10": {"report"},
    "11": {"report"},
    "12": {"keep"},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_row_of_the_corpus_agrees_with_the_table(scenario: str) -> None:
    for name, e in of(scenario).items():
        d = e.decision
        assert d.reason in ROW_REASONS[d.row], (name, d)
        expected = ROW_ACTIONS.get(d.row, {"delete", "report"} if d.hold else {"delete"})
        assert d.action in expected, (name, d)


def test_the_corpus_and_the_row3_cases_reach_every_row() -> None:
    rows = {e.decision.row for s in SCENARIOS for e in of(s).values()}
    assert rows | {"3"} == set(ROW_REASONS)


# --- the facts -----------------------------------------------------------------------------


def test_how_an_owner_was_proven_found_or_absent() -> None:
    constraint = of("1-constraint-deleted")
    kept = constraint["gatekeeper-k8srequiredlabels-must-have-owner"].owner
    gone = constraint["gatekeeper-k8srequiredlabels-must-have-team"].owner
    assert kept is not None and gone is not None
    assert (kept.lookup.found, gone.lookup.found) == (True, False)
    assert gone.lookup.proof == (
        "not found in the complete LIST of K8sRequiredLabels constraints (1 item)"
    )
    assert kept.uid_matches is True and kept.terminating is False and kept.via == "ownerReference"
    kind_gone = of("2-template-deleted")["gatekeeper-k8sallowedrepos-prod-repos"].owner
    assert kind_gone is not None and kind_gone.lookup.found is False
    assert (
        "GET of CRD k8sallowedrepos.constraints.gatekeeper.sh answered 404"
        in kind_gone.lookup.proof
    )
    assert "discovery" in kind_gone.lookup.proof
    uninstalled = of("3-gatekeeper-uninstalled")["gatekeeper-k8srequiredlabels"].owner
    assert uninstalled is not None and uninstalled.lookup.found is False
    assert "constrainttemplates.templates.gatekeeper.sh answered 404" in uninstalled.lookup.proof
    template_gone = of("2-template-deleted")["gatekeeper-k8sallowedrepos"].owner
    assert template_gone is not None
    assert template_gone.lookup.proof.startswith(
        "not found in the complete LIST of ConstraintTemplates"
    )


def test_an_incomplete_list_proves_nothing_and_says_why() -> None:
    c = stamp(make.constraint("K8sRequiredLabels", "here"))
    found = explained(
        [*gatekeeper(), c, stamp(make.binding(c))], RULES, failed=("constraints/k8srequiredlabels",)
    )
    owner = found["gatekeeper-k8srequiredlabels-here"].owner
    assert owner is not None and owner.lookup.found is None
    assert owner.lookup.proof.startswith(
        "the LIST of K8sRequiredLabels constraints is incomplete: "
    )
    assert "503" in owner.lookup.proof
    assert found["gatekeeper-k8srequiredlabels-here"].wish is None


def test_uid_mismatch_terminating_owner_and_what_the_owner_wants() -> None:
    replaced = of("7-owner-replaced")["gatekeeper-k8srequiredlabels-recreated"]
    assert replaced.owner is not None and replaced.owner.uid_matches is False
    assert replaced.owner.live_uid not in (None, replaced.owner.uid)
    assert replaced.wish is not None and replaced.wish.want == "yes"
    stuck = of("6-terminating-owner")["gatekeeper-k8srequiredlabels-stuck"]
    assert stuck.owner is not None and stuck.owner.terminating is True
    off = of("4-defaults-off")["gatekeeper-k8srequiredlabels-implicit"].wish
    assert (
        off is not None and off.want == "no" and "--default-create-vap-for-templates off" in off.why
    )
    scoped = of("4-enforcement-point-removed")["gatekeeper-k8srequiredlabels-audit-only"].wish
    assert scoped is not None and scoped.why == "scoped without a vap.k8s.io or * point"
    rejected = of("6b-two-target-template")["gatekeeper-k8srequiredlabels"].wish
    assert rejected is not None and rejected.rejected and rejected.want == "unknown"


def test_names_the_owner_would_give_and_which_one_is_carried() -> None:
    upgrade = of("5-upgrade-legacy-duplicate")
    legacy = upgrade["gatekeeper-prod-repos"].names
    assert legacy is not None
    assert legacy.names == ("gatekeeper-k8sallowedrepos-prod-repos", "gatekeeper-prod-repos")
    assert legacy.managed == "gatekeeper-k8sallowedrepos-prod-repos"
    assert (legacy.carried, legacy.sibling, legacy.sibling_owned) == (
        "legacy",
        "gatekeeper-k8sallowedrepos-prod-repos",
        True,
    )
    sole = upgrade["gatekeeper-dev-repos"].names
    assert sole is not None and sole.carried == "legacy" and sole.sibling is None
    observed = of("8-observed-v3.22.0-both-names")["gatekeeper-prod-repos"]
    assert observed.names is not None and observed.names.managed == "gatekeeper-prod-repos"
    assert observed.gatekeeper.version == "v3.22.0"
    mismatch = of("7b-copied-owner-references")["platform-block-nodeport"].names
    assert mismatch is not None and mismatch.carried is None
    assert mismatch.names == ("gatekeeper-k8sblocknodeport",)
    assert of("users-gatekeeper-prefixed-objects")["gatekeeper-audit"].names is None


def test_an_unowned_binding_lists_the_constraints_that_claim_its_name() -> None:
    adopted = of("6-orphaned-by-cascade-default")["gatekeeper-k8srequiredlabels-adopted"]
    assert adopted.owner is not None and adopted.owner.via == "fingerprint"
    assert adopted.owner.uid is None and adopted.owner.uid_matches is None
    assert [(c.kind, c.name, c.wish.want) for c in adopted.claims] == [
        ("K8sRequiredLabels", "adopted", "yes")
    ]
    orphan = of("6-orphaned-by-cascade-default")["gatekeeper-k8srequiredlabels-cost-center"]
    assert orphan.claims == () and orphan.origin.startswith("no ownerReferences; Gatekeeper's")


def test_exclusions_and_holds_keep_the_row() -> None:
    skipped = make.constraint("K8sRequiredLabels", "skipped")
    skipped["metadata"]["annotations"] = {"sweeper.gatekeeper.sh/skip": "true"}
    c = stamp(skipped)
    gone = make.constraint("K8sRequiredLabels", "gone", uid="u-gone")
    objs = [*gatekeeper(generate_vap=False), c, stamp(make.binding(c)), stamp(make.binding(gone))]
    excluded = explained(objs, replace(RULES, exclude=compile_excludes(("-gone$", "nothing"))))
    by_owner = excluded["gatekeeper-k8srequiredlabels-skipped"]
    assert by_owner.exclusions.owner_skip_annotation and not by_owner.exclusions.skip_annotation
    assert (by_owner.decision.row, by_owner.decision.hold) == ("7", "excluded")
    by_pattern = excluded["gatekeeper-k8srequiredlabels-gone"]
    assert by_pattern.exclusions.patterns == ("-gone$",)
    assert (by_pattern.decision.row, by_pattern.decision.hold) == ("6", "excluded")
    young = explained(objs, replace(RULES, min_age=timedelta(hours=2)))[
        "gatekeeper-k8srequiredlabels-gone"
    ]
    assert young.exclusions.old_enough is False and young.exclusions.min_age_seconds == 7200
    assert (young.decision.row, young.decision.action, young.decision.hold) == (
        "6",
        "report",
        "too_young",
    )
    assert young.age_seconds == 3600
    unselected = explained(objs, replace(RULES, reasons=frozenset({Reason.NOT_WANTED})))
    gone_held = unselected["gatekeeper-k8srequiredlabels-gone"]
    assert (
        gone_held.exclusions.reason_selected is False and gone_held.decision.hold == "not_selected"
    )
    kept = of("1-constraint-deleted")["gatekeeper-k8srequiredlabels"]
    assert kept.exclusions.reason_selected is None  # "wanted" never deletes


def test_where_the_defaults_came_from_when_the_observation_is_given() -> None:
    s = SCENARIOS["7-observed-binding-default-off"]
    config = observe.resolve(observe.observe(s.deployments), vap_option=True)
    rules = replace(rules_for(s), gatekeeper=config.defaults)
    e = explained(s.objects, rules, config=config)["gatekeeper-k8srequiredlabels-implicit"]
    assert (e.gatekeeper.vap_source, e.gatekeeper.vapb_source) == ("option", "observed")
    assert (e.gatekeeper.create_vap, e.gatekeeper.create_vapb) == (True, False)
    assert "Gatekeeper v3.21.0" in e.gatekeeper.scheme
    assert of("1-constraint-deleted")["gatekeeper-k8srequiredlabels"].gatekeeper.vap_source is None


# --- text -----------------------------------------------------------------------------------


def test_text_is_aligned_lines_then_the_decision() -> None:
    e = of("1-constraint-deleted")["gatekeeper-k8srequiredlabels-must-have-team"]
    lines = text_lines(e)
    assert (
        lines[0] == "ValidatingAdmissionPolicyBinding gatekeeper-k8srequiredlabels-must-have-team"
    )
    assert (
        lines[-1] == "Decision: row 6, delete (owner-deleted): no constraint of that kind and name"
    )
    body = lines[1:-1]
    columns = {len(re.match(r"\s*[^:]*:\s*", line).group(0)) for line in body}
    assert len(columns) == 1, body  # every value starts in the same column
    keys = [line.split(":")[0].strip() for line in body]
    assert keys[:3] == ["uid", "created", "origin"] and "found" in keys and "exclusions" in keys
    assert "  created:    2026-01-01T00:00:00Z (1h old; --min-age 0s: old enough)" in lines
    held = text_lines(
        of("6-orphaned-by-cascade-default")["gatekeeper-k8srequiredlabels-cost-center"]
    )
    assert held[-1].startswith("Decision: row 2, report, held: not_selected (orphaned-unowned): ")
    assert any(line.endswith("orphaned-unowned not in --reasons") for line in held)


# --- JSON and its documentation (docs/logging.md, "sweeper explain output") ------------------


def _dataclass_in(annotation: Any) -> tuple[type | None, bool]:
    """The dataclass inside ``X``, ``X | None`` or ``tuple[X, ...]``; and whether a list."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    for candidate in (annotation, *args):
        if dataclasses.is_dataclass(candidate):
            return candidate, origin is tuple  # type: ignore[return-value]
    return None, False


def schema_paths(cls: type, prefix: str = "") -> list[str]:
    """Every JSON field of ``cls`` as a dotted path (``[]`` for the items of a list)."""
    found = []
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        path = prefix + spec.name
        found.append(path)
        inner, is_list = _dataclass_in(hints[spec.name])
        if inner is not None:
            found += schema_paths(inner, path + ("[]." if is_list else "."))
    return found


def documented() -> dict[str, str]:
    """path -> type, from the table of the doc's "sweeper explain output" section."""
    text = DOC.read_text(encoding="utf-8").split("\n## sweeper explain output\n", 1)[1]
    text = text.split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return {
        cells[0].strip("`"): cells[1]
        for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)
    }


TYPE_CHECKS: dict[str, typing.Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "string or null": lambda v: v is None or isinstance(v, str),
    "integer or null": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "boolean or null": lambda v: v is None or isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "object or null": lambda v: v is None or isinstance(v, dict),
    "list of strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "list of objects": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
}


def values_at(obj: Any, path: str) -> list[Any]:
    """Every value at ``path`` in a JSON object (through lists and past nulls)."""
    values = [obj]
    for part in path.split("."):
        key, is_list = part.removesuffix("[]"), part.endswith("[]")
        values = [v[key] for v in values if isinstance(v, dict)]
        if is_list:
            values = [item for v in values for item in v]
    return values


def test_the_doc_lists_exactly_the_json_fields_with_their_types() -> None:
    doc = documented()
    assert list(doc) == schema_paths(Explanation)
    assert set(doc.values()) <= set(TYPE_CHECKS)


def every_kind_of_explanation() -> list[Explanation]:
    """The corpus's, a malformed object's, and one with an observed configuration."""
    found = [e for scenario in SCENARIOS for e in of(scenario).values()]
    broken = stamp(make.binding(make.constraint("K8sRequiredLabels", "b", uid="u")))
    del broken["metadata"]["creationTimestamp"]
    found += explained([*gatekeeper(), broken], RULES).values()
    s = SCENARIOS["7-observed-binding-default-off"]
    config = observe.resolve(observe.observe(s.deployments))
    rules = replace(rules_for(s), gatekeeper=config.defaults)
    return found + list(explained(s.objects, rules, config=config).values())


def test_every_json_object_matches_the_doc() -> None:
    doc = documented()
    seen_values: dict[str, int] = dict.fromkeys(doc, 0)
    for e in every_kind_of_explanation():
        fields = json.loads(json.dumps(e.fields()))
        for path, kind in doc.items():
            for value in values_at(fields, path):
                assert TYPE_CHECKS[kind](value), (path, kind, value)
                seen_values[path] += value is not None
        assert set(fields) == {p for p in doc if "." not in p}
    assert [path for path, count in seen_values.items() if not count] == []


# --- the command, over HTTP -----------------------------------------------------------------


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def test_explain_text_unknown_name_and_only_gets(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.clear_requests()
    result = invoke(
        "explain",
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
    dry = sweep(kubeconfig, dry_run=True, min_age=timedelta(minutes=5))
    server.clear_requests()
    out, err = io.StringIO(), io.StringIO()
    options = _options(kubeconfig, output="json")
    code = explain_command(names, options, runtime=fake_runtime(FakeTime()), out=out, err=err)
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
        [name], _options(kubeconfig), runtime=fake_runtime(FakeTime()), out=out, err=err
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
