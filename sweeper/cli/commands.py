"""Command line: ``sweeper sweep``, ``restore``, ``explain``, ``demo`` and ``version``.

Every option can also be set with a ``SWEEPER_<OPTION>`` environment variable
(``sweeper.cli.options``). Bad input ends with one ``sweeper: error: ...`` line on stderr and
exit code 2, never a traceback. Heavy modules are imported inside the commands, so
``sweeper --version`` starts fast.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from sweeper import __version__
from sweeper.cli import completion
from sweeper.cli.options import (
    OUTPUT,
    RECORD_NAMESPACE,
    REQUEST_TIMEOUT,
    connection_options,
    decision_options,
    fleet_options,
    option,
    resolve_output,
    settings_or_usage_error,
    sweep_options,
)
from sweeper.core.reasons import ExitCode

if TYPE_CHECKING:
    from sweeper.core.settings import Settings


# Every command answers --version too: `sweeper sweep --version` is what people type.
VERSION_OPTION = click.version_option(
    __version__, "--version", prog_name="sweeper", message="%(prog)s %(version)s"
)


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@VERSION_OPTION
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Delete the ValidatingAdmissionPolicies and bindings Gatekeeper generated and left behind.

    Shell completion: eval "$(_SWEEPER_COMPLETE=bash_source sweeper)" (zsh_source and
    fish_source for zsh and fish).
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command()
@connection_options
@sweep_options
@fleet_options
@VERSION_OPTION
def sweep(**options: Any) -> None:
    """Find and delete dangling Gatekeeper-generated VAPs and VAPBs.

    With --all-contexts or --context given several times, sweeps each cluster on its own
    and ends with a fleet_summary (exit code: the worst, ranked 2, 3, 1, 4, 0).
    """
    all_contexts, fleet_concurrency = options.pop("all_contexts"), options.pop("fleet_concurrency")
    if all_contexts or isinstance(options["context"], tuple):
        click.get_current_context().exit(_run_fleet(options, all_contexts, fleet_concurrency))
    settings = settings_or_usage_error(options)
    click.get_current_context().exit(_run(settings))


@cli.command()
@sweep_options
@REQUEST_TIMEOUT
@click.option(
    "--serve",
    is_flag=True,
    help="Serve the sample cluster until Ctrl-C instead of sweeping it (for kubectl).",
)
@click.option(
    "--kubeconfig-out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    metavar="PATH",
    help="With --serve: where to write the sample cluster's kubeconfig "
    "(default: demo.kubeconfig in the current directory).",
)
@VERSION_OPTION
def demo(serve: bool, kubeconfig_out: str | None, **options: Any) -> None:
    """Sweep a built-in sample cluster served on 127.0.0.1 (no cluster needed)."""
    import tempfile
    from pathlib import Path

    from sweeper.cli.demo import DEFAULT_KUBECONFIG
    from sweeper.testing import FakeApiServer
    from sweeper.testing.sample import seed_sample_cluster

    if kubeconfig_out and not serve:
        raise click.UsageError("--kubeconfig-out goes with --serve")
    if serve:
        click.get_current_context().exit(_serve_demo(Path(kubeconfig_out or DEFAULT_KUBECONFIG)))
    with FakeApiServer() as server, tempfile.TemporaryDirectory() as tmp:
        seed_sample_cluster(server)
        options.update(
            kubeconfig=server.write_kubeconfig(Path(tmp) / "kubeconfig"),
            context=None,
            insecure_skip_tls_verify=False,
        )
        code = _run(settings_or_usage_error(options))
    click.get_current_context().exit(code)


@cli.command()
@VERSION_OPTION
def version() -> None:
    """Print the version."""
    click.echo(f"sweeper {__version__}")


@cli.command()
@click.argument("files", nargs=-1, metavar="[FILE...]")
@option(
    "--from-cluster",
    is_flag=True,
    help="Read the record ConfigMaps the sweeps wrote instead of log files.",
)
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
@option(
    "--reason",
    multiple=True,
    help="Restore only what was deleted for this reason (repeatable).",
)
@option(
    "--cluster-uid",
    default=None,
    metavar="UID",
    help="Restore lines of the cluster with this kube-system uid here, on purpose (e.g. a "
    "rebuilt cluster); by default only this cluster's lines are accepted.",
)
@RECORD_NAMESPACE
@option(
    "--dry-run",
    is_flag=True,
    help="Send the creates with dryRun=All and log exactly what would be created.",
)
@connection_options
@OUTPUT
@VERSION_OPTION
def restore(files: tuple[str, ...], **options: Any) -> None:
    """Re-create deleted VAPs and VAPBs from the sweeper's JSON log lines ('-' is stdin), or
    with --from-cluster from its records.

    Creates only Gatekeeper-shaped objects deleted from this cluster, annotated
    sweeper.gatekeeper.sh/restored-at (later sweeps keep them until it is removed); never
    overwrites an existing object. Needs create on validatingadmissionpolicies and
    validatingadmissionpolicybindings: run it with your own credentials, not the CronJob's.
    """
    from sweeper.runs.restore import restore_command

    options["output"] = resolve_output(options.get("output"))
    click.get_current_context().exit(restore_command(files, options))


@decision_options
@cli.command()
@click.argument(
    "names",
    nargs=-1,
    required=True,
    metavar="NAME...",
    shell_complete=completion.object_names,
)
@RECORD_NAMESPACE
@connection_options
@VERSION_OPTION
def explain(names: tuple[str, ...], **options: Any) -> None:
    """Why a sweep would (not) delete these VAPs and VAPBs now: the facts, the row, the verdict.

    Reads the cluster exactly as 'sweep' does and takes the options that change its
    decisions; only GET requests, it never writes. A name the cluster no longer has is
    looked up in the sweeps' records (deleted by which sweep, when, why, how to restore it);
    one found nowhere exits 2.
    """
    from sweeper.cli.options import decision_settings
    from sweeper.runs.explain import explain_command

    logging.getLogger().addHandler(logging.NullHandler())  # as in _run: stderr stays ours
    click.get_current_context().exit(explain_command(names, decision_settings(options)))


def _run(settings: Settings) -> int:
    from sweeper.output.report import Reporter
    from sweeper.runs.sweep import Runtime, run_sweep

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


def _serve_demo(kubeconfig_out: Any) -> int:
    """``demo --serve``: the sample cluster until SIGINT/SIGTERM."""
    from sweeper.cli.demo import serve

    stop = threading.Event()
    restore = _stop_on_signals(stop)
    try:
        serve(kubeconfig_out, out=sys.stdout, stop=stop)
    finally:
        restore()
    return 0


def _run_fleet(options: dict[str, Any], all_contexts: bool, fleet_concurrency: int) -> int:
    from sweeper.cluster.kubeconfig import ConfigError, fleet_contexts, in_cluster
    from sweeper.runs import fleet
    from sweeper.runs.sweep import Runtime

    wanted = options["context"] or ()
    if all_contexts and wanted:
        raise click.UsageError("--all-contexts and --context exclude each other")
    settings = settings_or_usage_error({**options, "context": None})
    try:
        inside = in_cluster(settings.access)
        contexts = [] if inside else fleet_contexts(settings.access.kubeconfig, tuple(wanted))
        fleet.check_fleet_options(
            settings, contexts, fleet_concurrency=fleet_concurrency, in_cluster=inside
        )
    except (ConfigError, fleet.FleetError) as error:
        raise click.UsageError(str(error)) from None
    logging.getLogger().addHandler(logging.NullHandler())
    runtime = Runtime()
    restore = _stop_on_signals(runtime.stop)
    try:
        result = fleet.run_fleet(
            settings,
            contexts,
            fleet_concurrency=fleet_concurrency,
            runtime=runtime,
            stream=sys.stdout,
            processes=True,
        )
    finally:
        restore()
    for line in fleet.error_lines(result):
        click.echo(line, err=True)
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
