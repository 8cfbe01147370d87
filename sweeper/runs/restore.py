"""``sweeper restore``: create again what the sweeper deleted, from its log or its records.

Contract: reads every input line (a log file, or with ``--from-cluster`` the record
ConfigMaps) before it writes anything, and writes nothing when one selected line is not the
sweeper's, not of the target cluster (``cluster_uid``, unless ``--cluster-uid`` names its
cluster on purpose), not an object the sweeper could have deleted, or contradicts another
line about the same object (exit 2). The cluster is read once first: an unreachable one
fails fast (exit 4), never once per object. Then, policies before bindings, it reads each
object's Gatekeeper owners and POSTs the cleaned manifest with the ``restored-at`` annotation
(later sweeps hold it), keeping an ownerReference only when its owner exists now with that
uid. It never overwrites: a name taken is ``exists``, unless the object there carries this
restore's id (a POST whose answer was lost: ``restored``). ``--dry-run`` logs exactly what
would be sent (``would_restore``). The decisions live in ``restore_lines`` and
``restorable``; this module is the I/O shell around them.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sweeper.cluster.kube import KubeClient
from sweeper.cluster.ledger import read_cluster_uid
from sweeper.cluster.retry import Retrier
from sweeper.core.errors import AlreadyExists, ApiError, SweepAborted, one_line
from sweeper.core.reasons import ExitCode
from sweeper.core.restorable import creation_body, owner_checks, owner_drop_reason, restored_by
from sweeper.core.restore_lines import (
    BadInput,
    Deletion,
    Filters,
    collection_path,
    foreign,
    make_filters,
    resolve,
)
from sweeper.core.settings import ClusterAccess
from sweeper.output.notices import SERVICEACCOUNT_NAMESPACE_FILE, events_namespace
from sweeper.output.report import stamp
from sweeper.output.restore_log import (
    EXISTS,
    FAILED,
    RESTORED,
    WOULD_RESTORE,
    Outcome,
    RestoreLog,
    summary_fields,
)
from sweeper.runs.restore_input import Selection, read_records, read_sources

__all__ = ["EXISTS", "FAILED", "RESTORED", "WOULD_RESTORE", "RestoreRequest", "run_restore"]

MAX_REPORTED_BAD_LINES = 20  # a binary file must not flood stderr
DEFAULT_RECORD_NAMESPACE = "gatekeeper-sweeper"
_FORBIDDEN_HINT = (
    "restore needs create on validatingadmissionpolicies and validatingadmissionpolicybindings:"
    " run it with an operator's credentials (the CronJob's ClusterRole lacks it on purpose)"
)


class Unreachable(Exception):
    """No answer from the cluster: the restore stops (exit 4) instead of failing per object."""


# --- restoring ----------------------------------------------------------------------------


def _unreachable(error: ApiError) -> bool:
    return error.status is None


def restore_one(
    client: KubeClient, item: Deletion, *, dry_run: bool, restore_id: str, restored_at: str
) -> Outcome:
    """Verify the owners of one deleted object, then create it (never overwriting);
    ``Unreachable`` when the cluster stops answering."""
    dropped: list[str] = []
    drop: list[int] = []
    for check in owner_checks(item.manifest):
        reason = check.drop_reason
        if reason is None and check.path is not None:
            try:
                reason = owner_drop_reason(check, client.get(check.path))
            except ApiError as error:
                if _unreachable(error):
                    raise Unreachable(str(error)) from None
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
    body = creation_body(item.manifest, drop=drop, restored_at=restored_at, restore_id=restore_id)
    path = collection_path(item.api_version, item.kind)
    try:
        created = client.create(path, body, dry_run=dry_run)
    except AlreadyExists:
        return _taken(client, item, f"{path}/{item.name}", tuple(dropped), restore_id)
    except ApiError as error:
        if _unreachable(error):
            raise Unreachable(str(error)) from None
        text = one_line(error)
        if error.status == 403:
            text = f"{text}; {_FORBIDDEN_HINT}"
        return Outcome(FAILED, item, tuple(dropped), error=text)
    if dry_run:  # the answer's uid is of an object that does not exist: not logged
        return Outcome(WOULD_RESTORE, item, tuple(dropped), body=body)
    metadata = created.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    return Outcome(RESTORED, item, tuple(dropped), uid=uid if isinstance(uid, str) else None)


def _taken(
    client: KubeClient, item: Deletion, path: str, dropped: tuple[str, ...], restore_id: str
) -> Outcome:
    """A create answered AlreadyExists: ours (an earlier POST of this restore whose answer
    was lost, retried) is ``restored``; anything else ``exists``."""
    try:
        current = client.get(path)
    except ApiError as error:
        if _unreachable(error):
            raise Unreachable(str(error)) from None
        return Outcome(EXISTS, item, dropped)
    if restored_by(current, restore_id):
        metadata = current.get("metadata") if current else None
        uid = metadata.get("uid") if isinstance(metadata, dict) else None
        return Outcome(RESTORED, item, dropped, uid=uid if isinstance(uid, str) else None)
    return Outcome(EXISTS, item, dropped)


@dataclass(frozen=True, slots=True)
class RestoreRequest:
    """What to read and how to restore it."""

    paths: tuple[str, ...]
    filters: Filters
    dry_run: bool = False
    output: str = "json"  # or "table": lines for people
    from_cluster: bool = False  # read the record ConfigMaps instead of files
    record_namespace: str = DEFAULT_RECORD_NAMESPACE
    cluster_uid: str | None = None  # --cluster-uid: restore that cluster's lines here


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
    """Read, check, restore, report; the exit code (0 all restored or exist, 1 some
    failed, 2 bad input, 4 the cluster could not be read). Nothing is written to the
    cluster unless every selected line was usable."""
    log = RestoreLog(
        out,
        restore_id=restore_id or uuid.uuid4().hex[:12],
        now=now,
        human=request.output == "table",
    )
    run = _Restore(request, log=log, err=err, monotonic=monotonic)
    selection, chosen = Selection(), []
    if not request.from_cluster:  # every line is judged before the cluster is contacted
        try:
            selection = read_sources(request.paths, request.filters, stdin=stdin)
        except BadInput as error:
            return run.finish(ExitCode.USAGE, str(error))
        chosen, refused = resolve(selection.deletions, now=now())
        if selection.errors or refused:
            return run.finish(ExitCode.USAGE, _report_refused(selection.errors + refused, err))
    from sweeper.cluster.kubeconfig import ConfigError

    try:
        client = connect()
        log.cluster_uid = read_cluster_uid(client)
        if request.from_cluster:
            selection = read_records(client, request.record_namespace, request.filters, err=err)
    except ConfigError as error:
        return run.finish(ExitCode.USAGE, str(error))
    except ApiError as error:
        code = ExitCode.USAGE if error.denied else ExitCode.READ_FAILED
        return run.finish(code, f"cannot read the cluster: {error}", selected=len(chosen))
    except SweepAborted as error:
        return run.finish(ExitCode.DELETE_FAILED, str(error), selected=len(chosen))
    errors: list[str] = []
    if request.from_cluster:
        chosen, errors = resolve(selection.deletions, now=now())
        errors = selection.errors + errors
    errors += foreign(chosen, cluster_uid=request.cluster_uid or log.cluster_uid)
    if errors:
        return run.finish(ExitCode.USAGE, _report_refused(errors, err))
    if not chosen:
        return run.finish(ExitCode.USAGE, _nothing_matched(selection, request))
    return run.restore_all(client, chosen, restored_at=stamp(now()))


class _Restore:
    """One restore's outcomes, and the summary line that ends it."""

    def __init__(
        self,
        request: RestoreRequest,
        *,
        log: RestoreLog,
        err: TextIO,
        monotonic: Callable[[], float],
    ) -> None:
        self.request, self.log, self.err, self.monotonic = request, log, err, monotonic
        self.started = monotonic()
        self.outcomes: list[Outcome] = []

    def finish(self, code: int, error: str | None = None, *, selected: int = 0) -> int:
        """Log the ``restore_summary`` (and ``error`` on stderr); the exit code."""
        if error:
            self.err.write(f"sweeper: error: {error}\n")
        summary = summary_fields(self.outcomes, dry_run=self.request.dry_run, exit_code=code)
        summary.update(
            selected=selected,
            not_attempted=selected - len(self.outcomes),
            duration_ms=int((self.monotonic() - self.started) * 1000),
        )
        if error:
            summary["error"] = error
        level = "info" if code == ExitCode.OK else "error"
        self.log.line("restore_summary", "restore finished", level=level, **summary)
        return code

    def restore_all(self, client: KubeClient, chosen: list[Deletion], *, restored_at: str) -> int:
        """Restore each chosen deletion in order; stop at the first sign of an unreachable
        cluster, or at a signal."""
        selected = len(chosen)
        for item in chosen:
            try:
                outcome = restore_one(
                    client,
                    item,
                    dry_run=self.request.dry_run,
                    restore_id=self.log.restore_id,
                    restored_at=restored_at,
                )
            except Unreachable as error:
                stopped = f"the cluster stopped answering; nothing more attempted: {error}"
                return self.finish(ExitCode.READ_FAILED, stopped, selected=selected)
            except SweepAborted as error:
                return self.finish(ExitCode.DELETE_FAILED, str(error), selected=selected)
            self.outcomes.append(outcome)
            self.log.outcome(outcome, dry_run=self.request.dry_run)
        if any(o.event == FAILED for o in self.outcomes):
            failed = "some objects could not be restored; see the restore_failed lines"
            return self.finish(ExitCode.DELETE_FAILED, failed, selected=selected)
        return self.finish(ExitCode.OK, selected=selected)


def _report_refused(errors: list[str], err: TextIO) -> str:
    """Each refused line on ``err`` (at most ``MAX_REPORTED_BAD_LINES``); the error."""
    for line in errors[:MAX_REPORTED_BAD_LINES]:
        err.write(f"sweeper: error: {line}\n")
    more = len(errors) - MAX_REPORTED_BAD_LINES
    if more > 0:
        err.write(f"sweeper: error: ... and {more} more lines like these\n")
    return f"{len(errors)} input lines refused; nothing restored"


def _nothing_matched(selection: Selection, request: RestoreRequest) -> str:
    where = f"records in {request.record_namespace}" if request.from_cluster else "sweeper lines"
    return (
        f"no deleting or deleted lines matched ({selection.sweeper_lines} {where} read, "
        f"{selection.deleted_lines} of them deleting or deleted lines before the filters)"
    )


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


def _request(paths: tuple[str, ...], options: Mapping[str, Any], now: datetime) -> RestoreRequest:
    """The request the options describe; ``BadInput`` for bad values."""
    from_cluster = bool(options.get("from_cluster"))
    if from_cluster == bool(paths):
        raise BadInput("give FILE... or --from-cluster (exactly one of them)")
    if options["request_timeout"].total_seconds() <= 0:
        raise BadInput("--request-timeout must be greater than 0")
    filters = make_filters(
        sweep_ids=options.get("sweep_id") or (),
        names=options.get("name") or (),
        since=options.get("since"),
        until=options.get("until"),
        reasons=options.get("reason") or (),
        now=now,
    )
    return RestoreRequest(
        paths,
        filters,
        dry_run=bool(options.get("dry_run")),
        output="table" if options.get("output") == "table" else "json",  # resolved by the CLI
        from_cluster=from_cluster,
        record_namespace=events_namespace(
            options.get("record_namespace"), SERVICEACCOUNT_NAMESPACE_FILE
        ),
        cluster_uid=options.get("cluster_uid") or None,
    )


def restore_command(paths: tuple[str, ...], options: Mapping[str, Any]) -> int:
    """``sweeper restore`` with the CLI's parsed options; the exit code."""
    try:
        request = _request(paths, options, datetime.now(UTC))
    except BadInput as error:
        sys.stderr.write(f"sweeper: error: {error}\n")
        return ExitCode.USAGE
    access = ClusterAccess(
        kubeconfig=options.get("kubeconfig"),
        context=options.get("context"),
        request_timeout=options["request_timeout"].total_seconds(),
        insecure_skip_tls_verify=bool(options.get("insecure_skip_tls_verify")),
    )
    if access.insecure_skip_tls_verify:
        sys.stderr.write("sweeper: warning: TLS verification is off (--insecure-skip-tls-verify)\n")
    return run_restore(
        request,
        connect=lambda: connect(access),
        out=sys.stdout,
        err=sys.stderr,
        stdin=sys.stdin,
        now=lambda: datetime.now(UTC),
    )
