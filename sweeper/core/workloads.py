"""Which of Gatekeeper's containers run, with which arguments: its Deployments read exactly.

Contract: pure; raises only ``Unreadable``. ``read_deployment(obj, replicasets)`` gives a
labelled Deployment's generating containers for every pod template that runs: its own spec
when it is fully rolled out, else (with its ReplicaSets listed) the spec and every
ReplicaSet it controls that still has pods. What runs decides, not what the Deployment asks
for: a rollout stuck half-way runs two templates at once.

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
  operation). No ``--operation`` at all assigns every operation. Before v3.18.0-rc.0, which
  had no ``generate`` operation, any validation operation generates.
- ``--enable-remote-cluster`` (pkg/controller): it reconciles the cluster of its
  ``--kubeconfig``, not this one; it generates nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sweeper.core.manager_args import (
    OPERATIONS,
    VALIDATION_OPERATIONS,
    Unreadable,
    parse_flags,
)
from sweeper.core.versions import (
    GENERATE_SINCE,
    Version,
    image_parts,
    image_version,
    label_version,
)

SYSTEM_LABEL = "gatekeeper.sh/system"  # value "yes"
MANAGER = "manager"
IMAGE_NAME = "gatekeeper"  # the image whose entrypoint is /manager
COMPLETE = "NewReplicaSetAvailable"  # the Progressing reason of a finished rollout


@dataclass(frozen=True, slots=True)
class Generator:
    """One running container that generates VAPs and VAPBs, and what it runs with."""

    where: str  # "<deployment>/<container>", or "<deployment>/<replicaset>/<container>"
    deployment: str
    version: Version | None
    vap_default: bool | None  # explicit in its argv; None when absent
    vapb_default: bool | None
    replicas: int  # pods of its template
    image: str = ""
    # Its args prove v3.17+ (a default flag, or the generate operation: older managers exit on
    # an undefined flag): what matters when no tag or label gives the version.
    proven: bool = False


@dataclass(frozen=True, slots=True)
class DeploymentRead:
    """One labelled Deployment: its generating containers, and how its rollout stands."""

    name: str
    generators: tuple[Generator, ...]
    remote: tuple[str, ...]  # containers that generate for another cluster
    # (where, image) of containers of unknown version with a validation operation and no
    # generate operation: they generate if older than v3.18 (not modelled before v3.17)
    maybe_old: tuple[tuple[str, str], ...]
    rollout: str | None  # None: fully rolled out; else why not
    needs_replicasets: bool  # not rolled out, and its ReplicaSets not given yet


def get(obj: object, key: str, kind: type, where: str) -> Any:
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
    name = get(container, "name", str, where)
    image = get(container, "image", str, where) or ""
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


def _container(
    container: object, prefix: str, deployment: str, labels: Version | None, replicas: int
) -> Generator | tuple[str, str, str] | None:
    """The container as a Generator; ("remote" or "maybe-old", its name) when it generates for
    another cluster, or may generate as a version older than modelled; None when it is no
    manager or does not generate."""
    if not isinstance(container, dict):
        raise Unreadable(f"{prefix}: a container is not an object")
    name = container.get("name")
    where = f"{prefix}/{name if isinstance(name, str) else '?'}"
    argv = _argv(container, where)
    if argv is None:
        return None
    version = image_version(container.get("image") or "") or labels
    try:
        flags = parse_flags(argv)
    except Unreadable as exc:
        raise Unreadable(f"{where}: {exc}") from None
    operations = OPERATIONS if flags.operations is None else flags.operations
    older = version is not None and version.at_least(GENERATE_SINCE) is False
    if older and flags.operations is not None and "generate" in flags.operations:
        raise Unreadable(f"{where}: the generate operation does not exist before v3.18")
    if not operations & VALIDATION_OPERATIONS:
        return None
    image = container.get("image") or ""
    if not older and "generate" not in operations:
        maybe_old = version is None and not flags.remote_cluster
        return ("maybe-old", where, image) if maybe_old else None
    if flags.remote_cluster:
        return ("remote", where, image)
    explicit = flags.operations is not None and "generate" in flags.operations
    proven = explicit or flags.vap_default is not None or flags.vapb_default is not None
    return Generator(
        where, deployment, version, flags.vap_default, flags.vapb_default, replicas, image, proven
    )


def _pod_template(
    owner: dict, prefix: str, deployment: str, labels: Version | None, replicas: int
) -> tuple[list[Generator], list[tuple[str, str, str]]]:
    """The generating containers of ``owner.spec.template`` (a Deployment's or a ReplicaSet's)."""
    spec = get(owner, "spec", dict, prefix) or {}
    pod = get(spec, "template", dict, f"{prefix}.spec") or {}
    pod_metadata = get(pod, "metadata", dict, f"{prefix}.spec.template") or {}
    pod_labels = get(pod_metadata, "labels", dict, f"{prefix}.spec.template.metadata") or {}
    labels = labels or label_version(pod_labels)
    pod_spec = get(pod, "spec", dict, f"{prefix}.spec.template") or {}
    containers = get(pod_spec, "containers", list, f"{prefix}.spec.template.spec") or []
    found = [_container(c, prefix, deployment, labels, replicas) for c in containers]
    return [g for g in found if isinstance(g, Generator)], [
        g for g in found if isinstance(g, tuple)
    ]


def rollout_state(obj: dict, name: str) -> str | None:
    """Why the Deployment may run pods of more than one template; None when fully rolled out
    (the checks of ``kubectl rollout status``, and a finished Progressing condition)."""
    metadata = get(obj, "metadata", dict, name) or {}
    spec = get(obj, "spec", dict, name) or {}
    status = get(obj, "status", dict, name)
    if status is None:
        return "it has no status yet"
    generation = get(metadata, "generation", int, f"{name}.metadata")
    seen = get(status, "observedGeneration", int, f"{name}.status")
    if generation is not None and (seen is None or seen < generation):
        return f"status.observedGeneration {seen} < metadata.generation {generation}"
    wanted = get(spec, "replicas", int, f"{name}.spec")
    wanted = 1 if wanted is None else wanted
    updated = get(status, "updatedReplicas", int, f"{name}.status") or 0
    running = get(status, "replicas", int, f"{name}.status") or 0
    terminating = get(status, "terminatingReplicas", int, f"{name}.status") or 0
    if updated < wanted:
        return f"{updated} of {wanted} replicas updated"
    if running > updated or terminating:
        return f"{running - updated + terminating} old replicas still running"
    conditions = get(status, "conditions", list, f"{name}.status") or []
    progressing = [c for c in conditions if isinstance(c, dict) and c.get("type") == "Progressing"]
    reason = progressing[0].get("reason") if progressing else None
    if reason != COMPLETE:
        return f"condition Progressing is {reason or 'absent'}, not {COMPLETE}"
    return None


def _owned_replicasets(replicasets: list, name: str, uid: object) -> list[tuple[str, dict, int]]:
    """(name, object, pods) of each ReplicaSet the Deployment controls that has pods."""
    found = []
    for rs in replicasets:
        metadata = get(rs, "metadata", dict, "a ReplicaSet") or {}
        refs = get(metadata, "ownerReferences", list, "a ReplicaSet's metadata") or []
        controlled = any(
            isinstance(ref, dict)
            and ref.get("controller") is True
            and ref.get("kind") == "Deployment"
            and (ref.get("uid") == uid if uid else ref.get("name") == name)
            for ref in refs
        )
        if not controlled:
            continue
        rs_name = get(metadata, "name", str, "a ReplicaSet's metadata") or "?"
        spec = get(rs, "spec", dict, rs_name) or {}
        status = get(rs, "status", dict, rs_name) or {}
        counts = [
            get(spec, "replicas", int, f"{rs_name}.spec") or 0,
            get(status, "replicas", int, f"{rs_name}.status") or 0,
            get(status, "terminatingReplicas", int, f"{rs_name}.status") or 0,
        ]
        if max(counts) > 0:
            found.append((rs_name, rs, max(counts)))
    return found


def read_deployment(obj: object, replicasets: list | None) -> DeploymentRead | None:
    """A labelled Deployment's running generators; None when it is not Gatekeeper's.

    ``replicasets``: every ReplicaSet listed in the namespace, or None when not read yet."""
    metadata = get(obj, "metadata", dict, "a Deployment") or {}
    labels = get(metadata, "labels", dict, "a Deployment's metadata") or {}
    if labels.get(SYSTEM_LABEL) != "yes":
        return None
    name = get(metadata, "name", str, "a Deployment's metadata")
    if not name:
        raise Unreadable("a Deployment has no metadata.name")
    assert isinstance(obj, dict)
    replicas = get(get(obj, "spec", dict, name) or {}, "replicas", int, f"{name}.spec")
    count = 1 if replicas is None else replicas  # the API server defaults replicas to 1
    version = label_version(labels)
    generators, others = _pod_template(obj, name, name, version, count)
    rollout = rollout_state(obj, name)
    if rollout is not None and replicasets is not None:
        # Mid-rollout: the spec's template (its pods are starting) and every running old one.
        for rs_name, rs, pods in _owned_replicasets(replicasets, name, metadata.get("uid")):
            # An old template's version is its own: the Deployment's chart label is the new one.
            more, more_others = _pod_template(rs, f"{name}/{rs_name}", name, None, pods)
            generators += more
            others += more_others
    return DeploymentRead(
        name,
        tuple(generators),
        tuple(where for kind, where, _ in others if kind == "remote"),
        tuple((where, image) for kind, where, image in others if kind == "maybe-old"),
        rollout,
        rollout is not None and replicasets is None,
    )
