"""What OPA Gatekeeper would do with ValidatingAdmissionPolicies (VAP) and their bindings (VAPB).

Contract: this module mirrors the decisions of Gatekeeper v3.17+ (object names, ownership,
"does this template want a VAP", "does this constraint want a VAPB") and never does I/O.
Its inputs are plain dicts straight from the API server and may be malformed anywhere:
the parse and fingerprint functions never raise. A parse that cannot be certain records a
``problem``, and every decision resting on a problem is ``Want.UNKNOWN``: doubt never
becomes "not wanted", because the sweeper deletes what is not wanted.

Each docstring names the Gatekeeper function it mirrors (open-policy-agent/gatekeeper pkg/,
open-policy-agent/frameworks constraint/pkg/client).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

CONSTRAINTS_GROUP = "constraints.gatekeeper.sh"
TEMPLATES_GROUP = "templates.gatekeeper.sh"
TEMPLATE_KIND = "ConstraintTemplate"
TEMPLATE_CRD_NAME = "constrainttemplates.templates.gatekeeper.sh"
CONSTRAINT_CRD_LABEL = "gatekeeper.sh/constraint"  # value "yes"
BLOCK_VAPB_ANNOTATION = "gatekeeper.sh/block-vapb-generation-until"
VAP_ENFORCEMENT_POINT = "vap.k8s.io"
CEL_ENGINE = "K8sNativeValidation"
REGO_ENGINE = "Rego"
# frameworks client drivers Gatekeeper registers (rego and, by default, the CEL driver).
KNOWN_ENGINES = frozenset({REGO_ENGINE, CEL_ENGINE})
ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"  # the only target handler Gatekeeper registers
NAME_PREFIX = "gatekeeper-"
MAX_NAME_LENGTH = 253

ALL_ENFORCEMENT_POINTS = "*"
# util.ValidateScopedEnforcementAction accepts exactly these (case-sensitive) values.
KNOWN_ENFORCEMENT_POINTS = frozenset(
    {"validation.gatekeeper.sh", "audit.gatekeeper.sh", "gator.gatekeeper.sh",
     VAP_ENFORCEMENT_POINT, ALL_ENFORCEMENT_POINTS}
)
BINDABLE_ACTIONS = ("deny", "warn", "dryrun")  # transform.ConstraintToBinding maps only these
SCOPED_ACTION = "scoped"
_RESERVED_PREFIX = "gatekeeper_internal_"  # schema.ReservedPrefix
_RESERVED_VARIABLES = ("params", "anyObject")  # schema.ParamsName, schema.ObjectName
_MISSING = object()


# transform.GetVAPBindingName arrived in v3.22.1 (and v3.23.0); before it, the legacy name.
NEW_BINDING_NAMES_SINCE = (3, 22, 1)


@dataclass(frozen=True, slots=True)
class GatekeeperDefaults:
    """The running Gatekeeper's configuration as the sweeper knows it (observed or assumed)."""

    create_vap: bool = True  # --default-create-vap-for-templates (true since v3.20)
    create_vapb: bool = True  # --default-create-vap-binding-for-constraints (true since v3.20)
    version: tuple[int, int, int] | None = None  # observed; None = unknown (newest scheme)

    @property
    def legacy_binding_names(self) -> bool:
        """Whether the running Gatekeeper names bindings ``gatekeeper-<name>`` (<= v3.22.0)."""
        return self.version is not None and self.version < NEW_BINDING_NAMES_SINCE

    @property
    def version_text(self) -> str | None:
        """``v3.22.0``, or None when the version is unknown."""
        return None if self.version is None else "v" + ".".join(map(str, self.version))

    @property
    def binding_scheme(self) -> str:
        """Human name of the scheme the running Gatekeeper uses, for verdict details."""
        if self.version is None:
            return "the new naming scheme (version unknown)"
        version = "v" + ".".join(map(str, self.version))
        scheme = "legacy gatekeeper-<name>" if self.legacy_binding_names else "new"
        return f"the {scheme} naming scheme (Gatekeeper {version})"


# --- names -----------------------------------------------------------------------------------


def policy_name(template_name: str) -> str:
    """VAP name: constrainttemplate_controller.getVAPName, unchanged since v3.16."""
    return NAME_PREFIX + template_name


def binding_name(kind: str, constraint_name: str) -> str:
    """VAPB name of v3.23.0 / v3.22.1+: transform.GetVAPBindingName, hashed past 253 bytes."""
    full = f"{NAME_PREFIX}{kind.lower()}-{constraint_name}"
    if len(full) <= MAX_NAME_LENGTH and full.isascii():  # the common case: no bytes to count
        return full
    # Go measures and cuts bytes; every valid Kubernetes name is ASCII, so this is exact.
    raw = full.encode("utf-8", "surrogatepass")
    if len(raw) <= MAX_NAME_LENGTH:
        return full
    digest = hashlib.sha256(raw).hexdigest()[:8]
    head = raw[: MAX_NAME_LENGTH - len(digest) - 1].rstrip(b"-.")
    return head.decode("utf-8", "surrogateescape") + "-" + digest


def legacy_binding_name(constraint_name: str) -> str:
    """VAPB name up to v3.22.0: transform.LegacyVAPBindingName (removal planned for v3.25)."""
    return NAME_PREFIX + constraint_name


def binding_names(kind: str, constraint_name: str) -> tuple[str, str]:
    """Both names Gatekeeper may give a constraint's binding: (new scheme, legacy)."""
    return binding_name(kind, constraint_name), legacy_binding_name(constraint_name)


def managed_binding_name(kind: str, constraint_name: str, defaults: GatekeeperDefaults) -> str:
    """The binding name the running Gatekeeper creates and keeps (rows 8-9)."""
    if defaults.legacy_binding_names:
        return legacy_binding_name(constraint_name)
    return binding_name(kind, constraint_name)


def constraint_crd_name(kind: str) -> str:
    """Constraint CRD name: frameworks crds.CreateCRD, plural = lower(kind)."""
    return f"{kind.lower()}.{CONSTRAINTS_GROUP}"


def template_name_for_kind(kind: str) -> str:
    """Template of a constraint kind: the constraint controller GETs lower(kind) (v3.17+)."""
    return kind.lower()


# --- ownership ---------------------------------------------------------------------------------


class OwnerRef(NamedTuple):
    """One well-formed entry of metadata.ownerReferences (a tuple: cheap to build per object)."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool

    @property
    def group(self) -> str:
        """API group of the owner, "" for the core group."""
        group, slash, _ = self.api_version.partition("/")
        return group if slash else ""


def _peek(obj: object, *path: str) -> object:
    """Value at ``path`` through nested mappings; None when anything is missing or mistyped."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _raw_owner_refs(obj: Mapping) -> list:
    refs = _peek(obj, "metadata", "ownerReferences")
    return refs if isinstance(refs, list) else []


def _owner_ref(entry: object) -> OwnerRef | None:
    if not isinstance(entry, dict):
        return None
    fields = [entry.get(key) for key in ("apiVersion", "kind", "name", "uid")]
    if not all(isinstance(value, str) and value for value in fields):
        return None
    controller = entry.get("controller")
    controller = False if controller is None else controller
    return OwnerRef(*fields, controller=controller) if isinstance(controller, bool) else None


def owner_refs(obj: Mapping) -> tuple[OwnerRef, ...]:
    """Well-formed metadata.ownerReferences (apiVersion, kind, name, uid set); others skipped."""
    parsed = (_owner_ref(entry) for entry in _raw_owner_refs(obj))
    return tuple(ref for ref in parsed if ref is not None)


def controller_owner(obj: Mapping) -> OwnerRef | None:
    """The controller owner (controllerutil.SetControllerReference); None if none or ambiguous."""
    claims = [e for e in _raw_owner_refs(obj) if isinstance(e, dict) and e.get("controller")]
    return _owner_ref(claims[0]) if len(claims) == 1 else None


def has_owner_references(obj: Mapping) -> bool:
    """Whether metadata.ownerReferences is a non-empty list, well-formed or not."""
    return bool(_raw_owner_refs(obj))


# --- facts -------------------------------------------------------------------------------------


class Want(enum.Enum):
    """Whether Gatekeeper, with the assumed flags, would generate the object."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WantDecision:
    """A want and the short human reason behind it."""

    want: Want
    why: str
    # Gatekeeper rejects the template on ingestion and returns before touching any of its
    # objects (row 6b): never deleted, reported as template-invalid. Always with Want.UNKNOWN.
    rejected: bool = False


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


def _short(value: object) -> str:
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
        raise _Malformed(f"{'.'.join(path)} is {'missing' if value is _MISSING else _short(value)}")
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
        raise _Malformed(f"generateVAP is {_short(generate)}, not a bool")
    failure_policy = source.get("failurePolicy")
    if failure_policy is not None and failure_policy not in ("Fail", "Ignore"):
        raise _Malformed(f"failurePolicy {_short(failure_policy)} is not Fail or Ignore")
    _check_records(source, "validations", ("expression", "message", "messageExpression"))
    for item in _check_records(source, "matchCondition", ("name", "expression")):
        if (item.get("name") or "").startswith(_RESERVED_PREFIX):
            raise _Malformed(f"match condition name uses reserved prefix {_RESERVED_PREFIX}")
    for item in _check_records(source, "variables", ("name", "expression")):
        name = item.get("name") or ""
        if name.startswith(_RESERVED_PREFIX) or name in _RESERVED_VARIABLES:
            raise _Malformed(f"variable name {_short(name)} is reserved")
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
        raise _Invalid(f"name {_short(name)} is not the lower-case of kind {_short(kind)}")
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
        raise _Invalid(f"target {_short(name or '')} is not {ADMISSION_TARGET}")
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
            raise _Malformed(f"{where} has key {_short(key)}, not {folded[key.lower()]}")


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
            raise _Malformed(f"{where}.action {_short(action)} is not deny, warn or dryrun")
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
                raise _Malformed(f"{where}: unrecognized enforcement point {_short(name)}")
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
            raise _Malformed(f"spec.enforcementAction is {_short(found)}, not a string")
        action = found if isinstance(found, str) and found else "deny"
        vap_actions = _scoped_vap_actions(obj) if action == SCOPED_ACTION else ()
    except _Malformed as exc:
        return ConstraintFacts(kind, name, action, (), problem=str(exc))
    return ConstraintFacts(kind, name, action, vap_actions, problem=None)


# --- decisions ---------------------------------------------------------------------------------


def wants_policy(template: TemplateFacts, defaults: GatekeeperDefaults) -> WantDecision:
    """constraint.ShouldGenerateVAP (v3.17+): one target, CEL code, generateVAP or the flag."""
    if template.invalid:  # row 6b: Gatekeeper returns before it reaches its VAP
        return WantDecision(Want.UNKNOWN, f"template rejected: {template.invalid}", rejected=True)
    if template.problem:
        return WantDecision(Want.UNKNOWN, f"unparseable template: {template.problem}")
    if template.target_count != 1:
        return WantDecision(Want.NO, f"template has {template.target_count} targets")
    if not template.has_cel_engine:
        return WantDecision(Want.NO, f"no {CEL_ENGINE} code (CEL engine missing)")
    if template.generate_vap is not None:
        want = Want.YES if template.generate_vap else Want.NO
        return WantDecision(want, f"generateVAP: {str(template.generate_vap).lower()}")
    flag = "on" if defaults.create_vap else "off"
    want = Want.YES if defaults.create_vap else Want.NO
    return WantDecision(want, f"generateVAP unset, --default-create-vap-for-templates {flag}")


def wants_binding(
    constraint: ConstraintFacts, *, template: TemplateFacts | None, defaults: GatekeeperDefaults
) -> WantDecision:
    """shouldGenerateVAPB + ShouldGenerateVAP of its template (constraint controller, v3.17+)."""
    if template is None:
        return WantDecision(Want.NO, "template absent")
    policy = wants_policy(template, defaults)
    if policy.want is Want.NO:
        return WantDecision(Want.NO, f"template wants no VAP: {policy.why}")
    if policy.want is Want.UNKNOWN:
        if policy.rejected:
            return policy
        return WantDecision(Want.UNKNOWN, f"template undecided: {policy.why}")
    if constraint.problem:
        return WantDecision(Want.UNKNOWN, f"unparseable constraint: {constraint.problem}")
    action = constraint.enforcement_action
    if action == SCOPED_ACTION:
        # The scoped branch ignores --default-create-vap-binding-for-constraints.
        if constraint.vap_actions:
            actions = ", ".join(constraint.vap_actions)
            return WantDecision(Want.YES, f"scoped, {VAP_ENFORCEMENT_POINT} actions: {actions}")
        return WantDecision(Want.NO, f"scoped without a {VAP_ENFORCEMENT_POINT} or * point")
    if action not in BINDABLE_ACTIONS:
        # ValidateEnforcementAction fails before manageVAPB: Gatekeeper neither creates nor deletes.
        return WantDecision(Want.UNKNOWN, f"unrecognized enforcementAction {_short(action)}")
    if defaults.create_vapb:
        return WantDecision(Want.YES, f"{action}, --default-create-vap-binding-for-constraints on")
    return WantDecision(Want.NO, f"{action}, --default-create-vap-binding-for-constraints off")


# --- fingerprints of objects that lost their owner ---------------------------------------------


def _unowned_strings(obj: object, *paths: tuple[str, ...]) -> list[str] | None:
    """The string at each path of an object with no ownerReferences at all, else None."""
    if not isinstance(obj, dict):
        return None
    refs = _peek(obj, "metadata", "ownerReferences")
    if refs is not None and refs != []:
        return None
    values = [_peek(obj, *path) for path in paths]
    return values if all(isinstance(v, str) and v for v in values) else None


def binding_fingerprint(binding: Mapping) -> tuple[str, str] | None:
    """(lower kind, constraint name) of an unowned VAPB named as ConstraintToBinding names it."""
    found = _unowned_strings(
        binding, ("metadata", "name"), ("spec", "policyName"), ("spec", "paramRef", "name"),
        ("spec", "paramRef", "parameterNotFoundAction"),
    )
    if found is None:
        return None
    name, policy, constraint, not_found_action = found
    kind = policy[len(NAME_PREFIX):] if policy.startswith(NAME_PREFIX) else ""
    if not kind or kind != kind.lower() or not_found_action != "Allow":
        return None
    if name in (binding_name(kind, constraint), legacy_binding_name(constraint)):
        return kind, constraint
    return None


def policy_fingerprint(policy: Mapping) -> str | None:
    """Template name of an unowned VAP named and shaped as TemplateToPolicyDefinition makes it."""
    found = _unowned_strings(
        policy, ("metadata", "name"), ("spec", "paramKind", "kind"),
        ("spec", "paramKind", "apiVersion"),
    )
    if found is None:
        return None
    name, kind, api_version = found
    group, slash, _ = api_version.partition("/")
    template = template_name_for_kind(kind)
    if slash and group == CONSTRAINTS_GROUP and name == policy_name(template):
        return template
    return None
