"""The command line's options: declared once, every one also a ``SWEEPER_*`` variable.

``connection_options`` (how to reach the cluster) are shared by every command that talks to
one; ``sweep_options`` are the sweep's own. ``build_settings`` turns the parsed values
into ``Settings``, which alone validates them. Heavy modules are imported lazily, so
``sweeper --version`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from sweeper.cli import completion
from sweeper.core.settings import LOG_LEVELS, OUTPUT_CHOICES

if TYPE_CHECKING:
    from sweeper.core.settings import Rules, Settings

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class Duration(click.ParamType):
    """``30s``, ``5m``, ``1h``, ``1h30m``; with ``bare_seconds``, also ``30`` (as kubectl's
    ``--request-timeout`` takes it)."""

    name = "duration"

    def __init__(self, *, bare_seconds: bool = False) -> None:
        self.bare_seconds = bare_seconds

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from sweeper.core.settings import SettingsError, parse_duration

        text = str(value).strip()
        if self.bare_seconds and text.isascii() and text.isdigit():
            text += "s"
        try:
            return parse_duration(text)
        except SettingsError as error:
            self.fail(str(error), param, ctx)


def option(*decls: str, **kwargs: Any) -> Decorator:
    """A click option whose environment variable is ``SWEEPER_<LONG NAME>``."""
    long_name = next(d for d in decls if d.startswith("--")).split("/")[0]
    envvar = "SWEEPER_" + long_name.lstrip("-").replace("-", "_").upper()
    kwargs.setdefault("show_default", True)
    return click.option(*decls, envvar=envvar, show_envvar=True, **kwargs)


def apply_all(decorators: list[Decorator], func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` decorated by each of ``decorators``, the first one outermost."""
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


REQUEST_TIMEOUT = option(
    "--request-timeout",
    type=Duration(bare_seconds=True),
    default="30s",
    help="Timeout of each API request (30, 30s, 1m).",
)
OUTPUT = option(
    "-o",
    "--output",
    type=click.Choice(OUTPUT_CHOICES),
    default="auto",
    help="table: aligned lines for people; json: one JSON object per line; auto: the table "
    "on a terminal, JSON otherwise (a pipe, a pod's log); text = table. The same for every "
    "command.",
)


def resolve_output(requested: str | None, stream: Any = None) -> str:
    """``json`` or ``table`` for an ``-o`` value: ``auto`` asks whether ``stream`` (stdout)
    is a terminal, so a person sees the table and a pipe or a log collector JSON lines."""
    import sys

    choice = requested or "auto"
    if choice == "text":
        return "table"
    if choice != "auto":
        return choice
    stream = sys.stdout if stream is None else stream
    try:
        return "table" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream: not a terminal
        return "json"


def _contexts(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """One ``--context`` as a string (None when absent); several as a tuple, which only
    ``sweep`` takes (fleet mode)."""
    if len(value) <= 1:
        return value[0] if value else None
    if ctx.info_name != "sweep":
        raise click.BadParameter("may be given only once here", ctx=ctx, param=param)
    return value


def connection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How to reach the cluster: kubeconfig, context, TLS, request timeout."""
    return apply_all(
        [
            option(
                "--kubeconfig",
                type=click.Path(dir_okay=False),
                default=None,
                help="Kubeconfig file (default: in-cluster config in a pod, else $KUBECONFIG, "
                "else ~/.kube/config).",
            ),
            option(
                "--context",
                multiple=True,
                callback=_contexts,
                shell_complete=completion.contexts,
                help="Kubeconfig context to use; sweep takes it several times (fleet mode).",
            ),
            option(
                "--insecure-skip-tls-verify",
                is_flag=True,
                help="Do not verify the API server's certificate (logged as a warning).",
            ),
            REQUEST_TIMEOUT,
        ],
        func,
    )


def sweep_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``sweep`` besides cluster access (``demo`` takes these too)."""
    decorators = [
        option("--dry-run", is_flag=True, help="Decide and log, but send no write request."),
        option(
            "--min-age",
            type=Duration(),
            default="5m",
            help="Leave objects younger than this for a later sweep.",
        ),
        option(
            "--timeout",
            type=Duration(),
            default="5m",
            help="End the whole sweep cleanly after this long.",
        ),
        option(
            "--reasons",
            default="default",
            show_default="all but orphaned-unowned",
            shell_complete=completion.reasons,
            help="Comma-separated reasons to act on, or 'all' (every one but orphaned-unowned, "
            "which only --include-unowned adds). Other candidates are only reported.",
        ),
        option(
            "--include-unowned",
            is_flag=True,
            help="Also delete fingerprinted objects that lost their ownerReference.",
        ),
        option(
            "--exclude",
            multiple=True,
            metavar="NAME_REGEX",
            help="Never delete objects whose name matches (repeatable).",
        ),
        option(
            "--max-deletions",
            type=int,
            default=50,
            help="Abort before deleting anything if more are planned; 0 = unlimited.",
        ),
        option(
            "--max-deletion-percent",
            type=float,
            default=50.0,
            help="Abort if more than this percent of Gatekeeper's objects would go; 0 = off.",
        ),
        option(
            "--observe-gatekeeper/--no-observe-gatekeeper",
            default=True,
            show_default="on",
            help="Read Gatekeeper's flags and version from its Deployments.",
        ),
        option(
            "--gatekeeper-namespace",
            default="gatekeeper-system",
            help="Namespace of Gatekeeper's Deployments (labelled gatekeeper.sh/system=yes).",
        ),
        option(
            "--gatekeeper-vap-default/--no-gatekeeper-vap-default",
            default=None,
            show_default="observed, else on",
            help="Gatekeeper's --default-create-vap-for-templates; wins over what is observed.",
        ),
        option(
            "--gatekeeper-vapb-default/--no-gatekeeper-vapb-default",
            default=None,
            show_default="observed, else on",
            help="Gatekeeper's --default-create-vap-binding-for-constraints; wins over what "
            "is observed.",
        ),
        option("--page-size", type=int, default=500, help="Items per LIST page."),
        option(
            "--qps",
            type=float,
            default=10.0,
            help="Deletions per second, on average (each with its re-check and object read).",
        ),
        option(
            "--burst",
            type=int,
            default=20,
            help="Deletions allowed at once above --qps.",
        ),
        option(
            "--read-qps",
            type=float,
            default=50.0,
            help="Reads (LIST pages, GETs) per second, on average; a dry run spends only these.",
        ),
        option(
            "--read-burst",
            type=int,
            default=100,
            help="Reads allowed at once above --read-qps.",
        ),
        option(
            "--concurrency",
            type=int,
            default=4,
            help="Deletions in flight at once.",
        ),
        option(
            "--read-concurrency",
            type=int,
            default=8,
            help="Reads (LISTs, GETs) in flight at once while the cluster is read.",
        ),
        option(
            "--log-level",
            type=click.Choice(LOG_LEVELS),
            default="info",
            help="Least severe log lines written.",
        ),
        option("--cluster-name", default=None, help="Adds a 'cluster' field to every log line."),
        OUTPUT,
        option(
            "--pushgateway-url",
            default=None,
            metavar="URL",
            help="Push the sweep's gauges to this Prometheus Pushgateway at its end.",
        ),
        option(
            "--notify-url",
            default=None,
            metavar="URL",
            help="Slack-compatible webhook told about sweeps that deleted or failed something "
            "(a secret: prefer the environment variable).",
        ),
        option(
            "--events",
            is_flag=True,
            help="Create a Kubernetes Event per deleted object and per failed delete.",
        ),
        option(
            "--events-namespace",
            default=None,
            help="Namespace of those Events (default: the pod's own, else gatekeeper-sweeper).",
        ),
        *RECORD_OPTIONS,
    ]
    return apply_all(decorators, func)


RECORD_NAMESPACE = option(
    "--record-namespace",
    default=None,
    show_default="the pod's own, else gatekeeper-sweeper",
    help="Namespace of the record ConfigMaps (each manifest, written before its DELETE).",
)
RECORD_OPTIONS = [
    option(
        "--record/--no-record",
        default=True,
        show_default="on",
        help="Store each manifest in a record ConfigMap before its DELETE; off, the "
        "'deleting' log lines are the only copy.",
    ),
    RECORD_NAMESPACE,
    option(
        "--record-retention",
        type=Duration(),
        default="30d",
        help="Records older than this are deleted by later sweeps; 0 = keep them.",
    ),
]


def fleet_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``sweep``'s fleet mode: many kubeconfig contexts in one run."""
    return apply_all(
        [
            option(
                "--all-contexts",
                is_flag=True,
                help="Sweep every context of the kubeconfig, each as its own sweep.",
            ),
            option(
                "--fleet-concurrency",
                type=int,
                default=4,
                help="Clusters swept at once with --all-contexts or repeated --context.",
            ),
        ],
        func,
    )


def build_settings(options: dict[str, Any]) -> Settings:
    """Validated ``Settings`` from parsed options; ``SettingsError`` on bad values."""
    from sweeper.core.settings import (
        ClusterAccess,
        Guards,
        Notices,
        Observing,
        Recording,
        Settings,
    )

    return Settings(
        access=ClusterAccess(
            kubeconfig=options.get("kubeconfig"),
            context=options.get("context"),
            request_timeout=options["request_timeout"].total_seconds(),
            insecure_skip_tls_verify=bool(options.get("insecure_skip_tls_verify")),
            page_size=options["page_size"],
            qps=options["qps"],
            burst=options["burst"],
            concurrency=options["concurrency"],
            read_concurrency=options.get("read_concurrency", 8),
            read_qps=options.get("read_qps", 50.0),
            read_burst=options.get("read_burst", 100),
        ),
        rules=_rules(options),
        guards=Guards(
            max_deletions=options["max_deletions"],
            max_deletion_percent=options["max_deletion_percent"],
            timeout=options["timeout"],
        ),
        notices=Notices(
            pushgateway_url=options.get("pushgateway_url") or None,
            notify_url=options.get("notify_url") or None,
            events=bool(options.get("events")),
            events_namespace=options.get("events_namespace") or None,
        ),
        observing=Observing(
            enabled=bool(options.get("observe_gatekeeper", True)),
            namespace=options.get("gatekeeper_namespace") or "gatekeeper-system",
            vap_default=options["gatekeeper_vap_default"],
            vapb_default=options["gatekeeper_vapb_default"],
        ),
        recording=Recording(
            enabled=bool(options.get("record", True)),
            namespace=options.get("record_namespace") or None,
            retention=options.get("record_retention", timedelta(days=30)),
        ),
        dry_run=options["dry_run"],
        log_level=options["log_level"],
        output=resolve_output(options.get("output")),
        output_requested=options.get("output") or "auto",
        cluster_name=options["cluster_name"],
    )


def _rules(options: dict[str, Any]) -> Rules:
    """What counts as dangling, from the decision options."""
    from sweeper.core.observe import resolve
    from sweeper.core.settings import Rules, compile_excludes, parse_reasons

    reasons = parse_reasons(options["reasons"], include_unowned=bool(options["include_unowned"]))
    return Rules(
        # Until Gatekeeper is observed: the options, else today's Gatekeeper defaults.
        gatekeeper=resolve(
            None,
            vap_option=options["gatekeeper_vap_default"],
            vapb_option=options["gatekeeper_vapb_default"],
        ).defaults,
        reasons=reasons,
        min_age=options["min_age"],
        exclude=compile_excludes(tuple(options["exclude"])),
    )


def settings_or_usage_error(options: dict[str, Any]) -> Settings:
    """``build_settings``, its errors turned into click usage errors (exit 2)."""
    from sweeper.core.settings import SettingsError

    try:
        return build_settings(options)
    except SettingsError as error:
        raise click.UsageError(str(error)) from None


# The options of ``sweep`` that change what its plan decides, with its deadline and output:
# what a command that judges as ``sweep`` does, without writing, takes (``explain``). An
# option added to ``sweep_options`` that changes a verdict belongs here as well.
DECISION_OPTIONS = (
    "min_age",
    "reasons",
    "include_unowned",
    "exclude",
    "observe_gatekeeper",
    "gatekeeper_namespace",
    "gatekeeper_vap_default",
    "gatekeeper_vapb_default",
    "timeout",
)


def _sweep_params() -> dict[str | None, click.Parameter]:
    """Fresh copies of the options ``sweep_options`` declares, by name."""
    return {param.name: param for param in sweep_options(click.Command("sweep")).params}


def decision_options(command: click.Command) -> click.Command:
    """Give ``command`` the ``DECISION_OPTIONS`` exactly as ``sweep`` declares them, and
    ``OUTPUT``.

    Applied above ``@cli.command()``: it takes the command built there.
    """
    params = _sweep_params()
    command.params.extend(params[name] for name in DECISION_OPTIONS)
    return OUTPUT(command)


def decision_settings(options: dict[str, Any]) -> Settings:
    """Settings for a command that judges as ``sweep`` does but never writes: its options
    over the defaults of every other sweep option (which only matter when writing)."""
    params = _sweep_params()
    ctx = click.Context(click.Command("sweep", params=list(params.values())))
    defaults = {
        name: param.process_value(ctx, param.get_default(ctx)) for name, param in params.items()
    }
    return settings_or_usage_error({**defaults, **options, "dry_run": True})
