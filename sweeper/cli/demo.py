"""`sweeper demo --serve`: a sample Gatekeeper cluster on 127.0.0.1 to poke with kubectl.

Contract: serve() starts a FakeApiServer (HTTPS, fresh CA, bearer token), seeds it with the
sample cluster (every object an hour old, so the default --min-age lets a sweep act), writes
a kubeconfig for it (mode 0600), prints what to try, and serves until `stop` is set. It
listens on 127.0.0.1 only and never touches a real cluster.
"""

from __future__ import annotations

import shlex
import threading
from pathlib import Path
from typing import TextIO

from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster


def instructions(url: str, kubeconfig: Path) -> str:
    """What to try against the demo cluster, as shell commands that name `kubeconfig`."""
    kc = shlex.quote(str(kubeconfig))
    return "\n".join(
        [
            f"A sample Gatekeeper cluster is served at {url}.",
            f"Kubeconfig (CA and token included): {kubeconfig}",
            "",
            "Look around:",
            f"  kubectl --kubeconfig {kc} get constrainttemplates",
            f"  kubectl --kubeconfig {kc} get constraints",
            f"  kubectl --kubeconfig {kc} get validatingadmissionpolicybindings",
            "Sweep it:",
            f"  sweeper sweep --kubeconfig {kc} --dry-run -o table",
            f"  sweeper sweep --kubeconfig {kc}",
            f"  sweeper sweep --kubeconfig {kc}    # again: nothing left to delete",
            f"  sweeper explain NAME --kubeconfig {kc}",
            "",
            "Press Ctrl-C to stop; the cluster lives in memory and goes with it.",
            "",
        ]
    )


def serve(kubeconfig_out: Path, *, out: TextIO, stop: threading.Event) -> None:
    """Serve the sample cluster until `stop` is set; the kubeconfig is left in place."""
    with FakeApiServer() as server:
        seed_sample_cluster(server)
        server.write_kubeconfig(kubeconfig_out, context="sweeper-demo")
        out.write(instructions(server.url, kubeconfig_out))
        out.flush()
        stop.wait()
