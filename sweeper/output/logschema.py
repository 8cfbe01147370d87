"""The JSON log schema: every event, and every field each one carries, with its type.

The single source of truth for ``docs/logging.md``: a test checks that the document's tables
list exactly these events, fields and types, and every line the test suite produces is
validated here, so neither the code nor the docs can drift. Loki practice: flat snake_case
fields, counts as numbers, object names in the body (never stream labels).
Bump ``report.SCHEMA_VERSION`` when a field is renamed, removed or changes type.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeper.core.reasons import DELETE_REASONS
from sweeper.core.summary import OPTIONAL_FIELDS, Summary, snake
from sweeper.output.report import LEVELS, SCHEMA_VERSION

# Type names as written in the docs.
STRING, INTEGER, NUMBER, BOOLEAN = "string", "integer", "number", "boolean"
STRINGS, NULLABLE_STRING, NULLABLE_BOOLEAN = "string[]", "string|null", "boolean|null"
OBJECT = "object"
TYPES = (STRING, INTEGER, NUMBER, BOOLEAN, STRINGS, NULLABLE_STRING, NULLABLE_BOOLEAN, OBJECT)

# On every line; `cluster` only with --cluster-name; `cluster_uid` on every line from the
# moment the cluster's identity is read (all but the lines of a sweep that could not read it).
COMMON_REQUIRED = {
    "time": STRING,
    "level": STRING,
    "msg": STRING,
    "event": STRING,
    "sweep_id": STRING,
    "schema_version": INTEGER,
}
COMMON_OPTIONAL = {"cluster": STRING, "cluster_uid": STRING}

# On every per-object line; owner fields only when the object has an owner.
OBJECT_REQUIRED = {
    "object_kind": STRING,
    "object_name": STRING,
    "object_uid": STRING,
    "reason": STRING,
    "detail": STRING,
}
OBJECT_OPTIONAL = {
    "owner_kind": STRING,
    "owner_name": STRING,
    "template": STRING,
    "object_created": STRING,
}

# Python annotations of ``Summary`` fields, as the docs write their types.
_ANNOTATION_TYPES = {"int": INTEGER, "bool": BOOLEAN, "str": STRING, "str | None": NULLABLE_STRING}


def summary_fields() -> tuple[dict[str, str], dict[str, str]]:
    """(required, optional) fields of ``sweep_summary``, derived from ``Summary`` itself."""
    required: dict[str, str] = {}
    optional: dict[str, str] = {}
    for spec in dataclasses.fields(Summary):
        if spec.name == "candidates_by_reason":
            required.update({f"candidates_{snake(r)}": INTEGER for r in sorted(DELETE_REASONS)})
        elif spec.name in OPTIONAL_FIELDS:
            # Written only when set, so never null: the plain type.
            optional[spec.name] = _ANNOTATION_TYPES[str(spec.type).removesuffix(" | None")]
        else:
            required[spec.name] = _ANNOTATION_TYPES[str(spec.type)]
    return required, optional


_SUMMARY_REQUIRED, _SUMMARY_OPTIONAL = summary_fields()


@dataclass(frozen=True)
class EventSchema:
    """One ``event`` value: when it is written and the fields it adds to the common ones."""

    when: str
    required: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)

    def fields(self) -> dict[str, tuple[str, bool]]:
        """Every field of this event's lines (common ones included): name -> (type, required)."""
        out = {name: (kind, False) for name, kind in {**COMMON_OPTIONAL, **self.optional}.items()}
        out.update({n: (k, True) for n, k in {**COMMON_REQUIRED, **self.required}.items()})
        return out


def _object_event(when: str, **extra: str) -> EventSchema:
    return EventSchema(when, {**OBJECT_REQUIRED, **extra}, OBJECT_OPTIONAL)


EVENTS: dict[str, EventSchema] = {
    "sweep_started": EventSchema(
        "first line of every sweep",
        {
            "dry_run": BOOLEAN,
            "min_age_seconds": INTEGER,
            "reasons": STRINGS,
            "exclude": STRINGS,
            "insecure_skip_tls_verify": BOOLEAN,
            "output": STRING,
            "output_requested": STRING,
        },
    ),
    "tls_verify_off": EventSchema("after sweep_started, with --insecure-skip-tls-verify"),
    "gatekeeper_observed": EventSchema(
        "before the lists: what the sweep assumes about the running Gatekeeper",
        {
            "namespace": STRING,
            "deployments": STRINGS,
            "generators": STRINGS,
            "version": NULLABLE_STRING,
            "vap_default": BOOLEAN,
            "vapb_default": BOOLEAN,
            "vap_default_source": STRING,
            "vapb_default_source": STRING,
            "reconciling": NULLABLE_BOOLEAN,
            "rollout": NULLABLE_STRING,
            "remote_cluster": STRINGS,
        },
        {"problem": STRING, "cause": STRING, "version_unknown": STRING, "unmodelled": STRING},
    ),
    "gatekeeper_not_observed": EventSchema(
        "the sweep fell back to the safe side about Gatekeeper; `cause` says why",
        {"cause": STRING},
    ),
    "gatekeeper_idle": EventSchema(
        "Gatekeeper's CRDs exist but no running container generates VAPs and VAPBs"
    ),
    "nothing_to_do": EventSchema("the cluster serves no ValidatingAdmissionPolicy API"),
    "list_failed": EventSchema(
        "a LIST failed or was cut short; what it covers stays undecided",
        {"path": STRING, "error": STRING},
    ),
    "request_retried": EventSchema(
        "a request failed and will be tried again after a wait",
        {
            "verb": STRING,
            "path": STRING,
            "attempt": INTEGER,
            "cause": STRING,
            "wait_seconds": NUMBER,
        },
    ),
    "request_waiting": EventSchema(
        "a request has had no answer for 10 s; once per request",
        {"verb": STRING, "path": STRING, "waited_seconds": NUMBER, "timeout_seconds": NUMBER},
    ),
    "request_sent": EventSchema(
        "--log-level debug: a request ended (answered or not)",
        {"verb": STRING, "path": STRING, "duration_ms": NUMBER},
        {"status": INTEGER, "page": INTEGER, "error": STRING},
    ),
    "deleting": _object_event(
        "written and flushed right before a DELETE is sent, after its record",
        manifest=OBJECT,
        record=STRINGS,
    ),
    "record_failed": _object_event(
        "the write-ahead record could not be written: the object is not deleted (exit 1)",
        error=STRING,
    ),
    "deleted": _object_event("an object was deleted", manifest=OBJECT),
    "would_delete": _object_event(
        "--dry-run: an object would be deleted", recheck=STRING, manifest=OBJECT
    ),
    "already_gone": EventSchema(
        "the object was gone before or after a DELETE that answered 404, 429 or 503",
        OBJECT_REQUIRED,
        {**OBJECT_OPTIONAL, "manifest": OBJECT},
    ),
    "conflict": _object_event("the DELETE answered 409: the object changed; left alone"),
    "delete_failed": _object_event("the DELETE failed for good (after retries)", error=STRING),
    "owner_back": _object_event("the re-read before DELETE found the owner wants it again"),
    "undecided": _object_event("the object cannot be decided (failed list, bad object)"),
    "too_young": _object_event("a candidate younger than --min-age"),
    "excluded": _object_event("a candidate kept by the skip annotation or --exclude"),
    "restored": _object_event(
        "a candidate put back by sweeper restore: held until its restored-at annotation goes",
        restored_at=STRING,
    ),
    "reported": _object_event("kept but worth a look: an anomaly, or a reason not selected"),
    "interrupted": _object_event("the sweep stopped (signal, --timeout) before this object"),
    "guard_tripped": EventSchema(
        "more deletions planned than a guard allows; nothing deleted (exit 3)",
        {
            "limit": STRING,
            "limit_value": NUMBER,
            "candidate_count": INTEGER,
            "candidates": STRINGS,
        },
    ),
    "kube_events_failed": EventSchema(
        "--events: creating a Kubernetes Event failed; the rest are not sent",
        {"error": STRING},
        {"events_sent": INTEGER, "events_not_sent": INTEGER},
    ),
    "records_pruned": EventSchema(
        "records older than --record-retention were deleted",
        {"namespace": STRING, "pruned": INTEGER, "retention_seconds": INTEGER},
    ),
    "record_prune_failed": EventSchema(
        "old records could not be listed or deleted; kept, the exit code is unchanged",
        {"namespace": STRING, "error": STRING},
    ),
    "metrics_push_failed": EventSchema("--pushgateway-url: the push failed", {"error": STRING}),
    "notify_failed": EventSchema(
        "--notify-url: the notification failed (the URL is never logged)", {"error": STRING}
    ),
    "sweep_summary": EventSchema(
        "last line of every sweep, exactly once", _SUMMARY_REQUIRED, _SUMMARY_OPTIONAL
    ),
    "fleet_summary": EventSchema(
        "fleet mode: last line of the run, after every cluster's sweep_summary",
        {
            "exit_code": INTEGER,
            "dry_run": BOOLEAN,
            "duration_ms": INTEGER,
            "clusters": INTEGER,
            **{f"clusters_exit_{code}": INTEGER for code in range(5)},
            "failed_clusters": STRINGS,
            "listed_bindings": INTEGER,
            "listed_policies": INTEGER,
            "candidates": INTEGER,
            "deleted": INTEGER,
            "would_delete": INTEGER,
            "failed": INTEGER,
            "undecided": INTEGER,
        },
    ),
}

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def type_ok(kind: str, value: Any) -> bool:
    """Whether ``value`` (parsed from JSON) has the documented type ``kind``."""
    if kind == STRING:
        return isinstance(value, str)
    if kind == NULLABLE_STRING:
        return value is None or isinstance(value, str)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == NULLABLE_BOOLEAN:
        return value is None or isinstance(value, bool)
    if kind == OBJECT:
        return isinstance(value, dict)
    if kind == STRINGS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise ValueError(f"unknown type {kind!r}")


def problems(line: Mapping[str, Any]) -> list[str]:
    """Every way one parsed log line departs from the schema; empty when it conforms."""
    name = line.get("event")
    schema = EVENTS.get(name) if isinstance(name, str) else None
    if schema is None:
        return [f"undocumented event {name!r}"]
    found = []
    fields = schema.fields()
    for key, value in line.items():
        if key not in fields:
            found.append(f"{name}: undocumented field {key!r}")
        elif not type_ok(fields[key][0], value):
            found.append(f"{name}: {key}={value!r} is not {fields[key][0]}")
    found += [
        f"{name}: missing {key!r}" for key, (_, req) in fields.items() if req and key not in line
    ]
    if line.get("schema_version") != SCHEMA_VERSION:
        found.append(f"{name}: schema_version is not {SCHEMA_VERSION}")
    if line.get("level") not in LEVELS:
        found.append(f"{name}: level {line.get('level')!r} is not one of {LEVELS}")
    if isinstance(line.get("time"), str) and not _TIME.fullmatch(line["time"]):
        found.append(f"{name}: time {line['time']!r} is not RFC 3339 UTC with milliseconds")
    return found


def check(line: Mapping[str, Any]) -> None:
    """Raise ``AssertionError`` naming every problem of a line that breaks the schema."""
    found = problems(line)
    if found:
        raise AssertionError("log line breaks docs/logging.md: " + "; ".join(found))
