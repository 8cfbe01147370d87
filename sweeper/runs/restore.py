"""``sweeper restore``: create again the objects the sweeper's own ``deleted`` lines carry.

Contract: reads every input line before it writes anything, and writes nothing when one of
them is not the sweeper's or a selected one cannot be restored (exit 2). Then, policies
before bindings, it reads each object's Gatekeeper owners and POSTs the cleaned manifest,
keeping an ownerReference only when its owner exists now with that uid. It never
overwrites: a create answered 409 AlreadyExists is reported ``exists``. One JSON line per
object and one ``restore_summary`` go to stdout; bad input is one line each on stderr.
The decisions live in ``restore_lines``; this module is the I/O shell around them.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from sweeper.cluster.kube import KubeClient
from sweeper.cluster.retry import Retrier
from sweeper.core.errors import AlreadyExists, ApiError, SweepAborted, one_line
from sweeper.core.reasons import ExitCode
from sweeper.core.restore_lines import (
    BadInput,
    BadLine,
    Deletion,
    Filters,
    collection_path,
    creation_body,
    deletion,
    latest,
    make_filters,
    owner_checks,
    owner_drop_reason,
    parse_line,
)
from sweeper.core.settings import ClusterAccess

SCHEMA_VERSION = 1
MAX_REPORTED_BAD_LINES = 20  # a binary file must not flood stderr
RESTORED, EXISTS, FAILED = "restored", "exists", "restore_failed"
WOULD_RESTORE = "would_restore"  # the line of a RESTORED outcome in a dry run
_FORBIDDEN_HINT = (
    "restore needs create on validatingadmissionpolicies and validatingadmissionpolicybindings:"
    " run it with an operator's credentials (the CronJob's ClusterRole lacks it on purpose)"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one selected object."""

    event: str  # RESTORED, EXISTS or FAILED
    deletion: Deletion
    dropped: tuple[str, ...] = ()  # "Kind/name: reason" of each ownerReference left out
    uid: str | None = None  # of the object created
    error: str | None = None


@dataclass
class Selection:
    """What the input held: the deletions to restore and every line that was refused."""

    deletions: list[Deletion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: why", one per bad line
    sweeper_lines: int = 0
    deleted_lines: int = 0


class RestoreLog:
    """Writes the restore's lines: JSON in the shape of the sweep's (``report.Reporter``),
    or, with ``human``, one aligned line per object and a closing paragraph."""

    def __init__(
        self,
        stream: TextIO,
        *,
        restore_id: str,
        now: Callable[[], datetime],
        human: bool = False,
    ) -> None:
        self.restore_id = restore_id
        self._stream = stream
        self._now = now
        self._human = human

    def line(self, event: str, message: str, *, level: str = "info", **fields: Any) -> None:
        if self._human:
            self._stream.write(human_line(event, message, fields) + "\n")
            self._stream.flush()
            return
        record = {
            "time": stamp(self._now()),
            "level": level,
            "msg": message,
            "restore_id": self.restore_id,
            "schema_version": SCHEMA_VERSION,
            "event": event,
            **fields,
        }
        self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._stream.flush()

    def outcome(self, outcome: Outcome, *, dry_run: bool) -> None:
        item = outcome.deletion
        fields: dict[str, Any] = {
            "object_kind": item.kind,
            "object_name": item.name,
            "dry_run": dry_run,
            "owner_references_dropped": list(outcome.dropped),
            "source_sweep_id": item.sweep_id,
            "deleted_at": stamp(item.time),
        }
        if outcome.uid:
            fields["object_uid"] = outcome.uid
        if outcome.error:
            fields["error"] = outcome.error
        event = outcome.event
        message, level = _MESSAGES[event]
        if event == RESTORED and dry_run:
            # A dry run stores nothing: its lines must not read as if something came back.
            event, message = WOULD_RESTORE, "would be restored (dry run: nothing stored)"
        if outcome.event == RESTORED and outcome.dropped:
            message, level = f"{message}, without the ownerReferences of absent owners", "warning"
        self.line(event, message, level=level, **fields)


_SHORT_KINDS = {"ValidatingAdmissionPolicyBinding": "vapb", "ValidatingAdmissionPolicy": "vap"}
_HUMAN_EVENTS = {WOULD_RESTORE: "would restore", FAILED: "failed"}


def human_line(event: str, message: str, fields: Mapping[str, Any]) -> str:
    """One restore line for people: the outcome and the object, or the closing paragraph."""
    if event == "restore_summary":
        return restore_paragraph(fields)
    kind = _SHORT_KINDS.get(fields.get("object_kind", ""), fields.get("object_kind", "?"))
    text = f"{_HUMAN_EVENTS.get(event, event):<14} {kind}/{fields.get('object_name')}"
    dropped = fields.get("owner_references_dropped") or []
    if dropped:
        text += f"  (ownerReferences dropped: {'; '.join(dropped)})"
    if fields.get("error"):
        text += f"  ({fields['error']})"
    elif event == EXISTS:
        text += f"  ({message})"
    return text


def restore_paragraph(summary: Mapping[str, Any]) -> str:
    """The ``restore_summary`` fields as one paragraph ending with the exit code."""
    code = summary["exit_code"]
    meaning = ExitCode(code).meaning if code in set(ExitCode) else "unknown"
    error = summary.get("error")
    verdict = f"Exit code {code} ({meaning})" + (f": {error}." if error else ".")
    seconds = f"{summary.get('duration_ms', 0) / 1000:.1f}s"
    if summary["dry_run"]:
        head = f"Dry run of the restore (nothing stored) finished in {seconds}: "
        done = f"{summary.get('would_restore', 0)} would be restored"
    else:
        head = f"Restore finished in {seconds}: "
        done = f"{summary['restored']} restored"
    return (
        f"{head}{summary.get('selected', 0)} selected, {done}, {summary['exists']} already "
        f"existed (left alone), {summary['failed']} failed. {verdict}"
    )


def stamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as every sweeper line's ``time``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_MESSAGES = {
    RESTORED: ("restored", "info"),
    EXISTS: ("an object of that name exists; left alone", "info"),
    FAILED: ("could not be restored", "error"),
}


# --- reading ------------------------------------------------------------------------------


def select(sources: Iterable[tuple[str, Iterable[str]]], filters: Filters) -> Selection:
    """Read every line of every source; keep the selected deletions, note each bad line."""
    found = Selection()
    chosen: list[Deletion] = []
    for name, lines in sources:
        for number, text in enumerate(lines, start=1):
            origin = f"{name}:{number}"
            try:
                fields = parse_line(text)
                if fields is None:
                    continue
                found.sweeper_lines += 1
                if fields.get("event") == "deleted":
                    found.deleted_lines += 1
                if filters.selects(fields):
                    chosen.append(deletion(fields, origin))
            except BadLine as error:
                found.errors.append(f"{origin}: {error}")
    found.deletions = latest(chosen)
    return found


def read_sources(paths: Iterable[str], filters: Filters, *, stdin: TextIO) -> Selection:
    """``select`` over files (``-`` is stdin); ``BadInput`` naming a file that cannot be read."""
    handles: list[tuple[str, TextIO]] = []
    try:
        for path in paths:
            if path == "-":
                handles.append(("<stdin>", stdin))
                continue
            try:
                handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
            except OSError as error:
                raise BadInput(f"cannot read {path}: {error.strerror or error}") from None
            handles.append((path, handle))
        try:
            return select(handles, filters)
        except OSError as error:  # a read failing midway (a directory, an I/O error)
            raise BadInput(f"cannot read input: {error.strerror or error}") from None
    finally:
        for name, handle in handles:
            if name != "<stdin>":
                handle.close()


# --- restoring ----------------------------------------------------------------------------


def restore_one(client: KubeClient, item: Deletion, *, dry_run: bool) -> Outcome:
    """Verify the owners of one deleted object, then create it (never overwriting)."""
    dropped: list[str] = []
    drop: list[int] = []
    for check in owner_checks(item.manifest):
        reason = check.drop_reason
        if reason is None and check.path is not None:
            try:
                reason = owner_drop_reason(check, client.get(check.path))
            except ApiError as error:
                # A 404 that does not name the owner: its kind (constraint CRD) is not
                # served, so the owner cannot exist. Any doubt drops the reference too:
                # keeping it needs proof, or the garbage collector deletes the object again.
                reason = (
                    "owner kind not served"
                    if error.status == 404
                    else f"owner could not be read ({one_line(error)})"
                )
        if reason is not None:
            drop.append(check.index)
            dropped.append(f"{check.label}: {reason}")
    body = creation_body(item.manifest, drop=drop)
    path = collection_path(item.api_version, item.kind)
    try:
        created = client.create(path, body, dry_run=dry_run)
    except AlreadyExists:
        return Outcome(EXISTS, item, tuple(dropped))
    except ApiError as error:
        text = one_line(error)
        if error.status == 403:
            text = f"{text}; {_FORBIDDEN_HINT}"
        return Outcome(FAILED, item, tuple(dropped), error=text)
    metadata = created.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    # A dry run's answer carries a uid too, of an object that does not exist: not logged.
    kept_uid = uid if isinstance(uid, str) and not dry_run else None
    return Outcome(RESTORED, item, tuple(dropped), uid=kept_uid)


@dataclass(frozen=True, slots=True)
class RestoreRequest:
    """What to read and how to restore it."""

    paths: tuple[str, ...]
    filters: Filters
    dry_run: bool = False
    output: str = "json"  # or "table": lines for people


def run_restore(
    request: RestoreRequest,
    *,
    connect: Callable[[], KubeClient],
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    now: Callable[[], datetime],
    monotonic: Callable[[], float] = time.monotonic,
    restore_id: str | None = None,
) -> int:
    """Read, restore, report; the exit code (0 all restored or exist, 1 some failed, 2 bad
    input). Nothing is written to the cluster unless every input line was usable."""
    started = monotonic()
    log = RestoreLog(
        out,
        restore_id=restore_id or uuid.uuid4().hex[:12],
        now=now,
        human=request.output == "table",
    )
    outcomes: list[Outcome] = []

    def finish(code: int, error: str | None = None, *, selected: int = 0) -> int:
        if error:
            err.write(f"sweeper: error: {error}\n")
        summary = summary_fields(outcomes, dry_run=request.dry_run, exit_code=code)
        summary.update(
            selected=selected,
            not_attempted=selected - len(outcomes),
            duration_ms=int((monotonic() - started) * 1000),
        )
        if error:
            summary["error"] = error
        level = "info" if code == ExitCode.OK else "error"
        log.line("restore_summary", "restore finished", level=level, **summary)
        return code

    try:
        selection = read_sources(request.paths, request.filters, stdin=stdin)
    except BadInput as error:
        return finish(ExitCode.USAGE, str(error))
    refused = _refusal(selection, err)
    if refused is not None:
        return finish(ExitCode.USAGE, refused)
    from sweeper.cluster.kubeconfig import ConfigError

    try:
        client = connect()
    except ConfigError as error:
        return finish(ExitCode.USAGE, str(error))
    selected = len(selection.deletions)
    for item in selection.deletions:
        try:
            outcome = restore_one(client, item, dry_run=request.dry_run)
        except SweepAborted as error:
            return finish(ExitCode.DELETE_FAILED, str(error), selected=selected)
        outcomes.append(outcome)
        log.outcome(outcome, dry_run=request.dry_run)
    if any(o.event == FAILED for o in outcomes):
        failed = "some objects could not be restored; see the restore_failed lines"
        return finish(ExitCode.DELETE_FAILED, failed, selected=selected)
    return finish(ExitCode.OK, selected=selected)


def _refusal(selection: Selection, err: TextIO) -> str | None:
    """Why the input cannot be restored (each refused line on ``err``), or None when it can."""
    if selection.errors:
        for line in selection.errors[:MAX_REPORTED_BAD_LINES]:
            err.write(f"sweeper: error: {line}\n")
        more = len(selection.errors) - MAX_REPORTED_BAD_LINES
        if more > 0:
            err.write(f"sweeper: error: ... and {more} more lines like these\n")
        return f"{len(selection.errors)} input lines refused; nothing restored"
    if not selection.deletions:
        return (
            f"no deleted lines matched ({selection.sweeper_lines} sweeper lines read, "
            f"{selection.deleted_lines} of them deleted lines before the filters)"
        )
    return None


def summary_fields(outcomes: Iterable[Outcome], *, dry_run: bool, exit_code: int) -> dict[str, Any]:
    """The outcome counts of the ``restore_summary`` line."""
    done = list(outcomes)
    created = sum(o.event == RESTORED for o in done)
    return {
        "exit_code": int(exit_code),
        "dry_run": dry_run,
        "restored": 0 if dry_run else created,
        "would_restore": created if dry_run else 0,
        "exists": sum(o.event == EXISTS for o in done),
        "failed": sum(o.event == FAILED for o in done),
        "owner_references_dropped_count": sum(len(o.dropped) for o in done if o.event == RESTORED),
    }


# --- the command --------------------------------------------------------------------------


def connect(
    access: ClusterAccess,
    *,
    environ: Mapping[str, str] | None = None,
    retrier: Retrier | None = None,
) -> KubeClient:
    """A client for the restore: the sweep's configuration loading and retry policy."""
    from kubernetes.client import ApiClient

    from sweeper.cluster.kubeconfig import load_configuration

    configuration = load_configuration(access, environ)
    return KubeClient(ApiClient(configuration), access=access, retrier=retrier)


def restore_command(paths: tuple[str, ...], options: Mapping[str, Any]) -> int:
    """``sweeper restore`` with the CLI's parsed options; the exit code."""
    now = datetime.now(UTC)
    try:
        filters = make_filters(
            sweep_ids=options.get("sweep_id") or (),
            names=options.get("name") or (),
            since=options.get("since"),
            until=options.get("until"),
            now=now,
        )
    except BadInput as error:
        sys.stderr.write(f"sweeper: error: {error}\n")
        return ExitCode.USAGE
    if options["request_timeout"].total_seconds() <= 0:
        sys.stderr.write("sweeper: error: --request-timeout must be greater than 0\n")
        return ExitCode.USAGE
    access = ClusterAccess(
        kubeconfig=options.get("kubeconfig"),
        context=options.get("context"),
        request_timeout=options["request_timeout"].total_seconds(),
        insecure_skip_tls_verify=bool(options.get("insecure_skip_tls_verify")),
    )
    if access.insecure_skip_tls_verify:
        sys.stderr.write("sweeper: warning: TLS verification is off (--insecure-skip-tls-verify)\n")
    request = RestoreRequest(
        paths,
        filters,
        dry_run=bool(options.get("dry_run")),
        output="table" if options.get("output") == "table" else "json",  # resolved by the CLI
    )
    return run_restore(
        request,
        connect=lambda: connect(access),
        out=sys.stdout,
        err=sys.stderr,
        stdin=sys.stdin,
        now=lambda: datetime.now(UTC),
    )
