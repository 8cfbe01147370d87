"""End-of-sweep notices: Kubernetes Events, Prometheus metrics and a chat notification.

Called once from the sweep's finish path, just before the summary line, with the summary's
fields. Every notice is best effort: a failure is one log line, never an exception, and it
never changes what was deleted or the exit code. The notification URL is a secret: it is
never logged, not even inside an error message.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sweeper import __version__
from sweeper.cluster.kube import KubeClient
from sweeper.core import paths
from sweeper.core.errors import ApiError, SweepAborted, one_line
from sweeper.core.reasons import DELETE_REASONS, Event
from sweeper.core.settings import Settings
from sweeper.core.summary import Outcome, Summary
from sweeper.output.report import Reporter

JOB = "gatekeeper-sweeper"  # the Pushgateway job, the Events' reporting component
SERVICEACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
DEFAULT_EVENTS_NAMESPACE = "gatekeeper-sweeper"
DEFAULT_CLUSTER = "default"  # the Pushgateway's `cluster` grouping label without --cluster-name
PUSH_TIMEOUT_SECONDS = 5.0
NOTIFY_TIMEOUT_SECONDS = 5.0
NOTIFY_NAMES = 5  # object names listed in a notification
EVENT_REASONS = {
    Event.DELETED: ("Normal", "DanglingDeleted"),
    Event.DELETE_FAILED: ("Warning", "DanglingDeleteFailed"),
}


@dataclass(frozen=True, slots=True)
class SweepEnd:
    """What the notices need to know about a finished sweep."""

    summary: Summary
    outcomes: Sequence[Outcome]
    finished: datetime
    cluster: str | None


def announce(
    settings: Settings,
    *,
    reporter: Reporter,
    end: SweepEnd,
    client: KubeClient | None,
    namespace_file: str = SERVICEACCOUNT_NAMESPACE_FILE,
) -> None:
    """Send every enabled notice; log, never raise, when one fails."""
    notices = settings.notices
    sends: list[tuple[Event, Callable[[], None]]] = []
    if notices.events and not settings.dry_run and client is not None:
        namespace = events_namespace(notices.events_namespace, namespace_file)
        sends.append(
            (
                Event.KUBE_EVENTS_FAILED,
                lambda: send_kube_events(client, reporter=reporter, end=end, namespace=namespace),
            )
        )
    if notices.pushgateway_url:
        url = notices.pushgateway_url
        sends.append(
            (Event.METRICS_PUSH_FAILED, lambda: push_metrics(url, reporter=reporter, end=end))
        )
    if notices.notify_url:
        webhook = notices.notify_url
        sends.append((Event.NOTIFY_FAILED, lambda: notify(webhook, reporter=reporter, end=end)))
    for failure, send in sends:
        try:
            send()
        except Exception as error:  # a bug in a notice must not cost the summary line
            reporter.event(
                failure,
                "a notice failed; the sweep is unaffected",
                level=logging.WARNING,
                error=type(error).__name__,
            )


# --- Kubernetes Events -------------------------------------------------------------------


def events_namespace(configured: str | None, namespace_file: str) -> str:
    """``--events-namespace`` if given, else the pod's own namespace, else the default."""
    if configured:
        return configured
    try:
        found = Path(namespace_file).read_text(encoding="utf-8").strip()
    except OSError:
        found = ""
    return found or DEFAULT_EVENTS_NAMESPACE


def kube_event(outcome: Outcome, *, namespace: str, end: SweepEnd) -> dict[str, Any]:
    """A core/v1 Event about one deleted (or not deleted) VAP or VAPB."""
    kind_of_event, reason = EVENT_REASONS[outcome.event]
    verdict, obj = outcome.verdict, outcome.verdict.obj
    owner = f"owner {verdict.owner}" if verdict.owner is not None else "no owner"
    verb = "deleted" if outcome.event is Event.DELETED else "could not delete"
    message = f"{verb} {obj.kind}/{obj.name}: {verdict.reason.value} ({owner}); {verdict.detail}"
    stamp = end.finished.strftime("%Y-%m-%dT%H:%M:%SZ")
    version = end.summary.vap_version or "v1"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{obj.name[:200]}.",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": JOB},
        },
        "involvedObject": {
            "apiVersion": f"admissionregistration.k8s.io/{version}",
            "kind": obj.kind,
            "name": obj.name,
            "uid": obj.uid,
            # The object is cluster-scoped, but the API server accepts an Event with an
            # empty involvedObject.namespace only in "default" (or kube-system); naming the
            # Event's own namespace here is what lets it live beside the sweeper.
            "namespace": namespace,
        },
        "type": kind_of_event,
        "reason": reason,
        "message": message[:1024],
        "action": "Delete",
        "source": {"component": JOB},
        "reportingComponent": JOB,
        "reportingInstance": socket.gethostname()[:128],
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def send_kube_events(
    client: KubeClient, *, reporter: Reporter, end: SweepEnd, namespace: str
) -> None:
    """One Event per deleted object and per failed delete; stops at the first failure."""
    wanted = [o for o in end.outcomes if o.event in EVENT_REASONS]
    path = paths.events(namespace)
    for sent, outcome in enumerate(wanted):
        event = kube_event(outcome, namespace=namespace, end=end)
        try:
            client.retrier.run(
                lambda event=event: client.create(path, event), retry_if=_admission_denied
            )
        except (ApiError, SweepAborted) as error:
            reporter.event(
                Event.KUBE_EVENTS_FAILED,
                "could not create Kubernetes Events; the sweep is unaffected",
                level=logging.WARNING,
                error=one_line(error),
                events_sent=sent,
                events_not_sent=len(wanted) - sent,
            )
            return


def _admission_denied(error: ApiError) -> bool:
    """An admission policy refused the Event. A binding the sweep has just deleted (one whose
    policy fails closed denies every write) keeps enforcing until kube-apiserver refreshes
    its policies, about a second later (measured on v1.36): worth a retry."""
    return error.status in (400, 403, 422) and "denied request" in error.detail


# --- Prometheus metrics ------------------------------------------------------------------


Sample = tuple[str, str, dict[str, str], float]  # (name, help, labels, value)


def cluster_read(summary: Summary) -> bool:
    """Whether the sweep read every list: its object counts describe the cluster.

    Not when it stopped before reading (no VAP version, non-zero exit: RBAC, connection,
    timeout) or a list failed; exit 0 without a version is a cluster that serves no VAP
    API, read in full (there is nothing to list).
    """
    stopped_before_reading = summary.vap_version is None and summary.exit_code != 0
    return not stopped_before_reading and summary.lists_failed == 0


def metric_samples(end: SweepEnd) -> list[Sample]:
    """Every gauge pushed for this sweep (names without the ``gatekeeper_sweeper_`` prefix).

    Run gauges and what the sweep did go out every time. What it found in the cluster
    (``objects_listed``, ``objects_candidates``, ``objects_would_delete``,
    ``objects_undecided``) goes out only when it read the whole cluster: zeros from a sweep
    that could not read would say "nothing left over". Push-add keeps the group's previous
    values of whatever is not pushed, so those stay at the last full read's values, and
    ``last_full_read_timestamp_seconds`` says when that was.
    """
    summary = end.summary
    now = end.finished.timestamp()
    read = cluster_read(summary)
    samples: list[Sample] = [
        ("build_info", "The sweeper's version; always 1.", {"version": __version__}, 1),
        ("last_run_timestamp_seconds", "When the last sweep ended.", {}, now),
        ("duration_seconds", "How long the last sweep took.", {}, summary.duration_ms / 1000),
        ("exit_code", "Exit code of the last sweep (0 = clean).", {}, summary.exit_code),
        (
            "dry_run",
            "1 when the last sweep was a dry run (it deleted nothing).",
            {},
            float(summary.dry_run),
        ),
        (
            "cluster_read",
            "1 when the last sweep read the whole cluster; 0 when not: the objects_* counts "
            "of what it found were not pushed and are those of an earlier sweep.",
            {},
            float(read),
        ),
        ("objects_deleted", "Objects the last sweep deleted.", {}, summary.deleted),
        (
            "objects_delete_failed",
            "Objects the last sweep failed to delete.",
            {},
            summary.failed,
        ),
    ]
    if read:
        samples += _findings(summary, now)
    if summary.exit_code == 0:
        samples.append(
            (
                "last_success_timestamp_seconds",
                "When the last sweep with exit code 0 ended.",
                {},
                now,
            )
        )
    return samples


def _findings(summary: Summary, now: float) -> list[Sample]:
    """What a sweep that read the whole cluster found there."""
    samples: list[Sample] = [
        (
            "last_full_read_timestamp_seconds",
            "When the last sweep that read the whole cluster ended (the objects_* counts "
            "it found are from then).",
            {},
            now,
        ),
        (
            "objects_would_delete",
            "Objects the last dry run would delete (0 when not a dry run).",
            {},
            summary.would_delete,
        ),
        (
            "objects_undecided",
            "Objects the last sweep could not decide.",
            {},
            summary.undecided,
        ),
    ]
    for kind in ("bindings", "policies", "templates", "constraints"):
        count = getattr(summary, f"listed_{kind}")
        samples.append(
            ("objects_listed", "Objects listed by the last sweep.", {"kind": kind}, count)
        )
    # Every reason, zeros included: a reason with no candidates reads 0, not "no data".
    for reason in sorted(DELETE_REASONS):
        samples.append(
            (
                "objects_candidates",
                "Deletion candidates found by the last sweep, acted on or not.",
                {"reason": reason.value},
                summary.candidates_by_reason.get(reason, 0),
            )
        )
    return samples


def push_metrics(url: str, *, reporter: Reporter, end: SweepEnd) -> None:
    """Push this sweep's gauges to a Pushgateway; a failure is logged, never raised."""
    from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for name, doc, labels, value in metric_samples(end):
        gauge = gauges.get(name)
        if gauge is None:
            gauge = gauges[name] = Gauge(
                f"gatekeeper_sweeper_{name}", doc, labelnames=sorted(labels), registry=registry
            )
        (gauge.labels(**labels) if labels else gauge).set(value)
    try:
        gateway, handler = _gateway_and_auth(url)
        # POST (push-add) replaces, in the group, each metric pushed now (all its label
        # sets) and keeps the others: the last success timestamp, left out after a failed
        # sweep, and the objects_* findings, left out after a sweep that could not read the
        # cluster, keep their previous values.
        pushadd_to_gateway(
            gateway,
            job=JOB,
            registry=registry,
            grouping_key={"cluster": end.cluster or DEFAULT_CLUSTER},
            timeout=PUSH_TIMEOUT_SECONDS,
            handler=handler,
        )
    except Exception as error:  # urllib raises many types; all mean "not pushed"
        reporter.event(
            Event.METRICS_PUSH_FAILED,
            "could not push metrics to the Pushgateway; the sweep is unaffected",
            level=logging.WARNING,
            error=redact(one_line(error), url),
        )


def _gateway_and_auth(url: str) -> tuple[str, Any]:
    """The Pushgateway URL without credentials, and a handler sending them as basic auth.

    prometheus_client would pass ``user:password@`` on to http.client, which reads it as
    part of the host name (and quotes it in its errors).
    """
    from prometheus_client.exposition import basic_auth_handler, default_handler

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, default_handler
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    # Credentials with '@', ':' or '/' must be percent-encoded in a URL; send them decoded.
    username, password = unquote(parts.username or ""), unquote(parts.password or "")

    def handler(url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
        return basic_auth_handler(url, method, timeout, headers, data, username, password)

    return urlunsplit(parts._replace(netloc=netloc)), handler


def redact(text: str, url: str) -> str:
    """``text`` without the credentials a URL may carry (``https://user:password@host``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "error (details withheld: the URL could not be parsed)"
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:  # as it appears in a URL or a host name: followed by "@"
        text = text.replace(f"{userinfo}@", "***@")
    # A secret quoted on its own, as written or decoded (a password, or a token given as
    # the user name); a very short one would mangle ordinary words instead.
    secret = parts.password or parts.username
    for form in {secret, unquote(secret)} if secret else ():
        if len(form) >= 4:
            text = text.replace(form, "***")
    return text


# --- chat notification -------------------------------------------------------------------


def notification(end: SweepEnd) -> dict[str, str] | None:
    """The Slack-compatible message for a sweep that deleted or failed something, else None."""
    deleted = [o for o in end.outcomes if o.event is Event.DELETED]
    failed = [o for o in end.outcomes if o.event is Event.DELETE_FAILED]
    if not deleted and not failed:
        return None
    where = f" on cluster {end.cluster}" if end.cluster else ""
    lines = [
        f"gatekeeper-sweeper{where}: deleted {len(deleted)}, failed {len(failed)} "
        f"(exit code {end.summary.exit_code})."
    ]
    listed = (failed + deleted)[:NOTIFY_NAMES]
    for outcome in listed:
        verdict = outcome.verdict
        state = "FAILED" if outcome.event is Event.DELETE_FAILED else "deleted"
        lines.append(f"• {state} {verdict.obj.kind}/{verdict.obj.name} ({verdict.reason.value})")
    if len(deleted) + len(failed) > len(listed):
        lines.append(f"… and {len(deleted) + len(failed) - len(listed)} more")
    return {"text": "\n".join(lines)}


def notify(url: str, *, reporter: Reporter, end: SweepEnd) -> None:
    """POST the notification to the webhook; a failure is logged without the URL."""
    message = notification(end)
    if message is None:
        return
    import requests

    host = urlsplit(url).hostname or "the webhook"
    try:
        response = requests.post(url, json=message, timeout=NOTIFY_TIMEOUT_SECONDS)
        problem = None if response.ok else f"HTTP {response.status_code} from {host}"
    except requests.RequestException as error:
        # requests' messages quote the URL's path, which is the webhook's secret.
        problem = f"{type(error).__name__} talking to {host}"
    if problem is not None:
        reporter.event(
            Event.NOTIFY_FAILED,
            "could not send the notification; the sweep is unaffected",
            level=logging.WARNING,
            error=problem,
        )
