"""Shell completion of values: kubeconfig contexts, ``--reasons`` lists, and the names of
the cluster's VAPs and VAPBs for ``explain``.

Contract: every function here answers a list of candidates and never raises, prints or
waits long: completion runs on each Tab, so a missing kubeconfig, an unreachable cluster or
a refused list gives no candidates (silently), and a cluster is asked only when
``--kubeconfig`` (or ``SWEEPER_KUBECONFIG``) names a kubeconfig, with one short LIST each
of bindings and policies.
"""

from __future__ import annotations

import os
from typing import Any

import click
from click.shell_completion import CompletionItem

NAME_LIST_LIMIT = 500  # items per page
NAME_LIST_TIMEOUT_SECONDS = 3.0


def contexts(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The contexts of the kubeconfig the command line names (else ``$KUBECONFIG``, else
    ``~/.kube/config``)."""
    try:
        from sweeper.cluster.kubeconfig import kubeconfig_contexts

        names = kubeconfig_contexts(ctx.params.get("kubeconfig"))
    except Exception:  # completion never fails: no candidates instead
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def reasons(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``all``, or the deletion reasons, completing the last item of a comma-separated list."""
    from sweeper.core.reasons import DELETE_REASONS

    done, _, last = incomplete.rpartition(",")
    chosen = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    names = sorted(r.value for r in DELETE_REASONS if r.value not in chosen)
    if not done:
        names = ["all", *names]
    return [CompletionItem(prefix + name) for name in names if name.startswith(last)]


def object_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Names of the cluster's VAPBs and VAPs, when a kubeconfig is named on the command line
    or in ``SWEEPER_KUBECONFIG``; nothing otherwise (no surprise requests to a cluster)."""
    kubeconfig = ctx.params.get("kubeconfig") or os.environ.get("SWEEPER_KUBECONFIG")
    if not kubeconfig:
        return []
    try:
        names = _list_names(kubeconfig, ctx.params.get("context"))
    except Exception:  # unreachable, forbidden, a bad kubeconfig: no candidates
        return []
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def _list_names(kubeconfig: str, context: Any) -> set[str]:
    """The names of the v1 bindings and policies: no retries, a short timeout per page."""
    from kubernetes.client import ApiClient

    from sweeper.cluster.kube import KubeClient
    from sweeper.cluster.kubeconfig import load_configuration
    from sweeper.cluster.retry import Retrier, RetryPolicy
    from sweeper.core import paths
    from sweeper.core.settings import ClusterAccess

    access = ClusterAccess(
        kubeconfig=kubeconfig,
        context=context if isinstance(context, str) else None,
        request_timeout=NAME_LIST_TIMEOUT_SECONDS,
        page_size=NAME_LIST_LIMIT,
    )
    configuration = load_configuration(access, os.environ)
    once = Retrier(RetryPolicy(attempts=1))
    client = KubeClient(ApiClient(configuration), access=access, retrier=once)
    names: set[str] = set()
    for resource in (paths.BINDINGS, paths.POLICIES):
        names.update(client.list(paths.admission("v1", resource), transform=_name))
    return names


def _name(item: dict[str, Any]) -> str:
    metadata = item.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""
