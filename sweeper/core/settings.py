"""One frozen, validated ``Settings`` per run, grouped by concern.

Built by the CLI from options and ``SWEEPER_*`` environment variables; everything after
the CLI reads settings only from here. No I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.reasons import DEFAULT_REASONS, Reason

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
MAX_DURATION_SECONDS = 366 * 86400  # beyond this a duration is a typo, and overflows dates
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class SettingsError(ValueError):
    """A setting's value is not acceptable; the message is one line for the user."""


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``1h``, ``1h30m``, ``250ms`` or a bare ``0``.

    Units are lower-case only, as Go's ``time.ParseDuration`` has them: ``5M`` could mean
    five minutes or five months, so it is refused rather than guessed.
    """
    value = text.strip()
    if value == "0":
        return timedelta(0)
    if value and not _DURATION_PART.sub("", value.lower()) and _DURATION_PART.sub("", value):
        raise SettingsError(
            f"invalid duration {text!r}: units are lower-case (ms, s, m, h, d); "
            f"write {value.lower()!r} if that is what you mean"
        )
    if not value or _DURATION_PART.sub("", value):
        raise SettingsError(
            f"invalid duration {text!r}: use a number with a unit, e.g. 30s, 5m, 1h"
        )
    parts = _DURATION_PART.findall(value)
    if len({unit for _, unit in parts}) != len(parts):
        raise SettingsError(f"invalid duration {text!r}: a unit appears twice")
    seconds = sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)
    if seconds > MAX_DURATION_SECONDS:
        raise SettingsError(f"invalid duration {text!r}: longer than a year")
    return timedelta(seconds=seconds)


def parse_reasons(text: str, *, include_unowned: bool = False) -> frozenset[Reason]:
    """The reasons acted on, from ``--reasons`` (comma-separated, or ``all``, or
    ``default``) and ``--include-unowned``.

    ``orphaned-unowned`` objects may have been kept on purpose (an orphaning delete), so
    they are deleted only with ``--include-unowned``: ``all`` means every other reason, and
    naming ``orphaned-unowned`` without the flag is an error rather than a silent no-op.
    """
    from sweeper.core.reasons import DELETE_REASONS

    names = [part.strip() for part in text.split(",") if part.strip()]
    unowned = frozenset({Reason.ORPHANED_UNOWNED}) if include_unowned else frozenset()
    if names in (["all"], ["default"]):
        return DEFAULT_REASONS | unowned
    known = {reason.value: reason for reason in DELETE_REASONS}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        choices = ", ".join(sorted(known))
        raise SettingsError(f"invalid --reasons {text!r}: choose from {choices} or all")
    chosen = frozenset(known[name] for name in names)
    if Reason.ORPHANED_UNOWNED in chosen and not include_unowned:
        raise SettingsError(
            "--reasons names orphaned-unowned, which is deleted only with --include-unowned: "
            "add --include-unowned (SWEEPER_INCLUDE_UNOWNED=true) to delete those objects"
        )
    return chosen | unowned


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """How to reach and load the API server."""

    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float = 30.0
    insecure_skip_tls_verify: bool = False
    page_size: int = 500
    qps: float = 10.0
    burst: int = 20
    concurrency: int = 4
    read_concurrency: int = 8  # reads (LISTs, GETs) of gather in flight at once
    # Reads (LIST pages, GETs of discovery and of proofs) have a budget of their own:
    # deletions keep to --qps, and a dry run spends only this one.
    read_qps: float = 50.0
    read_burst: int = 100


@dataclass(frozen=True, slots=True)
class Rules:
    """What counts as dangling and which candidates are acted on."""

    gatekeeper: GatekeeperDefaults = field(default_factory=GatekeeperDefaults)
    reasons: frozenset[Reason] = DEFAULT_REASONS
    min_age: timedelta = timedelta(minutes=5)
    exclude: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True, slots=True)
class Observing:
    """Whether and where to read the running Gatekeeper's configuration, and the explicit
    ``--[no-]gatekeeper-*-default`` options that win over whatever is observed."""

    enabled: bool = True
    namespace: str = "gatekeeper-system"
    vap_default: bool | None = None  # None: not given
    vapb_default: bool | None = None


@dataclass(frozen=True, slots=True)
class Guards:
    """Limits that abort or end a sweep before it can do much harm."""

    max_deletions: int = 50  # 0 = unlimited
    max_deletion_percent: float = 50.0  # of the Gatekeeper-generated objects listed; 0 = off
    timeout: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Notices:
    """Where a sweep's outcome goes besides its log lines; every one is opt-in."""

    pushgateway_url: str | None = None
    notify_url: str | None = field(default=None, repr=False)  # a secret: never logged
    events: bool = False  # Kubernetes Events for deletions and failed deletions
    events_namespace: str | None = None  # None: the pod's namespace, else gatekeeper-sweeper


@dataclass(frozen=True, slots=True)
class Recording:
    """The write-ahead record: each manifest is stored in the cluster before its DELETE."""

    enabled: bool = True  # --no-record: the `deleting` log lines are the only copy
    namespace: str | None = None  # None: the pod's namespace, else gatekeeper-sweeper
    retention: timedelta = timedelta(days=30)  # records older than this are pruned; 0 = never


OUTPUTS = ("json", "table")  # what a run writes, once ``auto`` is resolved
# What -o / SWEEPER_OUTPUT accept, the same for every command: ``auto`` is the table on a
# terminal and JSON lines otherwise (a pod's log, a pipe); ``text`` is another name for
# ``table`` (explain's word for it).
OUTPUT_CHOICES = ("auto", "table", "json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_CONCURRENCY = 64


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything one sweep needs to know, validated."""

    access: ClusterAccess = field(default_factory=ClusterAccess)
    rules: Rules = field(default_factory=Rules)
    guards: Guards = field(default_factory=Guards)
    notices: Notices = field(default_factory=Notices)
    observing: Observing = field(default_factory=Observing)
    recording: Recording = field(default_factory=Recording)
    dry_run: bool = False
    log_level: str = "info"
    output: str = "json"
    output_requested: str = "json"  # what -o said; ``output`` is what it resolved to
    cluster_name: str | None = None

    def __post_init__(self) -> None:
        if self.access.request_timeout <= 0:
            raise SettingsError("--request-timeout must be greater than 0")
        if not 1 <= self.access.page_size <= 10_000:
            raise SettingsError("--page-size must be between 1 and 10000")
        if not all(
            math.isfinite(value)
            for value in (self.access.qps, self.access.read_qps, self.guards.max_deletion_percent)
        ):
            raise SettingsError(
                "--qps, --read-qps and --max-deletion-percent must be finite numbers"
            )
        if self.access.qps <= 0 or self.access.burst < 1:
            raise SettingsError("--qps must be greater than 0 and --burst at least 1")
        if self.access.read_qps <= 0 or self.access.read_burst < 1:
            raise SettingsError("--read-qps must be greater than 0 and --read-burst at least 1")
        if not 1 <= self.access.concurrency <= MAX_CONCURRENCY:
            raise SettingsError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        if not 1 <= self.access.read_concurrency <= MAX_CONCURRENCY:
            raise SettingsError(f"--read-concurrency must be between 1 and {MAX_CONCURRENCY}")
        if self.guards.max_deletions < 0:
            raise SettingsError("--max-deletions must be 0 (unlimited) or more")
        if not 0 <= self.guards.max_deletion_percent <= 100:
            raise SettingsError("--max-deletion-percent must be between 0 and 100")
        if self.guards.timeout <= timedelta(0):
            raise SettingsError("--timeout must be greater than 0")
        if self.rules.min_age < timedelta(0):
            raise SettingsError("--min-age must not be negative")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
        if self.output not in OUTPUTS:
            raise SettingsError(f"--output must be one of {', '.join(OUTPUTS)}")
        if self.output_requested not in OUTPUT_CHOICES:
            raise SettingsError(f"--output must be one of {', '.join(OUTPUT_CHOICES)}")
        for name, url in (
            ("--pushgateway-url", self.notices.pushgateway_url),
            ("--notify-url", self.notices.notify_url),
        ):
            # The message never repeats the URL: the webhook's path is its secret.
            if url is not None and not _is_http_url(url):
                raise SettingsError(f"{name} must be an http:// or https:// URL with a host")
        namespace = self.notices.events_namespace
        if namespace is not None and not _DNS_LABEL.fullmatch(namespace):
            raise SettingsError("--events-namespace must be a Kubernetes namespace name")
        record_namespace = self.recording.namespace
        if record_namespace is not None and not _DNS_LABEL.fullmatch(record_namespace):
            raise SettingsError("--record-namespace must be a Kubernetes namespace name")
        if self.recording.retention < timedelta(0):
            raise SettingsError("--record-retention must not be negative")
        if not _DNS_LABEL.fullmatch(self.observing.namespace):
            raise SettingsError("--gatekeeper-namespace must be a Kubernetes namespace name")


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def _is_http_url(url: str) -> bool:
    """An http(s) URL whose host and port parse (urllib raises on some, e.g. ``[::1``)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(c.isspace() for c in url)
    )


def compile_excludes(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Compile ``--exclude`` regular expressions, one clear error for a bad one."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as error:
            raise SettingsError(f"invalid --exclude {pattern!r}: {error}") from None
    return tuple(compiled)
