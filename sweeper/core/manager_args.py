"""How Gatekeeper's manager reads its command line, and which version it is.

Contract: pure, and only raises ``Unreadable`` (never anything else) on input the manager
itself would refuse or that cannot be read with certainty. Mirrors Go's ``flag`` package
(``flag.Parse``: ``-f`` and ``--f`` alike, ``-f=v``, ``strconv.ParseBool`` values, a
boolean never takes the next argument, a non-boolean always does, parsing stops at the
first non-flag argument or after ``--``) and Gatekeeper's ``pkg/operations`` (``opSet.Set``:
the flag repeats, each value a comma-separated list of known operations). Versions come
from an image tag or from the Helm chart's labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

VAP_FLAG = "default-create-vap-for-templates"
VAPB_FLAG = "default-create-vap-binding-for-constraints"
OPERATION_FLAG = "operation"
CHART_LABEL, CHART_PREFIX = "helm.sh/chart", "gatekeeper-"
VERSION_LABEL = "app.kubernetes.io/version"

# pkg/operations allOperations; opSet.Set rejects any other value.
OPERATIONS = frozenset(
    {
        "audit",
        "generate",
        "mutation-controller",
        "mutation-status",
        "mutation-webhook",
        "status",
        "webhook",
    }
)
VALIDATION_OPERATIONS = frozenset({"audit", "status", "webhook"})  # HasValidationOperations
GENERATE_SINCE = (3, 18, 0)  # the generate operation arrived in v3.18.0
FLAGS_SINCE = (3, 17, 0)  # the two default flags exist from v3.17.0
FLAGS_ON_SINCE = (3, 20, 0)  # both default to true from v3.20.0 (false in v3.17-v3.19)

# Boolean flags of the manager (Gatekeeper's flag.Bool definitions, klog's): they never take
# the next argument. Any other flag without "=" takes it, as Go's non-boolean flags do.
BOOL_FLAGS = frozenset(
    {
        VAP_FLAG,
        VAPB_FLAG,
        "admission-events-involved-namespace",
        "audit-events-involved-namespace",
        "audit-from-cache",
        "audit-match-kind-only",
        "crash-on-failure-fetching-expectations",
        "debug-use-fake-pod",
        "disable-cert-rotation",
        "disable-enforcementaction-validation",
        "emit-admission-events",
        "emit-audit-events",
        "enable-admission-violation-export",
        "enable-external-data",
        "enable-generator-resource-expansion",
        "enable-k8s-native-validation",
        "enable-mutation",
        "enable-pprof",
        "enable-referential-rules",
        "enable-remote-cluster",
        "enable-tls-healthcheck",
        "enable-violation-export",
        "log-denies",
        "log-mutations",
        "log-stats-admission",
        "log-stats-audit",
        "mutation-annotations",
        "stackdriver-only-when-available",
        "sync-vap-enforcement-scope",
        "logtostderr",
        "alsologtostderr",
        "add_dir_header",
        "skip_headers",
        "skip_log_headers",
        "one_output",
    }
)
# strconv.ParseBool
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_VERSION = re.compile(r"v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+_][0-9A-Za-z.+_-]*)?")

Version = tuple[int, int, int]


class Unreadable(Exception):
    """Something in Gatekeeper's Deployments that the sweeper cannot read with certainty."""


# --- Go flag syntax --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flags:
    """The flags of one manager argv that decide VAP and VAPB generation."""

    operations: frozenset[str] | None  # None: no --operation, so every operation
    vap_default: bool | None  # --default-create-vap-for-templates; None when absent
    vapb_default: bool | None  # --default-create-vap-binding-for-constraints


def parse_bool(value: str, flag: str) -> bool:
    """strconv.ParseBool, as Go's flag package applies it to ``-flag=value``."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Unreadable(f"invalid boolean value {value!r} for -{flag}")


def _operations(value: str) -> frozenset[str]:
    """operations opSet.Set: a comma-separated list of known operations."""
    found = frozenset(value.split(","))
    unknown = sorted(found - OPERATIONS)
    if unknown:
        raise Unreadable(f"operation {unknown[0]!r} is not a valid operation")
    return found


def parse_flags(argv: Sequence[str]) -> Flags:
    """Go ``flag.Parse`` over ``argv`` for the flags that matter; Unreadable where Go fails.

    ``-f`` and ``--f`` alike; ``-f=v``; a non-boolean flag takes the next argument; parsing
    stops at the first non-flag argument or after ``--``; the last boolean wins and every
    ``--operation`` adds to the set.
    """
    operations: set[str] | None = None
    bools: dict[str, bool | None] = {VAP_FLAG: None, VAPB_FLAG: None}
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if len(arg) < 2 or arg[0] != "-" or arg == "--":
            break
        name = arg[2:] if arg[1] == "-" else arg[1:]
        if not name or name[0] in "-=":
            raise Unreadable(f"bad flag syntax: {arg}")
        name, has_value, value = name.partition("=")
        if name in ("help", "h"):
            raise Unreadable(f"{arg} only prints the usage")
        if name in BOOL_FLAGS:
            parsed = parse_bool(value, name) if has_value else True
            if name in bools:
                bools[name] = parsed
            continue
        if not has_value:
            if not rest:
                raise Unreadable(f"flag needs an argument: -{name}")
            value = rest.pop(0)
        if name == OPERATION_FLAG:
            operations = (operations or set()) | _operations(value)
    frozen = None if operations is None else frozenset(operations)
    return Flags(frozen, bools[VAP_FLAG], bools[VAPB_FLAG])


# --- versions -------------------------------------------------------------------------------


def parse_version(text: object) -> Version | None:
    """``v3.20.1``, ``3.20.1``, ``v3.21.0-beta.0`` -> (3, 20, 1); anything else -> None."""
    if not isinstance(text, str):
        return None
    match = _VERSION.fullmatch(text)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def image_parts(image: str) -> tuple[str, str | None]:
    """(last path component of the repository, tag or None) of an image reference.

    ``registry:5000/openpolicyagent/gatekeeper:v3.20.1@sha256:...`` -> ("gatekeeper",
    "v3.20.1"); a digest alone gives no tag. The registry's port is before the last "/".
    """
    name = image.partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    repository, colon, tag = last.partition(":")
    return repository, (tag if colon else None)


def image_version(image: str) -> Version | None:
    """The version in an image's tag; None for a digest-only image or a non-version tag."""
    return parse_version(image_parts(image)[1])


def label_version(labels: dict[str, Any]) -> Version | None:
    """The chart label ``helm.sh/chart: gatekeeper-3.20.1``, else ``app.kubernetes.io/version``."""
    chart = labels.get(CHART_LABEL)
    if isinstance(chart, str) and chart.startswith(CHART_PREFIX):
        found = parse_version(chart[len(CHART_PREFIX) :])
        if found is not None:
            return found
    return parse_version(labels.get(VERSION_LABEL))


def version_default(version: Version | None) -> bool | None:
    """Both flags' default in this Gatekeeper version; None when it cannot be told."""
    if version is None or version < FLAGS_SINCE:
        return None
    return version >= FLAGS_ON_SINCE


def version_text(version: Version | None) -> str | None:
    """``v3.22.0``, or None when the version is unknown."""
    return None if version is None else "v" + ".".join(map(str, version))
