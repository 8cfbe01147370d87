"""Gatekeeper versions, compared with their pre-release part, and the features they bring.

Contract: pure; nothing here raises on any input. A version is placed against a feature
boundary, the first tag that has the feature (read from Gatekeeper's release tags); a
version that cannot be placed on a boundary answers None there, and every caller reads
None as "unknown", never as "no". Semver order: ``v3.23.0-beta.0 < v3.23.0-rc.0 <
v3.23.0``; build metadata (``+x``, which the chart label writes ``_x``) is ignored; a
pre-release other than ``alpha.N``/``beta.N``/``rc.N`` cannot be placed against a boundary
of the same major.minor.patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CHART_LABEL, CHART_PREFIX = "helm.sh/chart", "gatekeeper-"
VERSION_LABEL = "app.kubernetes.io/version"
_VERSION = re.compile(
    r"v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-([0-9A-Za-z.-]{1,64}))?(?:[+_][0-9A-Za-z.+_-]*)?"
)
_PRE = re.compile(r"(alpha|beta|rc)\.(\d{1,6})")
_STAGES = {"alpha": 0, "beta": 1, "rc": 2}


@dataclass(frozen=True, slots=True)
class Version:
    """A Gatekeeper release: ``v3.23.0`` (pre "") or ``v3.23.0-rc.0`` (pre "rc.0")."""

    major: int
    minor: int
    patch: int
    pre: str = ""

    def __str__(self) -> str:
        core = f"v{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.pre}" if self.pre else core

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _stage(self) -> tuple[int, int] | None:
        """Order of the pre-release among its core's: release last; None when unknown."""
        if not self.pre:
            return (3, 0)
        match = _PRE.fullmatch(self.pre)
        return None if match is None else (_STAGES[match[1]], int(match[2]))

    def at_least(self, boundary: Version) -> bool | None:
        """``self >= boundary`` in semver order; None when it cannot be placed."""
        if self.core != boundary.core:
            return self.core > boundary.core
        if not boundary.pre:
            return not self.pre  # every pre-release is below its release
        mine, theirs = self._stage(), boundary._stage()
        if mine is None or theirs is None:
            return None
        return mine >= theirs


# First tags with each feature (git tag --contains of the change, checked per tag).
MODELLED_SINCE = Version(3, 17, 0)  # generateVAP and the two default flags; v3.16: a label
GENERATE_SINCE = Version(3, 18, 0, "rc.0")  # pkg/operations "generate"
FLAGS_ON_SINCE = Version(3, 20, 0, "rc.0")  # both default flags true (v3.20.0-beta.0: false)
# transform.GetVAPBindingName (#4446): v3.22.1 on the 3.22 line, v3.23.0-rc.0 on main
# (v3.23.0-beta.0 still names bindings the legacy way).
NEW_NAMES_PATCH = Version(3, 22, 1)
NEW_NAMES_MAIN = Version(3, 23, 0, "rc.0")


def new_binding_names(version: Version | None) -> bool | None:
    """Whether this Gatekeeper names bindings ``gatekeeper-<kind>-<name>``; None: unknown."""
    if version is None:
        return None
    if version.major == 3 and version.minor == 22:
        return version.at_least(NEW_NAMES_PATCH)
    return version.at_least(NEW_NAMES_MAIN)


def modelled(version: Version | None) -> bool | None:
    """Whether the sweeper models what this Gatekeeper wants (v3.17.0+); None: unknown."""
    return None if version is None else version.at_least(MODELLED_SINCE)


def version_default(version: Version | None) -> bool | None:
    """Both default flags' value in this Gatekeeper version; None when it cannot be told."""
    if version is None or modelled(version) is not True:
        return None
    return version.at_least(FLAGS_ON_SINCE)


def parse_version(text: object) -> Version | None:
    """``v3.20.1``, ``3.20.1``, ``v3.21.0-beta.0`` -> a Version; anything else -> None."""
    if not isinstance(text, str):
        return None
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    return Version(int(match[1]), int(match[2]), int(match[3]), match[4] or "")


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


def version_text(version: Version | None) -> str | None:
    """``v3.22.0``, ``v3.23.0-rc.0``, or None when the version is unknown."""
    return None if version is None else str(version)
