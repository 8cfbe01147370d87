"""Command line: ``sweeper sweep``, ``sweeper demo`` and ``sweeper version``.

Every option can also be set with a ``SWEEPER_<OPTION>`` environment variable. Bad input
ends with one ``sweeper: error: ...`` line on stderr and exit code 2, never a traceback.
Heavy modules are imported inside the commands, so ``sweeper version`` starts fast.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

from sweeper import __version__
from sweeper.reasons import ExitCode

_LOG_LEVELS = ("debug", "info", "warning", "error")


class Duration(click.ParamType):
    """``30s``, ``5m``, ``1h``, ``1h30m``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from sweeper.settings import SettingsError, parse_duration

        try:
            return parse_duration(str(value))
        except SettingsError as error:
            self.fail(str(error), param, ctx)


def option(*decls: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A click option whose environment variable is ``SWEEPER_<LONG NAME>``."""
    long_name = next(d for d in decls if d.startswith("--")).split("/")[0]
    envvar = "SWEEPER_" + long_name.lstrip("-").replace("-", "_").upper()
    kwargs.setdefault("show_default", True)
    return click.option(*decls, envvar=envvar, show_envvar=True, **kwargs)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Delete the ValidatingAdmissionPolicies and bindings Gatekeeper generated and left behind."""


def sweep_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``sweep`` (``demo`` takes the same, minus cluster access)."""
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
            "--request-timeout", type=Duration(), default="30s", help="Timeout of each API request."
        ),
        option(
            "--reasons",
            default="default",
            show_default="all but orphaned-unowned",
            help="Comma-separated reasons to act on, or 'all'. Other candidates are only "
            "reported.",
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
            type=click.IntRange(min=0),
            default=50,
            help="Abort before deleting anything if more are planned; 0 = unlimited.",
        ),
        option(
            "--max-deletion-percent",
            type=click.FloatRange(0, 100),
            default=50.0,
            help="Abort if more than this percent of Gatekeeper's objects would go; 0 = off.",
        ),
        option(
            "--gatekeeper-vap-default/--no-gatekeeper-vap-default",
            default=True,
            show_default="on",
            help="Mirror Gatekeeper's --default-create-vap-for-templates.",
        ),
        option(
            "--gatekeeper-vapb-default/--no-gatekeeper-vapb-default",
            default=True,
            show_default="on",
            help="Mirror Gatekeeper's --default-create-vap-binding-for-constraints.",
        ),
        option(
            "--page-size", type=click.IntRange(1, 10_000), default=500, help="Items per LIST page."
        ),
        option(
            "--qps",
            type=click.FloatRange(min=0.001),
            default=10.0,
            help="Re-checks and deletions per second, on average.",
        ),
        option(
            "--burst",
            type=click.IntRange(min=1),
            default=20,
            help="Re-checks and deletions allowed at once above --qps.",
        ),
        option(
            "--concurrency",
            type=click.IntRange(1, 64),
            default=4,
            help="Deletions in flight at once.",
        ),
        option(
            "--log-level",
            type=click.Choice(_LOG_LEVELS),
            default="info",
            help="Least severe log lines written.",
        ),
        option("--cluster-name", default=None, help="Adds a 'cluster' field to every log line."),
        option(
            "--output",
            type=click.Choice(("json", "table")),
            default="json",
            help="JSON log lines, or an aligned table of verdicts and a summary for people.",
        ),
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
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@cli.command()
@option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="Kubeconfig file (default: in-cluster config in a pod, else $KUBECONFIG, "
    "else ~/.kube/config).",
)
@option("--context", default=None, help="Kubeconfig context to use.")
@option(
    "--insecure-skip-tls-verify",
    is_flag=True,
    help="Do not verify the API server's certificate (logged as a warning).",
)
@sweep_options
def sweep(**options: Any) -> None:
    """Find and delete dangling Gatekeeper-generated VAPs and VAPBs."""
    settings = _settings_or_usage_error(options)
    click.get_current_context().exit(_run(settings))


@cli.command()
@sweep_options
def demo(**options: Any) -> None:
    """Sweep a built-in sample cluster served on 127.0.0.1 (no cluster needed)."""
    import tempfile
    from pathlib import Path

    from sweeper.testing import FakeApiServer
    from sweeper.testing.sample import seed_sample_cluster

    with FakeApiServer() as server, tempfile.TemporaryDirectory() as tmp:
        seed_sample_cluster(server)
        options.update(
            kubeconfig=server.write_kubeconfig(Path(tmp) / "kubeconfig"),
            context=None,
            insecure_skip_tls_verify=False,
        )
        code = _run(_settings_or_usage_error(options))
    click.get_current_context().exit(code)


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"sweeper {__version__}")


def build_settings(options: dict[str, Any]) -> Any:
    """Validated ``Settings`` from parsed options; ``SettingsError`` on bad values."""
    from sweeper.gatekeeper import GatekeeperDefaults
    from sweeper.reasons import DEFAULT_REASONS, Reason
    from sweeper.settings import (
        ClusterAccess,
        Guards,
        Notices,
        Rules,
        Settings,
        compile_excludes,
        parse_reasons,
    )

    reasons = (
        DEFAULT_REASONS if options["reasons"] == "default" else parse_reasons(options["reasons"])
    )
    if options["include_unowned"]:
        reasons = reasons | {Reason.ORPHANED_UNOWNED}
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
        ),
        rules=Rules(
            gatekeeper=GatekeeperDefaults(
                create_vap=options["gatekeeper_vap_default"],
                create_vapb=options["gatekeeper_vapb_default"],
            ),
            reasons=reasons,
            min_age=options["min_age"],
            exclude=compile_excludes(tuple(options["exclude"])),
        ),
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
        dry_run=options["dry_run"],
        log_level=options["log_level"],
        output=options.get("output") or "json",
        cluster_name=options["cluster_name"],
    )


def _settings_or_usage_error(options: dict[str, Any]) -> Any:
    from sweeper.settings import SettingsError

    try:
        return build_settings(options)
    except SettingsError as error:
        raise click.UsageError(str(error)) from None


def _run(settings: Any) -> int:
    from sweeper.report import Reporter
    from sweeper.sweep import Runtime, run_sweep

    # Libraries that log through the root logger must not reach stderr by way of
    # logging.basicConfig(): stdout carries the JSON lines, stderr one error line at most.
    logging.getLogger().addHandler(logging.NullHandler())
    runtime = Runtime()
    restore = _stop_on_signals(runtime.stop)
    reporter = Reporter(
        level=settings.log_level, cluster_name=settings.cluster_name, output=settings.output
    )
    try:
        result = run_sweep(settings, reporter=reporter, runtime=runtime)
    finally:
        reporter.close()
        restore()
    if result.error and result.exit_code != ExitCode.OK:
        click.echo(f"sweeper: error: {result.error}", err=True)
    return result.exit_code


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop``: the request in flight finishes, then the sweep ends."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps every error to one stderr line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        click.echo(
            "sweeper: error: Missing command: use 'sweeper sweep' (see 'sweeper --help')", err=True
        )
        sys.exit(ExitCode.USAGE)
    try:
        code = cli.main(args=args, prog_name="sweeper", standalone_mode=False)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except click.ClickException as error:
        click.echo(f"sweeper: error: {error.format_message()}", err=True)
        code = ExitCode.USAGE
    except click.exceptions.Abort:
        click.echo("sweeper: error: aborted", err=True)
        code = 130
    except Exception as error:  # a bug: still one line, never a traceback in the JSON stream
        click.echo(f"sweeper: error: internal error: {type(error).__name__}: {error}", err=True)
        code = ExitCode.DELETE_FAILED
    sys.exit(int(code or 0))


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@option(
    "--sweep-id",
    multiple=True,
    metavar="ID",
    help="Restore only what these sweeps deleted (repeatable).",
)
@option("--name", multiple=True, help="Restore only objects of this name (repeatable).")
@option(
    "--since",
    default=None,
    metavar="TIME",
    help="Only deletions at or after this RFC 3339 time, or this long ago (e.g. 2h).",
)
@option(
    "--until",
    default=None,
    metavar="TIME",
    help="Only deletions at or before this RFC 3339 time, or this long ago.",
)
@option("--dry-run", is_flag=True, help="Send the creates with dryRun=All: nothing is stored.")
@option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="Kubeconfig file (default: in-cluster config in a pod, else $KUBECONFIG, "
    "else ~/.kube/config).",
)
@option("--context", default=None, help="Kubeconfig context to use.")
@option(
    "--insecure-skip-tls-verify",
    is_flag=True,
    help="Do not verify the API server's certificate.",
)
@option("--request-timeout", type=Duration(), default="30s", help="Timeout of each API request.")
def restore(files: tuple[str, ...], **options: Any) -> None:
    """Re-create deleted VAPs and VAPBs from the sweeper's JSON log lines ('-' is stdin).

    Never overwrites an existing object. Needs create on validatingadmissionpolicies and
    validatingadmissionpolicybindings: run it with your own credentials, not the CronJob's.
    """
    from sweeper.restore import restore_command

    click.get_current_context().exit(restore_command(files, options))
