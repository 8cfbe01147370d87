"""What ``sweeper restore`` reads and what it would send: pure functions, no I/O.

Contract: turns lines of text (the sweeper's JSON log in every form an operator can capture
it) into the ``deleted`` events to restore, and each deleted manifest into the body of a
create request. It refuses, with one line naming the input line, anything that is not the
sweeper's own log or whose manifest is not a ValidatingAdmissionPolicy or binding of
``admissionregistration.k8s.io/v1`` or ``v1beta1``: a log is never a way to create an
arbitrary object.
Imports nothing that does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sweeper.core.manifests import clean_manifest
from sweeper.core.settings import SettingsError, parse_duration

ADMISSION_GROUP = "admissionregistration.k8s.io"
RESTORABLE_VERSIONS = ("v1", "v1beta1")
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
# Policies first: a binding is inert (and its creation may be refused) without its policy.
KIND_ORDER = {POLICY_KIND: 0, BINDING_KIND: 1}
PLURALS = {
    POLICY_KIND: "validatingadmissionpolicies",
    BINDING_KIND: "validatingadmissionpolicybindings",
}
CONSTRAINTS_GROUP = "constraints.gatekeeper.sh"
TEMPLATES_GROUP = "templates.gatekeeper.sh"
TEMPLATE_KIND = "ConstraintTemplate"
SCHEMA_VERSION = 1  # the log schema this reader understands (report.SCHEMA_VERSION)

# What the API server owns and sets itself: a create must not carry it (uid and
# resourceVersion would be refused or ignored, status is written by the server).

# RFC 1123 subdomain: every name of a cluster-scoped object. Names from a log end up in
# request paths, so nothing else (no "/", no "..") is accepted.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_VERSION = re.compile(r"v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# `kubectl logs --prefix`: "[pod/name/container] ".
_KUBECTL_PREFIX = re.compile(r"\[[^\]\s]*\]\s+")
# `kubectl logs --timestamps` (RFC 3339, nanoseconds) and logcli's default (RFC 3339).
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\s+")
# logcli's default output puts the stream's label set between timestamp and line.
_LABEL_SET = re.compile(r'\{(\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*"([^"\\]|\\.)*"\s*,?)*\s*\}\s*')
_OWN_STDERR = "sweeper: "  # `kubectl logs` merges the sweeper's one-line stderr errors


class BadLine(ValueError):
    """An input line the restore refuses; the message is one line, without the location."""


class BadInput(ValueError):
    """A restore option or input that cannot be used; the message is one line."""


# --- the manifest -------------------------------------------------------------------------


def collection_path(api_version: str, kind: str) -> str:
    """The collection a VAP or VAPB of ``api_version`` is created in."""
    return f"/apis/{api_version}/{PLURALS[kind]}"


# --- reading lines ------------------------------------------------------------------------


def parse_line(text: str) -> dict[str, Any] | None:
    """The sweeper's JSON object in one captured line, or None for a line to skip.

    Reads a raw line (``kubectl logs``, ``logcli --output=raw``), a ``kubectl logs
    --timestamps`` or ``--prefix`` line, logcli's default output (timestamp, label set,
    line) and ``logcli --output=jsonl`` (the line as a string in ``line``). Blank lines and
    the sweeper's own ``sweeper: ...`` stderr lines are skipped; anything else raises
    ``BadLine``.
    """
    rest = _ANSI.sub("", text).strip()  # logcli colours its output on a terminal
    prefix = _KUBECTL_PREFIX.match(rest)
    rest = rest[prefix.end() :] if prefix else rest
    stamp = _TIMESTAMP.match(rest)
    if stamp:
        rest = rest[stamp.end() :]
        labels = _LABEL_SET.match(rest)
        rest = rest[labels.end() :] if labels else rest
    if not rest or rest.startswith(_OWN_STDERR):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        raise BadLine("not a JSON log line") from None
    if not isinstance(value, dict):
        raise BadLine("not a JSON object")
    inner = value.get("line")
    if "event" not in value and isinstance(inner, str):
        return parse_line(inner)  # logcli --output=jsonl
    return sweeper_fields(value)


def sweeper_fields(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` when it is one of the sweeper's log lines, else ``BadLine``."""
    if not all(isinstance(value.get(key), str) for key in ("sweep_id", "event")) or (
        "schema_version" not in value
    ):
        raise BadLine("not a sweeper log line (needs schema_version, sweep_id and event)")
    if value["schema_version"] != SCHEMA_VERSION:
        raise BadLine(f"schema_version {value['schema_version']!r} is not {SCHEMA_VERSION}")
    return value


# --- deleted events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deletion:
    """One ``deleted`` line worth restoring: which object, when, and its manifest."""

    kind: str
    name: str
    api_version: str
    time: datetime
    sweep_id: str
    origin: str  # "FILE:LINE", for messages
    manifest: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


def parse_time(text: Any) -> datetime:
    """An RFC 3339 time with a zone (``Z`` or an offset), as an aware datetime."""
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone (add Z or an offset)")
    return moment


def deletion(fields: Mapping[str, Any], origin: str) -> Deletion:
    """The restorable content of a ``deleted`` line, or ``BadLine`` saying what is wrong."""
    manifest = fields.get("manifest")
    if not isinstance(manifest, dict):
        raise BadLine(
            "deleted line has no manifest object (written by a sweeper that did not log "
            "manifests); leave it out with --name or --sweep-id"
        )
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    group, _, version = str(api_version).rpartition("/")
    known = isinstance(kind, str) and kind in PLURALS
    if not known or group != ADMISSION_GROUP or version not in RESTORABLE_VERSIONS:
        raise BadLine(
            f"refusing to create {api_version} {kind}: only ValidatingAdmissionPolicy and "
            f"ValidatingAdmissionPolicyBinding of {ADMISSION_GROUP}/v1 or v1beta1"
        )
    metadata = manifest.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or len(name) > 253 or not _NAME.fullmatch(name):
        raise BadLine(f"manifest has no valid metadata.name: {name!r}")
    if (fields.get("object_kind"), fields.get("object_name")) != (kind, name):
        raise BadLine(
            f"manifest {kind}/{name} does not match the line's "
            f"{fields.get('object_kind')}/{fields.get('object_name')}"
        )
    try:
        moment = parse_time(fields.get("time"))
    except ValueError as error:
        raise BadLine(str(error)) from None
    return Deletion(
        kind=kind,
        name=name,
        api_version=str(api_version),
        time=moment,
        sweep_id=str(fields["sweep_id"]),
        origin=origin,
        manifest=manifest,
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """Which ``deleted`` lines to restore; an empty filter selects everything."""

    sweep_ids: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def selects(self, fields: Mapping[str, Any]) -> bool:
        """Whether a sweeper line is a ``deleted`` event these filters select.

        Only the fields that filter are read here; ``deletion`` validates the rest.
        """
        if fields.get("event") != "deleted":
            return False
        if self.sweep_ids and fields.get("sweep_id") not in self.sweep_ids:
            return False
        if self.names and str(fields.get("object_name")) not in self.names:
            return False
        if self.since is None and self.until is None:
            return True
        try:
            moment = parse_time(fields.get("time"))
        except ValueError:
            return True  # selected, so that ``deletion`` reports the bad time
        return (self.since is None or moment >= self.since) and (
            self.until is None or moment <= self.until
        )


def parse_moment(text: str, *, now: datetime, option: str) -> datetime:
    """``--since``/``--until``: an RFC 3339 time, or a duration (``2h``) back from ``now``."""
    try:
        return parse_time(text.strip())
    except ValueError:
        pass
    try:
        return now - parse_duration(text)
    except SettingsError:
        raise BadInput(
            f"invalid {option} {text!r}: use an RFC 3339 time "
            "(2026-01-01T00:00:00Z) or a duration back from now (30m, 2h, 7d)"
        ) from None


def make_filters(
    *,
    sweep_ids: Iterable[str] = (),
    names: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    now: datetime,
) -> Filters:
    """Filters from the command line's values; ``BadInput`` for a bad time or range."""
    start = parse_moment(since, now=now, option="--since") if since else None
    end = parse_moment(until, now=now, option="--until") if until else None
    if start is not None and end is not None and start > end:
        raise BadInput("--since is later than --until: nothing could match")
    return Filters(frozenset(sweep_ids), frozenset(names), start, end)


def latest(deletions: Iterable[Deletion]) -> list[Deletion]:
    """One deletion per object (the latest; on a tie, the later line), policies first."""
    chosen: dict[tuple[str, str], Deletion] = {}
    for item in deletions:
        key = (item.kind, item.name)
        if key not in chosen or item.time >= chosen[key].time:
            chosen[key] = item
    return sorted(chosen.values(), key=lambda d: (KIND_ORDER[d.kind], d.name))


# --- owner references ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnerCheck:
    """One ownerReference of a manifest: where to read its owner, or why it cannot be kept."""

    index: int
    label: str  # "Kind/name"
    uid: str | None
    path: str | None  # the owner's GET path; None when the reference is dropped unread
    drop_reason: str | None


def owner_checks(manifest: Mapping[str, Any]) -> list[OwnerCheck]:
    """What to verify for each ownerReference before the manifest is created again.

    Only Gatekeeper owners can be verified: a constraint (its plural is lower(kind), as
    Gatekeeper names constraint CRDs) or a ConstraintTemplate. Any other owner is dropped.
    """
    metadata = manifest.get("metadata")
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    checks = []
    for index, ref in enumerate(refs if isinstance(refs, list) else []):
        ref = ref if isinstance(ref, dict) else {}
        kind, name, uid = ref.get("kind"), ref.get("name"), ref.get("uid")
        label = f"{kind}/{name}"
        group, _, version = str(ref.get("apiVersion")).rpartition("/")
        path, reason = None, None
        if not (isinstance(kind, str) and _KIND.fullmatch(kind)) or not (
            isinstance(name, str) and _NAME.fullmatch(name) and isinstance(uid, str)
        ):
            reason = "malformed ownerReference"
        elif group == TEMPLATES_GROUP and kind == TEMPLATE_KIND:
            path = f"/apis/{TEMPLATES_GROUP}/v1/constrainttemplates/{name}"
        elif group == CONSTRAINTS_GROUP and _VERSION.fullmatch(version):
            path = f"/apis/{CONSTRAINTS_GROUP}/{version}/{kind.lower()}/{name}"
        else:
            reason = "not a Gatekeeper owner, so it cannot be verified"
        checks.append(OwnerCheck(index, label, uid if isinstance(uid, str) else None, path, reason))
    return checks


def owner_drop_reason(check: OwnerCheck, current: Mapping[str, Any] | None) -> str | None:
    """Why a reference must go, given its owner as read now (None: absent); None keeps it.

    A reference to an owner that is gone, or that was re-created with another uid, would
    have the garbage collector delete the restored object again.
    """
    if current is None:
        return "owner not found"
    metadata = current.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    if uid != check.uid:
        return f"owner re-created with another uid ({uid})"
    return None


def creation_body(manifest: Mapping[str, Any], *, drop: Iterable[int]) -> dict[str, Any]:
    """The create request's body: the cleaned manifest minus the dropped ownerReferences."""
    body = clean_manifest(manifest)
    dropped = set(drop)
    metadata = body.get("metadata")
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    if isinstance(refs, list) and dropped:
        kept = [ref for index, ref in enumerate(refs) if index not in dropped]
        if kept:
            metadata["ownerReferences"] = kept  # type: ignore[index]
        else:
            del metadata["ownerReferences"]  # type: ignore[attr-defined]
    return body
