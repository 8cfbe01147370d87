"""``sweeper explain -o json``: every field of its JSON objects is documented with its type in
docs/logging.md ("sweeper explain output"), and nothing else is."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import replace
from pathlib import Path
from typing import Any

from explaining import RULES, SCENARIOS, explained, gatekeeper, of
from test_scenarios import rules_for

from sweeper.core import observe
from sweeper.core.explain import Explanation
from sweeper.core.reasons import RESTORED_AT_ANNOTATION
from sweeper.testing import objects as make
from sweeper.testing.snapshot import stamp

DOC = Path(__file__).resolve().parent.parent / "docs" / "logging.md"


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
    # Put back by `sweeper restore` after its constraint went: held (restored).
    restored = stamp(make.binding(make.constraint("K8sRequiredLabels", "gone", uid="g")))
    restored["metadata"]["annotations"] = {RESTORED_AT_ANNOTATION: "2026-01-01T00:30:00.000Z"}
    found += explained([*gatekeeper(), broken, restored], RULES).values()
    for name in (
        "7-observed-binding-default-off",
        "image-only-rollout-v3.22.0-to-v3.22.1",  # a rollout, the version unknown
        "digest-only-image-both-names",  # not observed
    ):
        s = SCENARIOS[name]
        observation = observe.observe(s.deployments, replicasets=s.replicasets)
        config = observe.resolve(observation)
        rules = replace(rules_for(s), gatekeeper=config.defaults)
        found += explained(s.objects, rules, config=config).values()
    return found


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
