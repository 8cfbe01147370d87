"""One sweep, end to end: identify the cluster, gather, plan, apply, prune, report, and the
exit code.

The thin shell around the pure planner: it wires the stages in their one-way order, and
each stage hands what it produced to the next. The cluster's identity (the uid of
``kube-system``) is read right after ``sweep_started`` and carried by every later line; a
sweep that cannot read it deletes nothing (a record without it could not be restored
safely). The summary and the exit code are pure functions of what the stages returned
(``sweeper.core.summary``). Clocks, waits and the stop signal are injected so tests never
wait.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sweeper.cluster.gather import discover_vap_version, gather
from sweeper.cluster.kube import KubeClient
from sweeper.cluster.kubeconfig import ConfigError
from sweeper.cluster.ledger import prune, read_cluster_uid
from sweeper.cluster.retry import Retrier, RetryPolicy
from sweeper.core import paths
from sweeper.core.errors import ApiError, SweepAborted
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.inventory import Inventory, Presence
from sweeper.core.observe import (
    IDLE,
    SYSTEM_LABEL,
    GatekeeperConfig,
    Observation,
    not_observed,
    observe,
    resolve,
)
from sweeper.core.plan import plan
from sweeper.core.reasons import Event, ExitCode
from sweeper.core.settings import Observing, Settings
from sweeper.core.summary import ApplyResult, Summary, exit_status, summarize
from sweeper.core.verdicts import Plan
from sweeper.output.notices import (
    SERVICEACCOUNT_NAMESPACE_FILE,
    SweepEnd,
    announce,
    events_namespace,
)
from sweeper.output.progress import SLOW_REQUEST_SECONDS, Progress
from sweeper.output.report import Reporter
from sweeper.runs.execute import WriteAhead, apply


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What a sweep takes from the world, injectable for tests."""

    now: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    stop: threading.Event = field(default_factory=threading.Event)
    # Every wait (rate limit, retry backoff); by default it ends early when ``stop`` is set.
    sleep: Callable[[float], object] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    environ: Mapping[str, str] | None = None
    namespace_file: str = SERVICEACCOUNT_NAMESPACE_FILE  # the pod's namespace, for --events
    # A request in flight this long (real seconds) logs request_waiting once.
    slow_request_seconds: float = SLOW_REQUEST_SECONDS


@dataclass(frozen=True)
class SweepResult:
    exit_code: int
    error: str | None = None  # one line for stderr when the sweep failed as a whole
    inventory: Inventory | None = None
    summary: Summary | None = None


@dataclass(frozen=True)
class _Stages:
    """How far a sweep got, and what each stage that ran produced."""

    code: ExitCode
    error: str | None = None
    inventory: Inventory | None = None
    plan: Plan | None = None
    result: ApplyResult | None = None
    interrupted: bool = False
    gatekeeper: GatekeeperDefaults | None = None  # as observed; None: not reached


def run_sweep(
    settings: Settings, *, reporter: Reporter, runtime: Runtime | None = None
) -> SweepResult:
    """Run one sweep and log exactly one summary line, whatever happens."""
    runtime = runtime or Runtime()
    started = runtime.monotonic()
    client: KubeClient | None = None
    stages: _Stages | None = None
    reporter.hold_until_started()  # the identity first, so sweep_started carries it too
    try:
        client = connect(settings, runtime, started=started, reporter=reporter)
    except ConfigError as error:
        stages = _Stages(ExitCode.USAGE, str(error))
    else:
        stages = _identify(client, reporter)
    finally:
        _log_start(settings, reporter)
    if client is not None and stages is None:
        stages = _run_stages(client, settings=settings, reporter=reporter, runtime=runtime)
    assert stages is not None
    summary = summarize(
        exit_code=int(stages.code),
        dry_run=settings.dry_run,
        duration_ms=int((runtime.monotonic() - started) * 1000),
        inventory=stages.inventory,
        plan=stages.plan,
        result=stages.result,
        error=stages.error,
        interrupted=stages.interrupted,
        gatekeeper=stages.gatekeeper or settings.rules.gatekeeper,
    )
    # Metrics, Events and the notification go out before the summary, which stays last.
    end = SweepEnd(
        summary=summary,
        outcomes=stages.result.outcomes if stages.result else (),
        finished=runtime.now(),
        cluster=settings.cluster_name,
    )
    announce(
        settings, reporter=reporter, end=end, client=client, namespace_file=runtime.namespace_file
    )
    reporter.summary(summary)
    return SweepResult(int(stages.code), stages.error, stages.inventory, summary)


def _identify(client: KubeClient, reporter: Reporter) -> _Stages | None:
    """Read the cluster's identity onto every later line; the stages of a sweep that
    cannot (it goes no further), else None."""
    try:
        reporter.identify(read_cluster_uid(client))
    except ApiError as error:
        code = ExitCode.USAGE if error.denied else ExitCode.READ_FAILED
        return _Stages(code, f"cannot read the cluster's identity: {error}")
    except SweepAborted as error:
        return _Stages(ExitCode.READ_FAILED, str(error), interrupted=True)
    return None


def _log_start(settings: Settings, reporter: Reporter) -> None:
    reporter.event(
        Event.SWEEP_STARTED,
        "sweep started",
        dry_run=settings.dry_run,
        min_age_seconds=int(settings.rules.min_age.total_seconds()),
        reasons=sorted(reason.value for reason in settings.rules.reasons),
        exclude=[pattern.pattern for pattern in settings.rules.exclude],
        insecure_skip_tls_verify=settings.access.insecure_skip_tls_verify,
        output=settings.output,
        output_requested=settings.output_requested,
    )
    if settings.access.insecure_skip_tls_verify:
        reporter.event(
            Event.TLS_VERIFY_OFF,
            "TLS verification is off (--insecure-skip-tls-verify)",
            level=logging.WARNING,
        )


@dataclass(frozen=True)
class Judged:
    """What a sweep decides before it writes anything: the cluster as read, the plan, and
    the settings it was made with (the rules as the running Gatekeeper configures them)."""

    inventory: Inventory
    plan: Plan
    settings: Settings
    gatekeeper: GatekeeperConfig


def judge(
    client: KubeClient, *, settings: Settings, reporter: Reporter, now: datetime
) -> Judged | None:
    """Read the cluster and decide every VAP and VAPB, as a sweep does; None when the
    cluster serves no ValidatingAdmissionPolicy API. Raises ``ApiError`` or
    ``SweepAborted`` when the read cannot even start. Never writes."""
    version = discover_vap_version(client)
    if version is None:
        reporter.event(
            Event.NOTHING_TO_DO,
            "the cluster serves no ValidatingAdmissionPolicy API; nothing to do",
        )
        return None
    # Gatekeeper's Deployments are read beside the cluster's lists (the plan needs them,
    # the lists do not): the observation costs no round trip of its own.
    with ThreadPoolExecutor(1, thread_name_prefix="observe") as beside:
        observing = beside.submit(observe_gatekeeper, client, settings.observing)
        with _no_cyclic_gc():
            inventory = gather(
                client,
                vap_version=version,
                concurrency=settings.access.read_concurrency,
                keep_pages=settings.dry_run,
            )
        config = observing.result()
    reporter.event(
        Event.GATEKEEPER_OBSERVED, "what the sweep assumes about Gatekeeper", **config.fields()
    )
    if settings.observing.enabled:  # else the rules hold the options' values already
        settings = replace(settings, rules=replace(settings.rules, gatekeeper=config.defaults))
    reporter.list_failures(inventory)
    installed = inventory.template_crd is Presence.PRESENT
    for concern in config.warnings(gatekeeper_installed=installed):
        if concern.kind == IDLE:
            reporter.event(Event.GATEKEEPER_IDLE, concern.message, level=logging.WARNING)
        else:
            reporter.event(
                Event.GATEKEEPER_NOT_OBSERVED,
                concern.message,
                level=logging.WARNING,
                cause=concern.cause,
            )
    with _no_cyclic_gc():
        the_plan = plan(inventory, settings.rules, now=now)
    return Judged(inventory, the_plan, settings, config)


def observe_gatekeeper(client: KubeClient, observing: Observing) -> GatekeeperConfig:
    """The running Gatekeeper's configuration, read from its Deployments when observing is
    on (and from its ReplicaSets while one rolls out); what cannot be read (403, 404, none
    labelled, ...) falls back to the options."""
    namespace = observing.namespace
    observation = None
    if observing.enabled:
        observation = read_gatekeeper(client, namespace)
    return resolve(
        observation,
        vap_option=observing.vap_default,
        vapb_option=observing.vapb_default,
        namespace=namespace,
    )


def read_gatekeeper(client: KubeClient, namespace: str) -> Observation:
    """What observing Gatekeeper reads: its labelled Deployments, and its ReplicaSets while
    one rolls out. It runs beside gather, in a thread of its own."""

    def unchanged(obj: dict) -> dict:
        return obj

    try:
        deployments = client.list(
            paths.deployments(namespace), label_selector=f"{SYSTEM_LABEL}=yes", transform=unchanged
        )
    except ApiError as error:
        return not_observed(namespace, f"cannot list its Deployments: {error}")
    observation = observe(deployments, namespace=namespace)
    if not observation.needs_replicasets:
        return observation
    # A rollout runs pods of several templates: read what each running ReplicaSet runs.
    try:
        replicasets = client.list(paths.replicasets(namespace), transform=unchanged)
    except ApiError as error:
        return observe(
            deployments,
            namespace=namespace,
            replicasets_error=f"its ReplicaSets cannot be listed: {error}",
        )
    return observe(deployments, namespace=namespace, replicasets=replicasets)


def _run_stages(
    client: KubeClient, *, settings: Settings, reporter: Reporter, runtime: Runtime
) -> _Stages:
    """Gather, plan and apply; what each produced, and the exit code they add up to."""
    try:
        judged = judge(client, settings=settings, reporter=reporter, now=runtime.now())
    except ApiError as error:
        code = ExitCode.USAGE if error.denied else ExitCode.READ_FAILED
        return _Stages(code, str(error))
    except SweepAborted as error:
        return _Stages(ExitCode.READ_FAILED, str(error), interrupted=True)
    if judged is None:
        return _Stages(ExitCode.OK)
    inventory, the_plan, settings = judged.inventory, judged.plan, judged.settings
    reporter.planned(the_plan)
    recording = settings.recording
    namespace = None
    if recording.enabled:
        namespace = events_namespace(recording.namespace, runtime.namespace_file)
    result = apply(
        the_plan,
        client=client,
        inventory=inventory,
        settings=settings,
        reporter=reporter,
        stop=runtime.stop,
        ahead=WriteAhead(namespace, now=runtime.now),
    )
    if namespace is not None and not settings.dry_run and not runtime.stop.is_set():
        _prune(client, namespace=namespace, settings=settings, reporter=reporter, runtime=runtime)
    code, error = exit_status(inventory, the_plan, result)
    return _Stages(
        code,
        error,
        inventory,
        the_plan,
        result,
        interrupted=bool(result.aborted),
        gatekeeper=settings.rules.gatekeeper,
    )


def _prune(
    client: KubeClient, *, namespace: str, settings: Settings, reporter: Reporter, runtime: Runtime
) -> None:
    """Delete the records older than ``--record-retention``; best effort, logged."""
    retention = settings.recording.retention
    try:
        pruned = prune(client, namespace, now=runtime.now(), retention=retention)
    except (ApiError, SweepAborted) as error:
        reporter.event(
            Event.RECORD_PRUNE_FAILED,
            "old records could not be pruned; they are kept",
            level=logging.WARNING,
            namespace=namespace,
            error=str(error),
        )
        return
    if pruned:
        reporter.event(
            Event.RECORDS_PRUNED,
            "records older than --record-retention deleted",
            namespace=namespace,
            pruned=pruned,
            retention_seconds=int(retention.total_seconds()),
        )


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector while building many acyclic records (measured in bench/).

    Gather and plan allocate one small record per listed object and no reference cycles;
    the collector's passes over a growing heap cost ~40% of gather's CPU at 50k bindings.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def connect(
    settings: Settings, runtime: Runtime, *, started: float, reporter: Reporter | None = None
) -> KubeClient:
    """A client for the configured cluster, its retries bounded by the sweep's deadline;
    with a ``reporter``, its retries, slow requests and (debug) requests are logged."""
    from kubernetes.client import ApiClient

    from sweeper.cluster.kubeconfig import load_configuration

    configuration = load_configuration(settings.access, runtime.environ)
    progress = None
    if reporter is not None:
        progress = Progress(
            reporter,
            debug=settings.log_level == "debug",
            slow_after=runtime.slow_request_seconds,
        )
    retrier = Retrier(
        runtime.retry,
        clock=runtime.monotonic,
        stop=runtime.stop,
        sleep=runtime.sleep,
        deadline=started + settings.guards.timeout.total_seconds(),
        on_retry=progress.retried if progress is not None else None,
    )
    return KubeClient(
        ApiClient(configuration), access=settings.access, retrier=retrier, observer=progress
    )
