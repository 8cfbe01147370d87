"""What the running Gatekeeper is configured to do, read from its Deployments.

Contract: pure, and never raises. ``observe(deployments, namespace=..., replicasets=...)``
takes the Deployment dicts the API server listed in Gatekeeper's namespace (possibly
malformed anywhere) and says which running containers generate VAPs and VAPBs, the two
default flags they run with and Gatekeeper's version, or why that cannot be told. When a
Deployment is rolling out, it asks for the namespace's ReplicaSets (``needs_replicasets``)
and is called again with them (or with why they could not be listed). ``resolve(...)``
then gives the effective configuration: an explicit option, else what was observed, else
both default flags on, with the source of each flag. Nothing here imports the shell.

Every rule errs toward "wanted", because a wrong deletion of an enforcing object is the one
failure that matters: the pods of every template a Deployment runs count (a flag is on if
any generation of the Deployment runs with it on); a version that differs between them,
that no image tag or chart label gives, or that cannot be placed among Gatekeeper's
releases is unknown (both binding names are then held); a flag that is neither explicit
nor given by a known version cannot be told, and then nothing is observed. Which containers
count is ``sweeper.core.workloads``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.manager_args import VAP_FLAG, VAPB_FLAG, Unreadable
from sweeper.core.versions import (
    FLAGS_ON_SINCE,
    GENERATE_SINCE,
    Version,
    modelled,
    new_binding_names,
    version_default,
    version_text,
)
from sweeper.core.workloads import SYSTEM_LABEL, DeploymentRead, Generator, read_deployment

DEFAULT_NAMESPACE = "gatekeeper-system"
TODAYS_DEFAULT = True  # both flags' default since v3.20 (GatekeeperDefaults)
OBSERVATION_OFF = "observation is off (--no-observe-gatekeeper)"
NO_GENERATOR = "no container runs Gatekeeper's generate operation"
# The cause of a ``gatekeeper_not_observed`` line (docs/logging.md).
CAUSE_UNLISTED, CAUSE_NO_DEPLOYMENT = "deployments-unreadable", "no-deployment"
CAUSE_ARGS = "args-unreadable"  # manager_args.Unreadable's default cause
CAUSE_NO_GENERATOR, CAUSE_ROLLOUT = "no-generator", "rollout"
CAUSE_FLAGS_UNKNOWN, CAUSE_DISAGREE = "flags-unknown", "disagree"
CAUSE_VERSION_UNKNOWN, CAUSE_UNMODELLED = "version-unknown", "version-unmodelled"


@dataclass(frozen=True, slots=True)
class Observation:
    """What the running Gatekeeper runs with; ``problem`` says why it could not be told."""

    namespace: str
    deployments: tuple[str, ...] = ()  # labelled Deployments read
    generators: tuple[str, ...] = ()  # running containers that generate, by where they run
    version: Version | None = None
    vap_default: bool | None = None  # in effect (explicit, else the version's); None: unknown
    vapb_default: bool | None = None
    reconciling: bool = False  # a generating template has replicas > 0
    problem: str | None = None
    cause: str | None = None  # the kind of problem (CAUSE_*)
    version_unknown: str | None = None  # why the version is unknown, when the rest is observed
    unmodelled: str | None = None  # a running version older than v3.17.0, or why one may run
    rollout: str | None = None  # which Deployments roll out, and how they were read
    remote: tuple[str, ...] = ()  # containers that generate for another cluster
    needs_replicasets: bool = False  # call observe again with the namespace's ReplicaSets

    @property
    def observed(self) -> bool:
        return self.problem is None


def not_observed(namespace: str, problem: str, cause: str = CAUSE_UNLISTED) -> Observation:
    """An observation that failed before any Deployment was read (a 403 or 404 on the list)."""
    return Observation(namespace=namespace, problem=problem, cause=cause)


def observe(
    deployments: object,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    replicasets: object = None,
    replicasets_error: str | None = None,
) -> Observation:
    """Observe Gatekeeper from the Deployments listed in its namespace; never raises.

    ``replicasets``: the namespace's ReplicaSets once ``needs_replicasets`` asked for them;
    ``replicasets_error``: why they could not be listed (the rollout is then not observed).
    """
    reads: list[DeploymentRead] = []
    partial = Observation(namespace)
    try:
        reads = _reads(deployments, replicasets)
        if not reads:
            raise Unreadable(
                f"no Deployment labelled {SYSTEM_LABEL}=yes in {namespace}", CAUSE_NO_DEPLOYMENT
            )
        partial = _partial(namespace, reads)
        pending = [read for read in reads if read.needs_replicasets]
        if pending and replicasets_error is None:
            return Observation(
                namespace,
                partial.deployments,
                rollout=partial.rollout,
                needs_replicasets=True,
                problem="rolling out; its ReplicaSets were not read",
                cause=CAUSE_ROLLOUT,
            )
        if pending:
            why = "; ".join(f"{read.name}: {read.rollout}" for read in pending)
            raise Unreadable(f"rolling out ({why}) and {replicasets_error}", CAUSE_ROLLOUT)
        if not partial.generators:
            raise Unreadable(NO_GENERATOR, CAUSE_NO_GENERATOR)
        return _observed(partial, reads)
    except Unreadable as exc:
        problem, cause = str(exc), exc.cause
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:  # never a traceback
        problem, cause = f"unreadable Deployment: {exc}", CAUSE_ARGS
    return Observation(
        namespace,
        partial.deployments or tuple(read.name for read in reads),
        partial.generators,
        problem=problem,
        cause=cause,
        unmodelled=partial.unmodelled,
        rollout=partial.rollout,
        remote=partial.remote,
    )


def _reads(deployments: object, replicasets: object) -> list[DeploymentRead]:
    if not isinstance(deployments, list | tuple):
        raise Unreadable("the Deployment list is not a list")
    if replicasets is not None and not isinstance(replicasets, list | tuple):
        raise Unreadable("the ReplicaSet list is not a list")
    given = None if replicasets is None else list(replicasets)
    reads = [read_deployment(obj, given) for obj in deployments]
    return [read for read in reads if read is not None]


def _partial(namespace: str, reads: list[DeploymentRead]) -> Observation:
    """What is known before the flags are combined: names, generators, versions, rollouts."""
    generators = [g for read in reads for g in read.generators]
    old = [g.version for g in generators if g.version and modelled(g.version) is False]
    unmodelled = str(min(old, key=lambda v: (v.core, v.pre == "", v.pre))) if old else None
    if unmodelled is None:
        unmodelled = _maybe_unmodelled(reads)
    rolling = [read for read in reads if read.rollout is not None]
    rollout = None
    if rolling:
        how = "its ReplicaSets read" if not any(r.needs_replicasets for r in rolling) else ""
        rollout = "; ".join(f"{read.name}: {read.rollout}" for read in rolling)
        rollout += f" ({how})" if how else ""
    return Observation(
        namespace,
        tuple(read.name for read in reads),
        tuple(g.where for g in generators),
        unmodelled=unmodelled,
        rollout=rollout,
        remote=tuple(where for read in reads for where in read.remote),
        reconciling=any(g.replicas > 0 for g in generators),
    )


def _maybe_unmodelled(reads: list[DeploymentRead]) -> str | None:
    """Why a running manager of unknown version may be older than v3.17, if one may be: no
    tag or label gives its version and nothing proves v3.17+ (a default flag or the generate
    operation in its args, or the image of a container whose args do)."""
    generators = [g for read in reads for g in read.generators]
    proven = {g.image for g in generators if g.proven or g.version is not None}
    unknown = [g.where for g in generators if g.version is None and g.image not in proven]
    unknown += [where for read in reads for where, image in read.maybe_old if image not in proven]
    if not unknown:
        return None
    return f"of unknown version in {unknown[0]} (nothing proves v3.17+: maybe v3.16)"


def _observed(partial: Observation, reads: list[DeploymentRead]) -> Observation:
    generators = [g for read in reads for g in read.generators]
    version, unknown = _version(generators)
    return Observation(
        partial.namespace,
        partial.deployments,
        partial.generators,
        version,
        _flag(reads, "vap_default", VAP_FLAG),
        _flag(reads, "vapb_default", VAPB_FLAG),
        reconciling=partial.reconciling,
        version_unknown=unknown,
        unmodelled=partial.unmodelled,
        rollout=partial.rollout,
        remote=partial.remote,
    )


def _version(generators: list[Generator]) -> tuple[Version | None, str | None]:
    """The one version every generating container runs, else None and why it is unknown."""
    for generator in generators:
        if generator.version is None:
            return None, f"{generator.where} runs an image with no version tag and no chart label"
    versions = sorted({str(g.version) for g in generators})
    if len(versions) > 1:
        return None, f"running containers differ in version: {', '.join(versions)}"
    version = generators[0].version
    assert version is not None
    boundaries = (FLAGS_ON_SINCE, GENERATE_SINCE)
    if new_binding_names(version) is None or any(version.at_least(b) is None for b in boundaries):
        return None, f"{version} cannot be placed among Gatekeeper's releases"
    return version, None


def _effective(generator: Generator, attr: str) -> bool | None:
    """One container's flag: explicit, else its version's default; None when unknown. Older
    than v3.17 the flags do not exist; every want-based verdict is then held, so on."""
    explicit = getattr(generator, attr)
    if explicit is not None:
        return explicit
    if modelled(generator.version) is False:
        return True
    return version_default(generator.version)


def _flag(reads: list[DeploymentRead], attr: str, flag: str) -> bool:
    """The flag in effect: on in a Deployment if any template it runs has it on; every
    generating Deployment must agree (two that disagree fight over the same objects)."""
    values: dict[bool | None, str] = {}
    for read in reads:
        found = [_effective(g, attr) for g in read.generators]
        if not found:
            continue
        value = True if True in found else None if None in found else False
        values.setdefault(value, read.name)
    if None in values:
        raise Unreadable(
            f"--{flag} cannot be told in {values[None]} (absent, and the version unknown)",
            CAUSE_FLAGS_UNKNOWN,
        )
    if len(values) > 1:
        raise Unreadable(
            f"generating Deployments disagree on --{flag}: {values[True]} true, "
            f"{values[False]} false",
            CAUSE_DISAGREE,
        )
    return next(iter(values))  # type: ignore[return-value]


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
    cause: str | None = None
    version_unknown: str | None = None  # why the version is unknown while the flags are seen
    unmodelled: str | None = None
    rollout: str | None = None
    remote: tuple[str, ...] = ()

    @property
    def defaults(self) -> GatekeeperDefaults:
        """What ``Rules.gatekeeper`` should hold."""
        return GatekeeperDefaults(
            self.vap_default, self.vapb_default, self.version, self.unmodelled
        )

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
            "rollout": self.rollout,
            "remote_cluster": list(self.remote),
        }
        optional = {
            "problem": self.problem,
            "cause": self.cause if self.problem else None,
            "version_unknown": self.version_unknown,
            "unmodelled": self.unmodelled,
        }
        fields.update({key: value for key, value in optional.items() if value is not None})
        return fields

    def warnings(self, *, gatekeeper_installed: bool) -> list[Concern]:
        """What deserves a ``warning`` line: one when the sweep falls back to the safe side
        (not observed, version unknown, a version older than modelled), naming the cause;
        one when Gatekeeper is not reconciling while its CRDs exist (nothing then removes or
        re-creates objects)."""
        found = []
        fallback = self._fallback()
        if fallback is not None:
            found.append(Concern(NOT_OBSERVED, fallback[1], fallback[0]))
        idle = self.cause == CAUSE_NO_GENERATOR or self.reconciling is False
        if gatekeeper_installed and idle:
            found.append(
                Concern(
                    IDLE,
                    "Gatekeeper's CRDs exist but no running container generates VAPs and "
                    "VAPBs: leftovers are neither re-created nor removed by Gatekeeper",
                )
            )
        return found

    def _fallback(self) -> tuple[str, str] | None:
        """(cause, message) of the safe side taken, if any; None when all was observed."""
        held = "both binding names are kept when both exist"
        parts: list[str] = []
        cause = None
        if self.problem is not None and self.problem != OBSERVATION_OFF:
            cause = self.cause or CAUSE_UNLISTED
            parts.append(
                f"Gatekeeper not observed: {self.problem}; using the options' values (else "
                f"both default flags on), and {held}"
            )
        elif self.version_unknown is not None:
            cause = CAUSE_VERSION_UNKNOWN
            parts.append(f"Gatekeeper's version not observed: {self.version_unknown}; {held}")
        if self.unmodelled is not None:
            cause = cause or CAUSE_UNMODELLED
            parts.append(
                f"Gatekeeper {self.unmodelled} is older than v3.17: what it wants is not "
                "modelled; only objects whose owner is gone may be deleted"
            )
        return (cause, "; ".join(parts)) if cause else None


NOT_OBSERVED, IDLE = "not_observed", "idle"


class Concern(NamedTuple):
    """One warning about the running Gatekeeper: its kind, the line's message, its cause."""

    kind: str  # NOT_OBSERVED or IDLE
    message: str
    cause: str | None = None  # CAUSE_* of a NOT_OBSERVED line


def resolve(
    observation: Observation | None,
    *,
    vap_option: bool | None = None,
    vapb_option: bool | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> GatekeeperConfig:
    """Explicit option > observed > today's Gatekeeper default (on), per flag.

    ``observation`` None means observation is off. Nothing of a failed observation is used
    but a version older than v3.17 it saw running (that only ever holds verdicts).
    """
    seen = observation if observation is not None and observation.observed else None
    vap, vap_source = _pick(vap_option, seen.vap_default if seen else None)
    vapb, vapb_source = _pick(vapb_option, seen.vapb_default if seen else None)
    if observation is None:
        observation = not_observed(namespace, OBSERVATION_OFF, "observation-off")
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
        cause=observation.cause,
        version_unknown=seen.version_unknown if seen else None,
        unmodelled=observation.unmodelled,
        rollout=observation.rollout,
        remote=observation.remote,
    )


def _pick(option: bool | None, observed: bool | None) -> tuple[bool, str]:
    """One flag: the option when given, else the observed value, else today's default."""
    if option is not None:
        return option, OPTION
    if observed is not None:
        return observed, OBSERVED
    return TODAYS_DEFAULT, DEFAULT
