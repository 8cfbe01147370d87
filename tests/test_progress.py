"""Visible progress: each retry is a warning line, a request that keeps waiting says so, and
``--log-level debug`` logs every request. Sweeps run in-process against the fake API server
with a fake clock; the slow-request threshold is lowered so no test waits 10 real seconds.
"""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import replace
from typing import Any

from helpers import NOW, FakeTime, fake_runtime, settings_for

from sweeper.core.errors import ApiError
from sweeper.output import logschema
from sweeper.output.progress import InFlight, Progress, Watchdog, cause
from sweeper.output.report import Reporter
from sweeper.runs.sweep import run_sweep
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
POLICIES = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"


def run(
    kubeconfig: str, *, slow_after: float = 10.0, output: str = "json", **changes: Any
) -> tuple[int, list[dict[str, Any]], str, FakeTime]:
    """One sweep; (exit code, JSON lines checked against the schema, raw text, fake time)."""
    stream, fake = io.StringIO(), FakeTime()
    runtime = replace(fake_runtime(fake), slow_request_seconds=slow_after)
    settings = settings_for(kubeconfig, output=output, **changes)
    reporter = Reporter(stream=stream, level=settings.log_level, output=output, now=lambda: NOW)
    result = run_sweep(settings, reporter=reporter, runtime=runtime)
    reporter.close()
    text = stream.getvalue()
    lines = [] if output != "json" else [json.loads(line) for line in text.splitlines()]
    for line in lines:
        logschema.check(line)
    return result.exit_code, lines, text, fake


def of(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == event]


# --- retries -------------------------------------------------------------------------------


def test_each_retry_is_a_warning_with_verb_path_attempt_cause_and_wait(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=f"{BINDINGS}$", status=503, times=2)
    code, lines, _, fake = run(kubeconfig)
    assert code == 0
    retried = of(lines, "request_retried")
    assert [line["attempt"] for line in retried] == [1, 2]
    for line in retried:
        assert line["level"] == "warning"
        assert (line["verb"], line["path"]) == ("list", BINDINGS)
        assert line["cause"].startswith("HTTP 503: ")
        assert BINDINGS not in line["cause"]  # the path is a field of its own
    # The logged wait is the wait the sweep then slept (the fake clock records both).
    assert [line["wait_seconds"] for line in retried] == [round(s, 3) for s in fake.sleeps[:2]]
    # The retry line comes before the line of what the retried request fed.
    assert lines.index(retried[-1]) < lines.index(of(lines, "sweep_summary")[0])


def test_a_retry_after_is_the_logged_wait(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=f"{POLICIES}$", status=429, retry_after="7", times=1)
    code, lines, _, _ = run(kubeconfig)
    assert code == 0
    [line] = of(lines, "request_retried")
    assert line["wait_seconds"] == 7 and line["cause"].startswith("HTTP 429")


def test_a_dropped_connection_is_retried_with_a_one_line_cause(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=f"{BINDINGS}$", drop=True, times=1)
    code, lines, _, _ = run(kubeconfig, log_level="debug")
    assert code == 0
    [line] = of(lines, "request_retried")
    assert line["cause"].startswith("connection error: ") and "\n" not in line["cause"]
    # The debug line of the dropped request has no status, and says what happened.
    [dropped] = [s for s in of(lines, "request_sent") if "status" not in s]
    assert dropped["path"] == BINDINGS and dropped["error"]


def test_cause_is_one_line_without_verb_and_path() -> None:
    error = ApiError(verb="get", path="/x", status=500, message="first line\nsecond line")
    assert cause(error) == "HTTP 500: first line"


def test_retries_are_one_note_in_the_table(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=f"{BINDINGS}$", status=503, times=3)
    server.inject(method="GET", path=f"{POLICIES}$", status=503, times=1)
    code, _, text, _ = run(kubeconfig, output="table", dry_run=True)
    assert code == 0
    [note] = [line for line in text.splitlines() if "retried" in line]
    # Which list retried last depends on the order of the reads; the note names it.
    assert note.startswith("warning: 2 requests retried (4 retries; last: list ")
    assert note.endswith(": HTTP 503: injected fault: HTTP 503)")
    assert BINDINGS in note or POLICIES in note


# --- debug: every request --------------------------------------------------------------------


def test_debug_logs_every_request_with_status_duration_and_page(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.clear_requests()
    code, lines, _, _ = run(kubeconfig, log_level="debug", page_size=2)
    assert code == 0
    sent = of(lines, "request_sent")
    assert len(sent) == len(server.requests)  # one line per request the server saw
    assert all(line["level"] == "debug" and line["duration_ms"] >= 0 for line in sent)
    assert {line["status"] for line in sent} <= {200, 201, 404}
    bindings = [line for line in sent if line["path"] == BINDINGS and line["verb"] == "list"]
    assert len(bindings) >= 2  # the sample cluster has more bindings than a page holds
    assert [line["page"] for line in bindings] == list(range(1, len(bindings) + 1))
    assert all("page" not in line for line in sent if line["verb"] != "list")


def test_info_logs_no_request_lines(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    code, lines, _, _ = run(kubeconfig)
    assert code == 0
    assert not [line for line in lines if line["event"].startswith("request_")]


def test_at_info_the_observer_is_not_asked_for_timings() -> None:
    ends: list[object] = []

    class Recording(Progress):
        def end(self, token: object, sent: Any) -> None:
            ends.append(sent)
            super().end(token, sent)

    progress = Recording(Reporter(stream=io.StringIO()), debug=False)
    assert progress.detailed is False
    token = progress.begin("get", "/x", 5.0)
    progress.end(token, None)
    assert ends == [None]


# --- slow requests ---------------------------------------------------------------------------


def test_a_slow_request_says_once_that_it_is_waiting(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=f"{POLICIES}$", delay=0.5, times=1)
    started = time.monotonic()
    code, lines, _, _ = run(kubeconfig, slow_after=0.1)
    assert time.monotonic() - started < 10  # bounded: the delay, not a 10 s threshold
    assert code == 0
    [waiting] = of(lines, "request_waiting")
    assert waiting["level"] == "warning"
    assert (waiting["verb"], waiting["path"]) == ("list", POLICIES)
    assert 0.1 <= waiting["waited_seconds"] < 0.5
    assert waiting["timeout_seconds"] == 5.0  # the test settings' --request-timeout
    # It is written while the request waits: before anything the answer leads to.
    assert lines.index(waiting) < lines.index(of(lines, "sweep_summary")[0])


def test_fast_requests_never_say_they_wait(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    code, lines, _, _ = run(kubeconfig, slow_after=0.3)
    assert code == 0 and not of(lines, "request_waiting")


def test_the_watchdog_reports_each_slow_request_once_and_then_stops() -> None:
    slow: list[tuple[str, float]] = []
    reported = threading.Event()

    def on_slow(request: InFlight, waited: float) -> None:
        slow.append((request.path, waited))
        reported.set()

    watchdog = Watchdog(0.05, on_slow=on_slow)
    quick = watchdog.begin(InFlight("get", "/quick", 1.0))
    watchdog.end(quick)
    token = watchdog.begin(InFlight("get", "/slow", 1.0))
    assert reported.wait(timeout=5)
    time.sleep(0.2)  # several more polls while it is still in flight: no second report
    watchdog.end(token)
    assert [path for path, _ in slow] == ["/slow"]
    assert slow[0][1] >= 0.05
    # With nothing in flight the thread ends (bounded wait).
    deadline = time.monotonic() + 5
    while watchdog._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watchdog._thread is None
