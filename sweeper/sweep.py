"""One sweep, end to end: gather, plan, apply, report, and the exit code.

The thin shell around the pure planner: it wires the stages in their one-way order and
turns what happened into the documented exit code. Clocks, retry waits and the stop
signal are injected so tests never wait.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sweeper.execute import Applier
from sweeper.inventory import Inventory, discover_vap_version, gather
from sweeper.kube import (
    ApiError,
    KubeClient,
    RateLimiter,
    RetryPolicy,
    SweepAborted,
)
from sweeper.kubeconfig import ConfigError
from sweeper.notices import SERVICEACCOUNT_NAMESPACE_FILE, SweepEnd, announce
from sweeper.plan import plan
from sweeper.reasons import Action, Event, ExitCode
from sweeper.report import Reporter
from sweeper.settings import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What a sweep takes from the world, injectable for tests."""

    now: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    stop: threading.Event = field(default_factory=threading.Event)
    # Every wait (rate limit, retry backoff) by default ends early when ``stop`` is set.
    sleep: Callable[[float], object] | None = None
    retry: RetryPolicy | None = None
    environ: Mapping[str, str] | None = None
    namespace_file: str = SERVICEACCOUNT_NAMESPACE_FILE  # the pod's namespace, for --events


@dataclass(frozen=True)
class SweepResult:
    exit_code: int
    error: str | None = None  # one line for stderr when the sweep failed as a whole
    inventory: Inventory | None = None


def run_sweep(
    settings: Settings, *, reporter: Reporter, runtime: Runtime | None = None
) -> SweepResult:
    """Run one sweep and log exactly one summary line, whatever happens."""
    runtime = runtime or Runtime()
    started = runtime.monotonic()
    reporter.event(
        Event.SWEEP_STARTED,
        "sweep started",
        dry_run=settings.dry_run,
        min_age_seconds=int(settings.rules.min_age.total_seconds()),
        reasons=sorted(reason.value for reason in settings.rules.reasons),
        exclude=[pattern.pattern for pattern in settings.rules.exclude],
        insecure_skip_tls_verify=settings.access.insecure_skip_tls_verify,
    )
    if settings.access.insecure_skip_tls_verify:
        reporter.event(
            Event.TLS_VERIFY_OFF,
            "TLS verification is off (--insecure-skip-tls-verify)",
            level=logging.WARNING,
        )
    state: dict[str, Any] = {"inventory": None, "client": None}

    def finish(code: ExitCode, error: str | None = None, **extra: object) -> SweepResult:
        elapsed = int((runtime.monotonic() - started) * 1000)
        values: dict[str, Any] = dict(
            exit_code=int(code),
            dry_run=settings.dry_run,
            duration_ms=elapsed,
            inventory=state["inventory"],
            error=error,
            **extra,
        )
        # Metrics, Events and the notification go out before the summary, which stays last.
        end = SweepEnd(
            summary=reporter.summary_fields(**values),
            outcomes=tuple(reporter.outcomes),
            finished=runtime.now(),
            cluster=settings.cluster_name,
        )
        announce(
            settings,
            reporter=reporter,
            end=end,
            client=state["client"],
            namespace_file=runtime.namespace_file,
        )
        reporter.summary(**values)
        return SweepResult(int(code), error, state["inventory"])

    try:
        client = _connect(settings, runtime, started)
    except ConfigError as error:
        return finish(ExitCode.USAGE, str(error))
    state["client"] = client
    try:
        version = discover_vap_version(client)
        if version is None:
            reporter.event(
                Event.NOTHING_TO_DO,
                "the cluster serves no ValidatingAdmissionPolicy API; nothing to do",
            )
            return finish(ExitCode.OK)
        with _no_cyclic_gc():
            inventory = gather(client, vap_version=version)
    except ApiError as error:
        code = ExitCode.USAGE if error.status in (401, 403) else ExitCode.READ_FAILED
        return finish(code, str(error))
    except SweepAborted as error:
        return finish(ExitCode.READ_FAILED, str(error), interrupted=True)
    state["inventory"] = inventory
    reporter.list_failures(inventory)
    with _no_cyclic_gc():
        the_plan = plan(inventory, settings.rules, now=runtime.now())
    reporter.planned(the_plan)
    applier = Applier(
        client, inventory=inventory, settings=settings, reporter=reporter, stop=runtime.stop
    )
    trip = applier.apply(the_plan)
    denied = [s.error for s in inventory.failed_lists if s.status in (401, 403)]
    denied += [applier.denied] if applier.denied else []
    undecided = any(v.action is Action.UNDECIDED for v in the_plan.verdicts)
    code, error = outcome(
        denied=denied[0] if denied else None,
        guard_tripped=trip is not None,
        aborted=str(applier.aborted) if applier.aborted else None,
        unread=bool(inventory.failed_lists) or undecided,
        failed=bool(reporter.tally.counts[Event.DELETE_FAILED.value]),
    )
    return finish(code, error, **({"interrupted": True} if applier.aborted else {}))


def outcome(
    *, denied: str | None, guard_tripped: bool, aborted: str | None, unread: bool, failed: bool
) -> tuple[ExitCode, str | None]:
    """The exit code of a sweep that got to apply, and its one-line error; first match wins."""
    if denied:  # credentials or RBAC: a configuration error, not a flaky cluster
        return ExitCode.USAGE, denied
    if guard_tripped:
        return ExitCode.GUARD, "deletion guard tripped; nothing was deleted"
    if aborted:
        return ExitCode.DELETE_FAILED, aborted
    if unread:
        return ExitCode.READ_FAILED, (
            "some objects could not be decided; see the undecided and list_failed lines"
        )
    if failed:
        return ExitCode.DELETE_FAILED, "some deletions failed; see the delete_failed lines"
    return ExitCode.OK, None


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


def _connect(settings: Settings, runtime: Runtime, started: float) -> KubeClient:
    from kubernetes.client import ApiClient

    from sweeper.kubeconfig import load_configuration

    configuration = load_configuration(settings.access, runtime.environ)
    deadline = started + settings.guards.timeout.total_seconds()
    return KubeClient(
        ApiClient(configuration),
        access=settings.access,
        retry=runtime.retry or RetryPolicy(sleep=runtime.stop.wait),
        deadline=deadline,
        clock=runtime.monotonic,
        stop=runtime.stop,
        limiter=RateLimiter(
            qps=settings.access.qps, burst=settings.access.burst, clock=runtime.monotonic
        ),
        sleep=runtime.sleep or runtime.stop.wait,
    )
