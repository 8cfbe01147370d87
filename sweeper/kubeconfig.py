"""Loading the cluster configuration: in-cluster inside a pod, else a kubeconfig.

Picks the source explicitly (``config.load_config()`` prints to stdout on one path, which
would break the JSON log) and resolves ``KUBECONFIG`` at call time (the client reads it at
import). Turns the client's own urllib3 retries off: the sweeper owns its retry policy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sweeper.kube import one_line
from sweeper.settings import ClusterAccess


class ConfigError(Exception):
    """The cluster configuration cannot be loaded; the message is one line."""


def load_configuration(access: ClusterAccess, environ: Mapping[str, str] | None = None) -> Any:
    """In-cluster config inside a pod unless a kubeconfig was named, else the kubeconfig."""
    from kubernetes import client, config

    env = os.environ if environ is None else environ
    cfg = client.Configuration()
    try:
        if access.kubeconfig is None and env.get("KUBERNETES_SERVICE_HOST"):
            # load_config() would print to stdout on this path; pick explicitly instead.
            config.load_incluster_config(client_configuration=cfg)
        else:
            path = access.kubeconfig or env.get("KUBECONFIG") or "~/.kube/config"
            first = os.path.expanduser(path.split(os.pathsep)[0])
            if not os.path.isfile(first):
                raise ConfigError(f"cannot read kubeconfig {first}: no such file")
            config.load_kube_config(
                config_file=path,
                context=access.context,
                client_configuration=cfg,
                persist_config=False,
            )
    except ConfigError:
        raise
    except Exception as error:  # the loaders raise many types; all mean "bad configuration"
        raise ConfigError(f"cannot load cluster configuration: {one_line(error)}") from None
    cfg.retries = False  # urllib3 would otherwise retry silently and follow Retry-After uncapped
    if access.insecure_skip_tls_verify:
        cfg.verify_ssl = False
    cfg.connection_pool_maxsize = max(4, access.concurrency + 1)
    return cfg
