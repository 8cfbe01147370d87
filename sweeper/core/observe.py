"""What the running Gatekeeper is configured to do, read from its Deployments.

Contract: pure, and never raises. ``observe(deployments, namespace=...)`` takes the
Deployment dicts the API server listed in Gatekeeper's namespace (possibly malformed
anywhere) and says which containers generate VAPs and VAPBs, the two default flags they
run with and Gatekeeper's version, or why that cannot be told. ``resolve(...)`` then gives
the effective configuration: an explicit option, else what was observed, else the current
Gatekeeper defaults, with the source of each flag. Nothing here imports the shell
(``sweeper.cluster.kube``, urllib3, kubernetes, tenacity).

Which containers count (Gatekeeper ``main.go``, ``pkg/operations``, the chart's
``gatekeeper-{audit,controller-manager}-deployment.yaml`` and ``deploy/gatekeeper.yaml``):

- Only Deployments labelled ``gatekeeper.sh/system: "yes"``; others are ignored.
- The manager container: its ``command`` runs ``/manager``, or it has no ``command`` and is
  named ``manager`` (the chart's default ``containerName`` and the static manifest's) or
  runs an image named ``.../gatekeeper`` (whose entrypoint is ``/manager``). Any other
  container (a sidecar) is ignored. A container named ``manager`` or running that image
  under another command (a shell wrapper) cannot be read: not observed.
- Its argv is ``command[1:] + args``, parsed as Go's ``flag`` package does.
- It generates when its operations include ``generate`` and one of ``audit``, ``status``,
  ``webhook`` (the constraint and template controllers are only added with a validation
  operation). No ``--operation`` at all assigns every operation. Before v3.18, which had no
  ``generate`` operation, any validation operation generates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.manager_args import (
    GENERATE_SINCE,
    OPERATIONS,
    VALIDATION_OPERATIONS,
    VAP_FLAG,
    VAPB_FLAG,
    Unreadable,
    Version,
    image_parts,
    image_version,
    label_version,
    parse_flags,
    version_default,
    version_text,
)

SYSTEM_LABEL = "gatekeeper.sh/system"  # value "yes"
DEFAULT_NAMESPACE = "gatekeeper-system"
MANAGER = "manager"
IMAGE_NAME = "gatekeeper"  # the image whose entrypoint is /manager
TODAYS_DEFAULT = True  # both flags' default since v3.20 (GatekeeperDefaults)
OBSERVATION_OFF = "observation is off (--no-observe-gatekeeper)"
NO_GENERATOR = "no container runs Gatekeeper's generate operation"


# --- Deployments ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Generator:
    """One container that generates VAPs and VAPBs, and what it runs with."""

    where: str  # "<deployment>/<container>"
    version: Version | None
    vap_default: bool | None  # explicit in its argv; None when absent
    vapb_default: bool | None
    replicas: int  # of its Deployment


def _get(obj: object, key: str, kind: type, where: str) -> Any:
    """``obj[key]`` of the given type, None when absent or null; Unreadable when mistyped."""
    if not isinstance(obj, dict):
        raise Unreadable(f"{where} is not an object")
    value = obj.get(key)
    if value is None:
        return None
    # JSON true is a Python bool, and bool is an int: never accept it as a count.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Unreadable(f"{where}.{key} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Unreadable(f"{where} is not a list of strings")
    return value


def _argv(container: dict, where: str) -> list[str] | None:
    """The manager's argv after ``/manager``; None for a container that is not the manager."""
    name = _get(container, "name", str, where)
    image = _get(container, "image", str, where) or ""
    command = _strings(container.get("command"), f"{where}.command")
    args = _strings(container.get("args"), f"{where}.args")
    looks_like_manager = name == MANAGER or image_parts(image)[0] == IMAGE_NAME
    if not command:
        return args if looks_like_manager else None
    if command[0].rsplit("/", 1)[-1] == MANAGER:
        return command[1:] + args
    if looks_like_manager:
        raise Unreadable(f"{where} runs {command[0]!r}, not /manager: its flags are unreadable")
    return None


def _generator(
    container: object, deployment: str, labels: Version | None, replicas: int
) -> Generator | None:
    """The container as a Generator, or None when it is no manager or does not generate."""
    if not isinstance(container, dict):
        raise Unreadable(f"{deployment}: a container is not an object")
    name = container.get("name")
    where = f"{deployment}/{name if isinstance(name, str) else '?'}"
    argv = _argv(container, where)
    if argv is None:
        return None
    version = image_version(container.get("image") or "") or labels
    try:
        flags = parse_flags(argv)
    except Unreadable as exc:
        raise Unreadable(f"{where}: {exc}") from None
    operations = OPERATIONS if flags.operations is None else flags.operations
    older = version is not None and version < GENERATE_SINCE
    if older and flags.operations is not None and "generate" in flags.operations:
        raise Unreadable(f"{where}: the generate operation does not exist before v3.18")
    if not operations & VALIDATION_OPERATIONS:
        return None
    if not older and "generate" not in operations:
        return None
    return Generator(where, version, flags.vap_default, flags.vapb_default, replicas)


def read_deployment(obj: object) -> tuple[str, list[Generator]] | None:
    """A labelled Deployment's name and generating containers; None when not Gatekeeper's."""
    metadata = _get(obj, "metadata", dict, "a Deployment") or {}
    labels = _get(metadata, "labels", dict, "a Deployment's metadata") or {}
    if labels.get(SYSTEM_LABEL) != "yes":
        return None
    name = _get(metadata, "name", str, "a Deployment's metadata")
    if not name:
        raise Unreadable("a Deployment has no metadata.name")
    spec = _get(obj, "spec", dict, name) or {}
    replicas = _get(spec, "replicas", int, f"{name}.spec")
    pod = _get(spec, "template", dict, f"{name}.spec") or {}
    pod_metadata = _get(pod, "metadata", dict, f"{name}.spec.template") or {}
    pod_labels = _get(pod_metadata, "labels", dict, f"{name}.spec.template.metadata") or {}
    version = label_version(labels) or label_version(pod_labels)
    pod_spec = _get(pod, "spec", dict, f"{name}.spec.template") or {}
    containers = _get(pod_spec, "containers", list, f"{name}.spec.template.spec") or []
    count = 1 if replicas is None else replicas  # the API server defaults replicas to 1
    generators = [_generator(c, name, version, count) for c in containers]
    return name, [g for g in generators if g is not None]


# --- the observation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """What the running Gatekeeper runs with; ``problem`` says why it could not be told."""

    namespace: str
    deployments: tuple[str, ...] = ()  # labelled Deployments read
    generators: tuple[str, ...] = ()  # "<deployment>/<container>" that generate
    version: Version | None = None
    vap_default: bool | None = None  # in effect (explicit, else the version's); None: unknown
    vapb_default: bool | None = None
    reconciling: bool = False  # a generating Deployment has replicas > 0
    problem: str | None = None

    @property
    def observed(self) -> bool:
        return self.problem is None


def not_observed(namespace: str, problem: str) -> Observation:
    """An observation that failed before any Deployment was read (a 403 or 404 on the list)."""
    return Observation(namespace=namespace, problem=problem)


def observe(deployments: object, *, namespace: str = DEFAULT_NAMESPACE) -> Observation:
    """Observe Gatekeeper from the Deployments listed in its namespace; never raises."""
    names: list[str] = []
    generators: list[Generator] = []
    try:
        if not isinstance(deployments, list | tuple):
            raise Unreadable("the Deployment list is not a list")
        for obj in deployments:
            read = read_deployment(obj)
            if read is not None:
                names.append(read[0])
                generators += read[1]
        if not names:
            raise Unreadable(f"no Deployment labelled {SYSTEM_LABEL}=yes in {namespace}")
        if not generators:
            raise Unreadable(NO_GENERATOR)
        version = _agreed_version(generators)
        vap = _agreed_flag(generators, "vap_default", VAP_FLAG)
        vapb = _agreed_flag(generators, "vapb_default", VAPB_FLAG)
    except Unreadable as exc:
        return Observation(namespace, tuple(names), problem=str(exc))
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:  # never a traceback
        return Observation(namespace, tuple(names), problem=f"unreadable Deployment: {exc}")
    return Observation(
        namespace,
        tuple(names),
        tuple(g.where for g in generators),
        version,
        vap,
        vapb,
        reconciling=any(g.replicas > 0 for g in generators),
    )


def _agreed_version(generators: list[Generator]) -> Version | None:
    """The one version every generating container runs; None when some show none."""
    versions = {g.version for g in generators}
    known = sorted(v for v in versions if v is not None)
    if len(known) > 1:
        shown = ", ".join(str(version_text(v)) for v in known)
        raise Unreadable(f"generating containers run different versions: {shown}")
    return known[0] if len(versions) == 1 and known else None


def _agreed_flag(generators: list[Generator], attr: str, flag: str) -> bool | None:
    """The flag's value in effect in every generating container: explicit, else the
    version's default. Containers that disagree would fight over the same objects."""
    values: dict[bool | None, str] = {}
    for generator in generators:
        explicit = getattr(generator, attr)
        value = explicit if explicit is not None else version_default(generator.version)
        values.setdefault(value, generator.where)
    if len(values) == 1:
        return next(iter(values))
    if None in values:
        raise Unreadable(f"--{flag} cannot be told in {values[None]} (absent, version unknown)")
    raise Unreadable(
        f"generating containers disagree on --{flag}: {values[True]} true, {values[False]} false"
    )


# --- the effective configuration ------------------------------------------------------------

OPTION, OBSERVED, DEFAULT = "option", "observed", "default"


@dataclass(frozen=True, slots=True)
class GatekeeperConfig:
    """The configuration the plan assumes, and where each part of it came from."""

    namespace: str
    deployments: tuple[str, ...]
    generators: tuple[str, ...]
    version: Version | None
    vap_default: bool
    vapb_default: bool
    vap_default_source: str  # "option", "observed" or "default"
    vapb_default_source: str
    reconciling: bool | None  # None when not observed
    problem: str | None  # why Gatekeeper was not observed; None when it was

    @property
    def defaults(self) -> GatekeeperDefaults:
        """What ``Rules.gatekeeper`` should hold."""
        return GatekeeperDefaults(self.vap_default, self.vapb_default, self.version)

    @property
    def version_text(self) -> str | None:
        return version_text(self.version)

    def fields(self) -> dict[str, Any]:
        """The fields of the ``gatekeeper_observed`` log event."""
        fields: dict[str, Any] = {
            "namespace": self.namespace,
            "deployments": list(self.deployments),
            "generators": list(self.generators),
            "version": self.version_text,
            "vap_default": self.vap_default,
            "vapb_default": self.vapb_default,
            "vap_default_source": self.vap_default_source,
            "vapb_default_source": self.vapb_default_source,
            "reconciling": self.reconciling,
        }
        if self.problem is not None:
            fields["problem"] = self.problem
        return fields

    def warnings(self, *, gatekeeper_installed: bool) -> list[Concern]:
        """What deserves a ``warning`` line: why Gatekeeper was not observed, and whether it is
        reconciling at all while its CRDs exist (nothing then removes or re-creates objects)."""
        found = []
        if self.problem is not None and self.problem != OBSERVATION_OFF:
            found.append(
                Concern(
                    NOT_OBSERVED,
                    f"Gatekeeper not observed: {self.problem}; using the options' values",
                )
            )
        idle = self.problem == NO_GENERATOR or self.reconciling is False
        if gatekeeper_installed and idle:
            found.append(
                Concern(
                    IDLE,
                    "Gatekeeper's CRDs exist but no running container generates VAPs and "
                    "VAPBs: leftovers are neither re-created nor removed by Gatekeeper",
                )
            )
        return found


NOT_OBSERVED, IDLE = "not_observed", "idle"


class Concern(NamedTuple):
    """One warning about the running Gatekeeper: its kind and the line's message."""

    kind: str  # NOT_OBSERVED or IDLE
    message: str


def resolve(
    observation: Observation | None,
    *,
    vap_option: bool | None = None,
    vapb_option: bool | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> GatekeeperConfig:
    """Explicit option > observed > today's Gatekeeper default (on), per flag.

    ``observation`` None means observation is off. Nothing of a failed observation is used.
    """
    seen = observation if observation is not None and observation.observed else None
    vap, vap_source = _pick(vap_option, seen.vap_default if seen else None)
    vapb, vapb_source = _pick(vapb_option, seen.vapb_default if seen else None)
    if observation is None:
        observation = not_observed(namespace, OBSERVATION_OFF)
    return GatekeeperConfig(
        namespace=observation.namespace,
        deployments=observation.deployments,
        generators=observation.generators,
        version=seen.version if seen else None,
        vap_default=vap,
        vapb_default=vapb,
        vap_default_source=vap_source,
        vapb_default_source=vapb_source,
        reconciling=seen.reconciling if seen else None,
        problem=observation.problem,
    )


def _pick(option: bool | None, observed: bool | None) -> tuple[bool, str]:
    """One flag: the option when given, else the observed value, else today's default."""
    if option is not None:
        return option, OPTION
    if observed is not None:
        return observed, OBSERVED
    return TODAYS_DEFAULT, DEFAULT
