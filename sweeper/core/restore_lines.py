"""What ``sweeper restore`` reads: pure functions, no I/O.

Contract: turns lines of text (the sweeper's JSON log in every form an operator can capture
it, or the records the sweep writes in the cluster) into the deletions to restore: the
``deleting`` and ``deleted`` events, one per object, keyed by ``(cluster_uid, uid)``. It
refuses, with one line naming the input line, anything that is not the sweeper's own log,
longer than ``ledger.MAX_LINE_CHARS``, nested too deeply, dated in the future, of another
cluster, of a reason that never deletes, two different manifests for one object, or a
manifest the sweeper could not have deleted (``restorable.refusal``): a log is never a way
to create an arbitrary object. Imports nothing that does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sweeper.core.ledger import MAX_LINE_CHARS, MAX_MANIFEST_CHARS, manifest_size
from sweeper.core.reasons import DELETE_REASONS
from sweeper.core.restorable import refusal
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
SCHEMA_VERSION = 1  # the log schema this reader understands (report.SCHEMA_VERSION)
RESTORABLE_EVENTS = ("deleting", "deleted")  # both carry the manifest; deleting comes first
# A clock ahead of the sweeper's by more than this is a forged or broken line.
MAX_CLOCK_SKEW = timedelta(minutes=5)

# RFC 1123 subdomain: every name of a cluster-scoped object. Names from a log end up in
# request paths, so nothing else (no "/", no "..") is accepted.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
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
    if len(text) > MAX_LINE_CHARS:
        raise BadLine(f"line longer than {MAX_LINE_CHARS} characters")
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
    except RecursionError:
        raise BadLine("JSON nested too deeply") from None
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
    """One ``deleting`` or ``deleted`` line (or record) worth restoring: which object of
    which cluster, when, why, and its manifest."""

    kind: str
    name: str
    api_version: str
    time: datetime
    sweep_id: str
    origin: str  # "FILE:LINE", for messages
    manifest: dict[str, Any]
    uid: str = ""  # of the deleted object
    cluster_uid: str | None = None  # of the cluster it was deleted from
    reason: str = ""

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
    """The restorable content of a ``deleting``/``deleted`` line, or ``BadLine`` saying
    what is wrong. The cluster is checked later (``foreign``): it needs the target's uid."""
    manifest = fields.get("manifest")
    if not isinstance(manifest, dict):
        raise BadLine(
            "deleted line has no manifest object (written by a sweeper that did not log "
            "manifests); leave it out with --name or --sweep-id"
        )
    if manifest_size(manifest) > MAX_MANIFEST_CHARS:
        raise BadLine(f"manifest larger than {MAX_MANIFEST_CHARS} bytes")
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
    reason, uid, cluster_uid = (fields.get(k) for k in ("reason", "object_uid", "cluster_uid"))
    if reason not in {r.value for r in DELETE_REASONS}:
        raise BadLine(f"reason {reason!r} is not one the sweeper deletes for")
    if not isinstance(uid, str) or not uid:
        raise BadLine("line has no object_uid")
    if cluster_uid is not None and not isinstance(cluster_uid, str):
        raise BadLine("cluster_uid is not a string")
    refused = refusal(manifest)
    if refused is not None:
        raise BadLine(refused)
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
        uid=uid,
        cluster_uid=cluster_uid,
        reason=str(reason),
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """Which ``deleting``/``deleted`` lines to restore; an empty filter selects everything."""

    sweep_ids: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    reasons: frozenset[str] = frozenset()

    def selects(self, fields: Mapping[str, Any]) -> bool:
        """Whether a sweeper line is a restorable event these filters select.

        Only the fields that filter are read here; ``deletion`` validates the rest.
        """
        if fields.get("event") not in RESTORABLE_EVENTS:
            return False
        if self.sweep_ids and fields.get("sweep_id") not in self.sweep_ids:
            return False
        if self.names and str(fields.get("object_name")) not in self.names:
            return False
        if self.reasons and str(fields.get("reason")) not in self.reasons:
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
    reasons: Iterable[str] = (),
    now: datetime,
) -> Filters:
    """Filters from the command line's values; ``BadInput`` for a bad time, range or reason."""
    start = parse_moment(since, now=now, option="--since") if since else None
    end = parse_moment(until, now=now, option="--until") if until else None
    if start is not None and end is not None and start > end:
        raise BadInput("--since is later than --until: nothing could match")
    known = {reason.value for reason in DELETE_REASONS}
    unknown = sorted(set(reasons) - known)
    if unknown:
        raise BadInput(f"invalid --reason {unknown[0]!r}: choose from {', '.join(sorted(known))}")
    return Filters(frozenset(sweep_ids), frozenset(names), start, end, frozenset(reasons))


def resolve(
    deletions: Iterable[Deletion], *, now: datetime | None = None
) -> tuple[list[Deletion], list[str]]:
    """One deletion per object name, policies first, and an error per refused line.

    Lines of one object, ``(cluster_uid, uid)``, agree or are refused: two different
    manifests for the same object are not guessed between. Of several objects (uids) that
    had one name, the latest deletion wins; a line dated in the future is refused, so a
    forged date cannot win.
    """
    errors: list[str] = []
    by_object: dict[tuple[str | None, str], list[Deletion]] = {}
    for item in deletions:
        if now is not None and item.time > now + MAX_CLOCK_SKEW:
            errors.append(f"{item.origin}: dated {item.time.isoformat()}, in the future")
            continue
        by_object.setdefault((item.cluster_uid, item.uid), []).append(item)
    chosen: dict[tuple[str | None, str, str], Deletion] = {}
    for lines in by_object.values():
        if any(line.manifest != lines[0].manifest for line in lines[1:]):
            origins = ", ".join(line.origin for line in lines)
            errors.append(
                f"{lines[0].origin}: {lines[0].kind}/{lines[0].name} (uid {lines[0].uid}) has "
                f"different manifests in {origins}; pick one with --sweep-id"
            )
            continue
        item = max(lines, key=lambda line: line.time)
        key = (item.cluster_uid, item.kind, item.name)
        if key not in chosen or item.time >= chosen[key].time:
            chosen[key] = item
    ordered = sorted(chosen.values(), key=lambda d: (KIND_ORDER[d.kind], d.name))
    return ordered, errors


def foreign(deletions: Iterable[Deletion], *, cluster_uid: str) -> list[str]:
    """An error per deletion that is not of the cluster ``cluster_uid`` (the target's,
    or the one ``--cluster-uid`` names on purpose)."""
    errors = []
    for item in deletions:
        if item.cluster_uid is None:
            errors.append(
                f"{item.origin}: {item.label} has no cluster_uid (written by an older "
                "sweeper, or forged); it cannot be told to be of this cluster"
            )
        elif item.cluster_uid != cluster_uid:
            errors.append(
                f"{item.origin}: {item.label} was deleted from cluster {item.cluster_uid}, "
                f"not this one ({cluster_uid}); --cluster-uid {item.cluster_uid} restores it "
                "here on purpose"
            )
    return errors
