"""`sweeper demo --serve`: a sample Gatekeeper cluster on 127.0.0.1 to poke with kubectl.

Contract: serve() starts a FakeApiServer (HTTPS, fresh CA, bearer token), seeds it with the
sample cluster (every object an hour old, so the default --min-age lets a sweep act), writes
a kubeconfig for it (mode 0600), prints what to try, and serves until `stop` is set. It
listens on 127.0.0.1 only and never touches a real cluster.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
from pathlib import Path
from typing import TextIO

from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

DEFAULT_KUBECONFIG = "demo.kubeconfig"  # in the current directory; .gitignore lists it


def invoked_as(argv0: str | None = None, executable: str | None = None) -> str:
    """The command that runs this sweeper again, as the user typed it: ``.venv/bin/sweeper``
    when that is how it was started (the README never activates the venv, so a bare
    ``sweeper`` would not be found), else ``python -m sweeper`` with this interpreter."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if os.path.basename(argv0) == "sweeper":
        return shlex.quote(argv0)
    return f"{shlex.quote(executable or sys.executable)} -m sweeper"


def instructions(url: str, kubeconfig: Path, command: str = "sweeper") -> str:
    """What to try against the demo cluster, as shell commands that name `kubeconfig` and
    run the sweeper as ``command``."""
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
            f"  {command} sweep --kubeconfig {kc} --dry-run",
            f"  {command} sweep --kubeconfig {kc} > sweep.log",
            f"  {command} sweep --kubeconfig {kc}    # again: nothing left to delete",
            f"  {command} explain NAME --kubeconfig {kc}",
            f"  {command} restore --kubeconfig {kc} --name NAME sweep.log",
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
        out.write(instructions(server.url, kubeconfig_out, invoked_as()))
        out.flush()
        stop.wait()
