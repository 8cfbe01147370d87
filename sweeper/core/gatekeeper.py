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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

# The parsing half lives in sweeper.core.facts; its names are re-exported, so that decisions and
# their tests find every Gatekeeper rule under ``gatekeeper``.
from sweeper.core.facts import ALL_ENFORCEMENT_POINTS as ALL_ENFORCEMENT_POINTS
from sweeper.core.facts import BINDABLE_ACTIONS as BINDABLE_ACTIONS
from sweeper.core.facts import CEL_ENGINE as CEL_ENGINE
from sweeper.core.facts import KNOWN_ENFORCEMENT_POINTS as KNOWN_ENFORCEMENT_POINTS
from sweeper.core.facts import SCOPED_ACTION as SCOPED_ACTION
from sweeper.core.facts import VAP_ENFORCEMENT_POINT as VAP_ENFORCEMENT_POINT
from sweeper.core.facts import ConstraintFacts as ConstraintFacts
from sweeper.core.facts import TemplateFacts as TemplateFacts
from sweeper.core.facts import parse_constraint as parse_constraint
from sweeper.core.facts import parse_template as parse_template
from sweeper.core.facts import short
from sweeper.core.versions import Version, modelled, new_binding_names, version_text

CONSTRAINTS_GROUP = "constraints.gatekeeper.sh"
TEMPLATES_GROUP = "templates.gatekeeper.sh"
TEMPLATE_KIND = "ConstraintTemplate"
TEMPLATE_CRD_NAME = "constrainttemplates.templates.gatekeeper.sh"
CONSTRAINT_CRD_LABEL = "gatekeeper.sh/constraint"  # value "yes"
BLOCK_VAPB_ANNOTATION = "gatekeeper.sh/block-vapb-generation-until"
NAME_PREFIX = "gatekeeper-"
MAX_NAME_LENGTH = 253
TEMPLATE_TERMINATING = "template terminating"


@dataclass(frozen=True, slots=True)
class GatekeeperDefaults:
    """The running Gatekeeper's configuration as the sweeper knows it (observed or assumed)."""

    create_vap: bool = True  # --default-create-vap-for-templates (true since v3.20)
    create_vapb: bool = True  # --default-create-vap-binding-for-constraints (true since v3.20)
    version: Version | None = None  # observed; None = unknown (both binding names are wanted)
    unmodelled: str | None = None  # a running version older than v3.17, seen even if unplaced

    @property
    def new_binding_names(self) -> bool | None:
        """Whether the running Gatekeeper names bindings ``gatekeeper-<kind>-<name>``
        (v3.22.1+, v3.23.0-rc.0+) or ``gatekeeper-<name>``; None when its version is unknown."""
        return new_binding_names(self.version)

    @property
    def legacy_binding_names(self) -> bool:
        """Whether the running Gatekeeper is known to name bindings ``gatekeeper-<name>``."""
        return self.new_binding_names is False

    @property
    def version_text(self) -> str | None:
        """``v3.22.0``, or None when the version is unknown."""
        return version_text(self.version)

    @property
    def not_modelled(self) -> str | None:
        """Why what Gatekeeper wants is not modelled (a version older than v3.17 runs: a
        template label decides there, not generateVAP); None when it is."""
        old = self.unmodelled or (self.version_text if modelled(self.version) is False else None)
        if old is None:
            return None
        return f"Gatekeeper {old} is older than v3.17: what it wants is not modelled"

    @property
    def binding_scheme(self) -> str:
        """Human name of the scheme the running Gatekeeper uses, for verdict details."""
        if self.new_binding_names is None:
            return "either naming scheme (Gatekeeper's version unknown)"
        scheme = "legacy gatekeeper-<name>" if self.legacy_binding_names else "new"
        return f"the {scheme} naming scheme (Gatekeeper {self.version_text})"


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
    constraint: ConstraintFacts,
    *,
    template: TemplateFacts | None,
    defaults: GatekeeperDefaults,
    template_terminating: bool | None = False,
) -> WantDecision:
    """shouldGenerateVAPB + ShouldGenerateVAP of its template (constraint controller, v3.17+).

    A terminating template counts as deleted (constrainttemplate_controller handleDelete
    removes the kind's watch, and the constraint controller's delete path removes both
    bindings); ``template_terminating`` None: its deletionTimestamp is malformed."""
    if template is None:
        return WantDecision(Want.NO, "template absent")
    if template_terminating is None:
        return WantDecision(Want.UNKNOWN, "template's metadata.deletionTimestamp is malformed")
    if template_terminating:
        return WantDecision(Want.NO, TEMPLATE_TERMINATING)
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
        return WantDecision(Want.UNKNOWN, f"unrecognized enforcementAction {short(action)}")
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
        binding,
        ("metadata", "name"),
        ("spec", "policyName"),
        ("spec", "paramRef", "name"),
        ("spec", "paramRef", "parameterNotFoundAction"),
    )
    if found is None:
        return None
    name, policy, constraint, not_found_action = found
    kind = policy[len(NAME_PREFIX) :] if policy.startswith(NAME_PREFIX) else ""
    if not kind or kind != kind.lower() or not_found_action != "Allow":
        return None
    if name in (binding_name(kind, constraint), legacy_binding_name(constraint)):
        return kind, constraint
    return None


def policy_fingerprint(policy: Mapping) -> str | None:
    """Template name of an unowned VAP named and shaped as TemplateToPolicyDefinition makes it."""
    found = _unowned_strings(
        policy,
        ("metadata", "name"),
        ("spec", "paramKind", "kind"),
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
