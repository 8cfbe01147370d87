"""Shared test helpers: fixed clocks, test settings and an in-process sweep runner that never
waits. Fixtures live in ``conftest.py``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.settings import ClusterAccess, Guards, Notices, Observing, Rules, Settings
from sweeper.core.versions import parse_version
from sweeper.output import logschema
from sweeper.output.report import Reporter
from sweeper.runs.sweep import Runtime, SweepResult, run_sweep
from sweeper.testing.sample import GATEKEEPER_VERSION

# Objects are created at T0 by the server's clock; sweeps run an hour later.
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
# The uid of kube-system in the `server` fixture's cluster: the cluster_uid of its lines.
CLUSTER_UID = "c0ffee00-0000-4000-8000-000000000001"


@dataclass
class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class SweepRun:
    result: SweepResult
    lines: list[dict[str, Any]]
    time: FakeTime

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == event]

    def names(self, event: str) -> set[str]:
        return {line["object_name"] for line in self.events(event)}

    @property
    def summary(self) -> dict[str, Any]:
        summaries = self.events("sweep_summary")
        assert len(summaries) == 1, summaries
        assert self.lines[-1] is summaries[0], "the summary must be the last line"
        return summaries[0]


SAMPLE_GATEKEEPER = GatekeeperDefaults(version=parse_version(GATEKEEPER_VERSION))


def settings_for(kubeconfig: str, **changes: Any) -> Settings:
    """Test settings: no min age, Gatekeeper not observed; any field of Settings or of one of
    its groups, or a whole group by its name."""
    groups = {
        "access": ClusterAccess(kubeconfig=kubeconfig, request_timeout=5.0),
        # The Gatekeeper the sample cluster deploys (v3.23.0: new binding names, flags on).
        "rules": Rules(min_age=timedelta(0), gatekeeper=SAMPLE_GATEKEEPER),
        "guards": Guards(),
        "notices": Notices(),
        # A fixed Gatekeeper (``gatekeeper=`` in Rules) unless a test observes one.
        "observing": Observing(enabled=False),
    }
    top: dict[str, Any] = {}
    for key, value in changes.items():
        if key in groups:  # a whole group, e.g. observing=Observing(...)
            groups[key] = value
            continue
        for name, group in groups.items():
            if key in group.__dataclass_fields__:
                groups[name] = replace(group, **{key: value})
                break
        else:
            top[key] = value
    return Settings(**groups, **top)


def fake_runtime(fake: FakeTime, *, now: datetime = NOW) -> Runtime:
    """A Runtime whose clocks and waits are ``fake``'s: nothing in a test sleeps for real."""
    return Runtime(
        now=lambda: now,
        monotonic=fake.monotonic,
        sleep=fake.sleep,
        environ={},
    )


def sweep(kubeconfig: str, *, now: datetime = NOW, **changes: Any) -> SweepRun:
    """Run one sweep in-process with a fake clock; returns its parsed JSON lines."""
    stream = io.StringIO()
    fake = FakeTime()
    runtime = fake_runtime(fake, now=now)
    settings = settings_for(kubeconfig, **changes)
    reporter = Reporter(stream=stream, level=settings.log_level, cluster_name=settings.cluster_name)
    result = run_sweep(settings, reporter=reporter, runtime=runtime)
    reporter.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        logschema.check(line)  # every line any test produces conforms to docs/logging.md
    return SweepRun(result, lines, fake)


def run_main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m sweeper ARGS`` in a fresh process with a bare environment."""
    return subprocess.run(
        [sys.executable, "-m", "sweeper", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def tool_env(state_dir: Path) -> dict[str, str]:
    """The environment for an external program a test starts: every place it could keep
    state (HOME, kubectl's config and cache, the XDG dirs, TMPDIR) under ``state_dir``, the
    test's tmp dir, and nothing else inherited but PATH (tests/test_machine_state.py)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    home = str(state_dir)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TMPDIR": home,
        "KUBECONFIG": str(state_dir / "kubeconfig"),
        "KUBECACHEDIR": str(state_dir / "kube-cache"),
        "XDG_CACHE_HOME": str(state_dir / "cache"),
        "XDG_CONFIG_HOME": str(state_dir / "config"),
        "XDG_DATA_HOME": str(state_dir / "data"),
        "XDG_STATE_HOME": str(state_dir / "state"),
    }
