"""Reads at read speed: two budgets, a dry run shown from its lists, the next page asked for
early, a 429 holding the reads not yet sent. Clocks are injected: nothing here is timed."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from helpers import NOW, FakeTime, fake_runtime, settings_for

from sweeper.cluster.kube import ApiError, KubeClient
from sweeper.cluster.pages import peek, read_pages
from sweeper.cluster.retry import Retrier, RetryPolicy
from sweeper.core.settings import ClusterAccess
from sweeper.output.report import Reporter
from sweeper.runs.sweep import run_sweep
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

LEFTOVERS = 6  # the sample cluster's deletions with the default reasons


def _sweep(kubeconfig: str, fake: FakeTime, **changes: Any) -> tuple[int, list[dict[str, Any]]]:
    out: list[str] = []

    class Sink:
        def write(self, text: str) -> int:
            out.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    settings = settings_for(kubeconfig, **changes)
    reporter = Reporter(stream=Sink(), level="info")  # type: ignore[arg-type]
    result = run_sweep(settings, reporter=reporter, runtime=fake_runtime(fake))
    reporter.close()
    lines = [json.loads(line) for line in "".join(out).splitlines()]
    return result.exit_code, lines


def _client(kubeconfig: str, fake: FakeTime, **access: Any) -> KubeClient:
    from kubernetes.client import ApiClient

    from sweeper.cluster.kubeconfig import load_configuration

    settings = ClusterAccess(kubeconfig=kubeconfig, request_timeout=5.0, **access)
    retrier = Retrier(RetryPolicy(), clock=fake.monotonic, sleep=fake.sleep)
    return KubeClient(ApiClient(load_configuration(settings, {})), access=settings, retrier=retrier)


def test_a_dry_run_spends_no_deletion_tokens_and_reads_no_candidate(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    fake = FakeTime()
    # One deletion token a day: any candidate paced by the deletion budget would wait.
    code, lines = _sweep(kubeconfig, fake, dry_run=True, qps=1 / 86400, burst=1)
    shown = [line for line in lines if line["event"] == "would_delete"]
    assert code == 0 and len(shown) == LEFTOVERS
    assert all(line["manifest"]["metadata"]["name"] == line["object_name"] for line in shown)
    assert fake.sleeps == []  # and the reads fit the read burst
    gets = {r.name for r in server.requests if r.verb == "get" and r.name}
    assert not gets & {line["object_name"] for line in shown}  # no GET of a candidate


def test_a_dry_runs_manifests_are_a_real_sweeps(server: FakeApiServer, kubeconfig: str) -> None:
    seed_sample_cluster(server, now=NOW)
    _, dry = _sweep(kubeconfig, FakeTime(), dry_run=True)
    _, real = _sweep(kubeconfig, FakeTime())
    would = {
        line["object_name"]: line["manifest"] for line in dry if line["event"] == "would_delete"
    }
    deleted = {line["object_name"]: line["manifest"] for line in real if line["event"] == "deleted"}
    assert len(deleted) == LEFTOVERS and would == deleted


def test_reads_and_deletions_keep_to_their_own_budgets(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    fake = FakeTime()
    client = _client(kubeconfig, fake, read_qps=2.0, read_burst=1, qps=1000.0, burst=1)
    for _ in range(3):
        client.discover("/apis/admissionregistration.k8s.io/v1")
    assert fake.sleeps == pytest.approx([0.5, 0.5])  # 2 reads a second after the first
    client.pace(1)  # the deletion budget is untouched by the reads
    client.pace(1)
    assert fake.sleeps == pytest.approx([0.5, 0.5, 0.001])


def test_a_429_with_retry_after_holds_the_reads_not_yet_sent(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_sample_cluster(server, now=NOW)
    server.inject(path="validatingadmissionpolicybindings", status=429, times=1, retry_after="3")
    fake = FakeTime()
    client = _client(kubeconfig, fake)
    with pytest.raises(ApiError):  # one attempt: the request itself does not wait
        client.get(
            "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", attempts=1
        )
    assert fake.sleeps == []
    client.discover("/apis/admissionregistration.k8s.io/v1")  # another read: it waits first
    assert fake.sleeps == [3]


def _page(items: list[int], token: str | None, version: str = "7") -> bytes:
    metadata: dict[str, Any] = {"resourceVersion": version}
    if token:
        metadata["continue"] = token
    return json.dumps(
        {
            "kind": "List",
            "apiVersion": "v1",
            "metadata": metadata,
            "items": [{"n": i} for i in items],
        }
    ).encode()


def test_the_next_page_is_asked_for_before_this_one_is_decoded() -> None:
    pages = {None: _page([1, 2], "a"), "a": _page([3], "b"), "b": _page([4], None)}
    asked = {token: threading.Event() for token in pages}

    def fetch(token: str | None, page: int) -> bytes:
        asked[token].set()
        return pages[token]

    def decode(body: bytes) -> dict[str, Any]:
        following = json.loads(body)["metadata"].get("continue")
        if following is not None:  # decoding waits until the next page was asked for
            assert asked[following].wait(timeout=10)
        return json.loads(body)

    items = list(read_pages("/x", fetch=fetch, decode=decode))
    assert [item["n"] for item in items] == [1, 2, 3, 4]


def test_a_misread_peek_costs_a_request_never_a_page() -> None:
    # The first page's metadata puts one token before items; the decoded body says another.
    body = b'{"metadata": {"resourceVersion": "7", "continue": "wrong"}, "items": [{"n": 1}]}'
    pages = {"wrong": _page([9], None), "right": _page([2], None)}
    sent: list[str | None] = []

    def fetch(token: str | None, page: int) -> bytes:
        sent.append(token)
        return body if token is None else pages[token]

    def decode(raw: bytes) -> dict[str, Any]:
        value = json.loads(raw)
        if raw is body:
            value["metadata"]["continue"] = "right"
        return value

    items = list(read_pages("/x", fetch=fetch, decode=decode))
    assert [item["n"] for item in items] == [1, 2]
    assert sent == [None, "wrong", "right"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_page([1], "tok"), ("7", "tok")),
        (_page([1], None), ("7", None)),
        (b'{"items": [], "metadata": {"continue": "late"}}', None),  # items first: no peek
        (b"not json", None),
        (b'{"metadata": "x", "items": []}', None),
    ],
)
def test_peek_reads_only_metadata_written_before_the_items(body: bytes, expected: Any) -> None:
    assert peek(body) == expected
