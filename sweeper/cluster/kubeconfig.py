"""Loading the cluster configuration: in-cluster inside a pod, else a kubeconfig.

Picks the source explicitly (``config.load_config()`` prints to stdout on one path, which
would break the JSON log) and resolves ``KUBECONFIG`` at call time (the client reads it at
import). Turns the client's own urllib3 retries off: the sweeper owns its retry policy.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import urllib3

from sweeper.core.errors import one_line
from sweeper.core.settings import ClusterAccess


class ConfigError(Exception):
    """The cluster configuration cannot be loaded; the message is one line."""


class _Complaints(logging.Handler):
    """Collects the ERROR records logged while the configuration loads."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        # Only the loaders' own complaints, from this thread: not another library's.
        loader = f"{os.sep}kubernetes{os.sep}config{os.sep}" in record.pathname
        if loader and record.thread == self._thread:
            self.messages.append(" ".join(record.getMessage().split())[:300])


def _kubeconfig_files(named: str | None, env: Mapping[str, str]) -> str:
    """The kubeconfig file(s) to merge: ``--kubeconfig``, else ``$KUBECONFIG`` (missing
    entries skipped, as kubectl does), else ``~/.kube/config``."""
    listed = named or env.get("KUBECONFIG") or "~/.kube/config"
    paths = [os.path.expanduser(p) for p in listed.split(os.pathsep) if p]
    found = [p for p in paths if os.path.isfile(p)]
    if not found:
        first = paths[0] if paths else listed
        why = "is a directory" if os.path.isdir(first) else "no such file"
        raise ConfigError(f"cannot read kubeconfig {first}: {why}")
    return os.pathsep.join(found)


def _read_kubeconfig(path: str) -> dict[str, Any]:
    """One kubeconfig file as a mapping; a ConfigError naming the file (and line) if not."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read kubeconfig {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot load kubeconfig {path}: not a text file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(
            f"cannot load kubeconfig {path}: invalid YAML{where}: {problem}"
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"cannot load kubeconfig {path}: not a kubeconfig "
            "(expected a YAML mapping with clusters, contexts and users)"
        )
    return loaded


def _contexts(files: str) -> tuple[list[str], str | None]:
    """The context names of the merged files, in order (first one wins, as kubectl merges),
    and the first ``current-context`` set."""
    names: list[str] = []
    current = None
    for path in files.split(os.pathsep):
        document = _read_kubeconfig(path)
        entries = document.get("contexts")
        for entry in entries if isinstance(entries, list) else []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
        if current is None and isinstance(document.get("current-context"), str):
            current = document["current-context"] or None
    return names, current


def _choices(names: list[str], limit: int = 20) -> str:
    """``: its contexts are a, b`` for an error message (the first ``limit`` of them)."""
    if not names:
        return ": it has no context"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"; its contexts: {', '.join(names[:limit])}{more}"


def kubeconfig_contexts(named: str | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """The context names of the kubeconfig ``--kubeconfig`` names, else ``$KUBECONFIG``'s
    files, else ``~/.kube/config`` (for shell completion); ``ConfigError`` when unreadable."""
    return _contexts(_kubeconfig_files(named, os.environ if environ is None else environ))[0]


def check_kubeconfig(files: str, context: str | None) -> None:
    """The merged kubeconfig files hold the context to use; kubectl's words if they do not."""
    names, current = _contexts(files)
    wanted = context or current
    if wanted is None:
        raise ConfigError(f"current-context is not set in {files}: pass --context")
    if wanted not in names:
        raise ConfigError(f'context "{wanted}" does not exist in {files}{_choices(names)}')


def in_cluster(access: ClusterAccess, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``load_configuration`` would use the pod's in-cluster config."""
    env = os.environ if environ is None else environ
    return access.kubeconfig is None and bool(env.get("KUBERNETES_SERVICE_HOST"))


def fleet_contexts(
    kubeconfig: str | None,
    wanted: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The contexts a fleet run sweeps: ``wanted`` (each checked to exist), or every context
    of the merged kubeconfig when ``wanted`` is empty; a ConfigError when there are none."""
    env = os.environ if environ is None else environ
    files = _kubeconfig_files(kubeconfig, env)
    names, _ = _contexts(files)
    for name in wanted:
        if name not in names:
            raise ConfigError(f'context "{name}" does not exist in {files}{_choices(names)}')
    chosen = list(dict.fromkeys(wanted)) if wanted else names
    if not chosen:
        raise ConfigError(f"no context in {files}")
    return chosen


def load_configuration(access: ClusterAccess, environ: Mapping[str, str] | None = None) -> Any:
    """In-cluster config inside a pod unless a kubeconfig was named, else the kubeconfig."""
    from kubernetes import client, config

    env = os.environ if environ is None else environ
    cfg = client.Configuration()
    # The loaders report some failures (an exec credential plugin that cannot run) only
    # through logging.error and go on without credentials: catch those as errors.
    complaints = _Complaints()
    logging.getLogger().addHandler(complaints)
    try:
        if in_cluster(access, env):
            # load_config() would print to stdout on this path; pick explicitly instead.
            config.load_incluster_config(client_configuration=cfg)
        else:
            files = _kubeconfig_files(access.kubeconfig, env)
            check_kubeconfig(files, access.context)
            config.load_kube_config(
                config_file=files,
                context=access.context,
                client_configuration=cfg,
                persist_config=False,
            )
    except ConfigError:
        raise
    except Exception as error:  # the loaders raise many types; all mean "bad configuration"
        raise ConfigError(f"cannot load cluster configuration: {one_line(error)}") from None
    finally:
        logging.getLogger().removeHandler(complaints)
    if complaints.messages:
        raise ConfigError(f"cannot load cluster configuration: {complaints.messages[0]}")
    cfg.retries = False  # urllib3 would otherwise retry silently and follow Retry-After uncapped
    if access.insecure_skip_tls_verify:
        cfg.verify_ssl = False
        # urllib3 would warn on stderr at every request; tls_verify_off says it once.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    # One connection per request in flight: deletions and gather's concurrent reads.
    cfg.connection_pool_maxsize = max(4, access.concurrency + 1, access.read_concurrency + 1)
    return cfg
