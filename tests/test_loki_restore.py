"""The docs' "export what one sweep deleted, then restore it" recipe, run as written with the
real logcli against a real Loki: it brings back exactly what that sweep deleted.

The shell block is read from docs/logging.md; only its example sweep id is replaced by the
real sweep's. logcli finds Loki through LOKI_ADDR and the tenant through LOKI_ORG_ID (as an
operator's environment would give them); ``sweeper`` is this checkout's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import NOW, tool_env
from loki_data import AGENT_LABELS, Shipment, restore_recipe, sample_sweep, ship, sweep_stdout
from loki_service import Loki

from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

pytestmark = pytest.mark.loki
TENANT = "restore"
KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def names(server: FakeApiServer) -> set[str]:
    return {o["metadata"]["name"] for kind in KINDS for o in server.objects(kind)}


def test_the_logcli_recipe_restores_what_one_sweep_deleted(loki: Loki, tmp_path: Path) -> None:
    env = tool_env(tmp_path / "operator")
    tools = [str(loki.logcli.parent), str(Path(sys.executable).parent), env["PATH"]]
    env |= {"PATH": ":".join(tools), "LOKI_ADDR": loki.url, "LOKI_ORG_ID": TENANT}
    now = datetime.now(UTC)
    # Another sweep's deletions of the same names, an hour earlier: the recipe must not take them.
    earlier = sample_sweep(tmp_path / "earlier", "clean", "prod")
    with FakeApiServer(clock=lambda: NOW) as server:
        seed_sample_cluster(server, now=NOW)
        before = names(server)
        server.write_kubeconfig(env["KUBECONFIG"])
        lines = sweep_stdout(server, env["KUBECONFIG"], cluster="prod")
        records = [json.loads(line) for line in lines]
        deleted = {r["object_name"] for r in records if r["event"] == "deleted"}
        assert len(deleted) == 6 and names(server) == before - deleted
        ship(
            loki,
            TENANT,
            [
                Shipment(now - timedelta(hours=1), tuple(earlier), AGENT_LABELS),
                Shipment(now - timedelta(minutes=1), tuple(lines), AGENT_LABELS),
            ],
        )
        sweep_id = records[0]["sweep_id"]
        recipe = restore_recipe()
        assert len(re.findall(r'sweep_id="[0-9a-f]{12}"', recipe)) == 1
        script = re.sub(r'sweep_id="[0-9a-f]{12}"', f'sweep_id="{sweep_id}"', recipe)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        exported = (tmp_path / "deleted.log").read_text().splitlines()
        # exactly that sweep's deleted lines, unchanged (logcli prints the newest first)
        assert sorted(exported) == sorted(x for x in lines if json.loads(x)["event"] == "deleted")
        summaries = [
            json.loads(line)
            for line in done.stdout.splitlines()
            if json.loads(line)["event"] == "restore_summary"
        ]
        assert [s["dry_run"] for s in summaries] == [True, False]
        assert summaries[-1]["restored"] == 6 and summaries[-1]["exit_code"] == 0
        assert names(server) == before  # everything the sweep deleted is back
