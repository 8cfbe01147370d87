"""Template and constraint facts as Gatekeeper reads them: the parsing half of
``sweeper.core.gatekeeper``.

Pure, and never raises: its inputs are plain dicts from the API server and may be malformed
anywhere. A field Gatekeeper would fail to decode or validate becomes a ``problem`` (and
every decision resting on it is ``Want.UNKNOWN``); a template frameworks' client rejects on
ingestion is ``invalid`` (decision-table row 6b). Each docstring names the Gatekeeper or
frameworks function it mirrors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

VAP_ENFORCEMENT_POINT = "vap.k8s.io"
CEL_ENGINE = "K8sNativeValidation"
REGO_ENGINE = "Rego"
# frameworks client drivers Gatekeeper registers (rego and, by default, the CEL driver).
KNOWN_ENGINES = frozenset({REGO_ENGINE, CEL_ENGINE})
ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"  # the only target handler Gatekeeper registers

ALL_ENFORCEMENT_POINTS = "*"
# util.ValidateScopedEnforcementAction accepts exactly these (case-sensitive) values.
KNOWN_ENFORCEMENT_POINTS = frozenset(
    {
        "validation.gatekeeper.sh",
        "audit.gatekeeper.sh",
        "gator.gatekeeper.sh",
        VAP_ENFORCEMENT_POINT,
        ALL_ENFORCEMENT_POINTS,
    }
)
BINDABLE_ACTIONS = ("deny", "warn", "dryrun")  # transform.ConstraintToBinding maps only these
SCOPED_ACTION = "scoped"
_RESERVED_PREFIX = "gatekeeper_internal_"  # schema.ReservedPrefix
_RESERVED_VARIABLES = ("params", "anyObject")  # schema.ParamsName, schema.ObjectName
_MISSING = object()


@dataclass(frozen=True, slots=True)
class TemplateFacts:
    """The only template fields the decisions need (the inventory keeps these, not objects)."""

    name: str
    kind: str  # spec.crd.spec.names.kind ("" if missing)
    target_count: int
    has_cel_engine: bool  # schema.HasCELEngine: exactly one target with a K8sNativeValidation code
    generate_vap: bool | None  # source.generateVAP of that code entry; None when unset
    problem: str | None  # set when Gatekeeper's reading of the template is uncertain
    invalid: str | None = None  # why frameworks' client rejects it on ingestion (row 6b)


@dataclass(frozen=True, slots=True)
class ConstraintFacts:
    """The only constraint fields the decisions need."""

    kind: str
    name: str
    enforcement_action: str  # "" normalised to "deny"; other values kept verbatim
    vap_actions: tuple[str, ...]  # scoped: actions of entries naming vap.k8s.io or "*"
    problem: str | None  # set when Gatekeeper would reject or fail to read the constraint


class _Malformed(Exception):
    """A field Gatekeeper would fail to decode or validate; becomes a ``problem``."""


def short(value: object) -> str:
    """``repr(value)``, cut to 60 characters: a value quoted in a one-line reason."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field(obj: object, *path: str) -> object:
    """unstructured.NestedFieldNoCopy: _MISSING when absent, _Malformed through a non-map."""
    for i, key in enumerate(path):
        if obj is None:
            return _MISSING
        if not isinstance(obj, dict):
            where = ".".join(path[:i]) or "object"
            raise _Malformed(f"{where} is not an object")
        if key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _string(obj: object, *path: str) -> str:
    value = _field(obj, *path)
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{'.'.join(path)} is {'missing' if value is _MISSING else short(value)}")
    return value


def _list(value: object, where: str) -> list:
    """A JSON array as Go decodes it into a slice: null and absent are empty."""
    if value is not None and value is not _MISSING and not isinstance(value, list):
        raise _Malformed(f"{where} is not a list")
    return value if isinstance(value, list) else []


def _check_records(source: Mapping, key: str, fields: Iterable[str]) -> list[Mapping]:
    """A []struct of strings in a CEL source, decoded like runtime.FromUnstructured."""
    records = []
    for i, item in enumerate(_list(source.get(key), f"source.{key}")):
        item = {} if item is None else item
        if not isinstance(item, dict):
            raise _Malformed(f"source.{key}[{i}] is not an object")
        for field in fields:
            if not isinstance(item.get(field, ""), str | None):
                raise _Malformed(f"source.{key}[{i}].{field} is not a string")
        records.append(item)
    return records


def _source_generate_vap(source: object) -> bool | None:
    """schema.GetSource + Source.Validate; unknown keys are ignored, as Go does."""
    if not isinstance(source, dict):
        raise _Malformed(f"{CEL_ENGINE} source is not an object")
    generate = source.get("generateVAP")
    if generate is not None and not isinstance(generate, bool):
        raise _Malformed(f"generateVAP is {short(generate)}, not a bool")
    failure_policy = source.get("failurePolicy")
    if failure_policy is not None and failure_policy not in ("Fail", "Ignore"):
        raise _Malformed(f"failurePolicy {short(failure_policy)} is not Fail or Ignore")
    _check_records(source, "validations", ("expression", "message", "messageExpression"))
    for item in _check_records(source, "matchCondition", ("name", "expression")):
        if (item.get("name") or "").startswith(_RESERVED_PREFIX):
            raise _Malformed(f"match condition name uses reserved prefix {_RESERVED_PREFIX}")
    for item in _check_records(source, "variables", ("name", "expression")):
        name = item.get("name") or ""
        if name.startswith(_RESERVED_PREFIX) or name in _RESERVED_VARIABLES:
            raise _Malformed(f"variable name {short(name)} is reserved")
    return generate


class _Invalid(Exception):
    """A template frameworks' client rejects on ingestion; becomes ``TemplateFacts.invalid``."""


def _template_kind(obj: Mapping, name: str) -> str:
    """frameworks validateTemplateMetadata: a kind is set and equals the name, folding case."""
    found = _field(obj, "spec", "crd", "spec", "names", "kind")
    if found is not _MISSING and found is not None and not isinstance(found, str):
        raise _Malformed("spec.crd.spec.names.kind is not a string")
    kind = found if isinstance(found, str) else ""
    if not kind:
        raise _Invalid("spec.crd.spec.names.kind is missing")
    if name.casefold() != kind.casefold():
        raise _Invalid(f"name {short(name)} is not the lower-case of kind {short(kind)}")
    return kind


def _only_target(obj: Mapping) -> tuple[int, dict]:
    """frameworks getTargetName / getTargetHandler: exactly one target, the admission one."""
    targets = _list(_field(obj, "spec", "targets"), "spec.targets")
    for i, target in enumerate(targets):
        if not isinstance(target, dict):
            raise _Malformed(f"spec.targets[{i}] is not an object")
    if len(targets) != 1:
        raise _Invalid(f"template has {len(targets)} targets, not exactly one")
    target = targets[0]
    name = target.get("target")
    if name is not None and not isinstance(name, str):
        raise _Malformed("spec.targets[0].target is not a string")
    if name != ADMISSION_TARGET:
        raise _Invalid(f"target {short(name or '')} is not {ADMISSION_TARGET}")
    return len(targets), target


def _cel_entry(target: Mapping) -> dict | None:
    """The first K8sNativeValidation code entry; _Invalid when no code has a known engine."""
    rego = target.get("rego")
    if rego is not None and not isinstance(rego, str):
        raise _Malformed("spec.targets[0].rego is not a string")
    known = bool(rego)  # the v1/v1beta1 conversion turns a legacy rego field into Rego code
    cel_entry = None
    for j, entry in enumerate(_list(target.get("code"), "spec.targets[0].code")):
        engine = entry.get("engine") if isinstance(entry, dict) else _MISSING
        if engine is _MISSING or not isinstance(engine, str | None):
            raise _Malformed(f"spec.targets[0].code[{j}] has no string engine")
        known = known or engine in KNOWN_ENGINES
        if engine == CEL_ENGINE and cel_entry is None:
            cel_entry = entry  # the first one wins, as in GetSourceFromTemplate
    if not known:  # frameworks AddTemplate: driverForTemplate finds no driver
        raise _Invalid(f"no code for any engine ({REGO_ENGINE}, {CEL_ENGINE})")
    return cel_entry


def parse_template(obj: Mapping) -> TemplateFacts:
    """Template facts as Gatekeeper v3.17+ reads them: frameworks' ingestion checks first
    (client.AddTemplate / CreateCRD), then schema.GetSourceFromTemplate."""
    name = kind = ""
    count, cel, generate = 0, False, None
    try:
        if not isinstance(obj, dict):
            raise _Malformed("template is not an object")
        name = _string(obj, "metadata", "name")
        kind = _template_kind(obj, name)
        count, target = _only_target(obj)
        cel_entry = _cel_entry(target)
        if cel_entry is not None:
            cel = True
            generate = _source_generate_vap(cel_entry.get("source"))
    except _Malformed as exc:
        return TemplateFacts(name, kind, count, cel, None, problem=str(exc))
    except _Invalid as exc:
        return TemplateFacts(name, kind, count, False, None, problem=None, invalid=str(exc))
    return TemplateFacts(name, kind, count, cel, generate, problem=None)


def _reject_folded_keys(entry: Mapping, known: tuple[str, ...], where: str) -> None:
    """Go's encoding/json also matches keys case-insensitively; treat such keys as doubt."""
    folded = {k.lower(): k for k in known}
    for key in entry:
        if isinstance(key, str) and key.lower() in folded and key not in known:
            raise _Malformed(f"{where} has key {short(key)}, not {folded[key.lower()]}")


def _scoped_vap_actions(obj: Mapping) -> tuple[str, ...]:
    """util.ValidateScopedEnforcementAction then util.ScopedActionForEP("vap.k8s.io")."""
    entries = _field(obj, "spec", "scopedEnforcementActions")
    if entries is _MISSING:
        raise _Malformed("enforcementAction scoped without spec.scopedEnforcementActions")
    actions = []
    for i, entry in enumerate(_list(entries, "spec.scopedEnforcementActions")):
        where = f"spec.scopedEnforcementActions[{i}]"
        if not isinstance(entry, dict):
            raise _Malformed(f"{where} is not an object")
        _reject_folded_keys(entry, ("action", "enforcementPoints"), where)
        action = entry.get("action")
        if not isinstance(action, str) or action not in BINDABLE_ACTIONS:
            raise _Malformed(f"{where}.action {short(action)} is not deny, warn or dryrun")
        points = _list(entry.get("enforcementPoints"), f"{where}.enforcementPoints")
        if not points:
            raise _Malformed(f"{where} has no enforcementPoints")
        names = []
        for point in points:
            if not isinstance(point, dict):
                raise _Malformed(f"{where}.enforcementPoints has a non-object entry")
            _reject_folded_keys(point, ("name",), f"{where}.enforcementPoints")
            name = point.get("name")
            if not isinstance(name, str) or name not in KNOWN_ENFORCEMENT_POINTS:
                raise _Malformed(f"{where}: unrecognized enforcement point {short(name)}")
            names.append(name)
        if VAP_ENFORCEMENT_POINT in names or ALL_ENFORCEMENT_POINTS in names:
            actions.append(action)
    return tuple(actions)


def parse_constraint(obj: Mapping) -> ConstraintFacts:
    """Constraint facts as util.GetEnforcementAction / ValidateEnforcementAction read them."""
    kind = name = action = ""
    try:
        if not isinstance(obj, dict):
            raise _Malformed("constraint is not an object")
        kind = _string(obj, "kind")
        name = _string(obj, "metadata", "name")
        found = _field(obj, "spec", "enforcementAction")
        if found is not _MISSING and not isinstance(found, str):
            raise _Malformed(f"spec.enforcementAction is {short(found)}, not a string")
        action = found if isinstance(found, str) and found else "deny"
        vap_actions = _scoped_vap_actions(obj) if action == SCOPED_ACTION else ()
    except _Malformed as exc:
        return ConstraintFacts(kind, name, action, (), problem=str(exc))
    return ConstraintFacts(kind, name, action, vap_actions, problem=None)
