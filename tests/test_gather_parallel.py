"""Gather's concurrent reads: constraint-kind LISTs overlap, yet bindings and policies end
before any owner read starts, a failed read still leaves what it covers undecided, and the
requests are exactly those of a one-at-a-time gather."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from helpers import NOW, FakeTime, fake_runtime, settings_for, sweep

from sweeper.cluster.gather import gather
from sweeper.cluster.kube import KubeClient
from sweeper.core.inventory import ListKey, Presence, Source
from sweeper.runs.sweep import connect
from sweeper.testing import FakeApiServer
from sweeper.testing.sample import seed_sample_cluster

CONSTRAINTS = "/apis/constraints.gatekeeper.sh/v1beta1/"
LABELS_LIST = CONSTRAINTS + "k8srequiredlabels$"
REPOS_LIST = CONSTRAINTS + "k8sallowedrepos$"
BINDINGS = "validatingadmissionpolicybindings$"
POLICIES = "validatingadmissionpolicies$"


def meet_in_flight(server: FakeApiServer, *, timeout: float) -> threading.Barrier:
    """Both constraint LISTs wait at one barrier before being served: it breaks (and each
    answers 500, retries included) unless both are in flight at once. Bounded by ``timeout``."""
    barrier = threading.Barrier(2, timeout=timeout)

    def wait(_: FakeApiServer) -> None:
        barrier.wait()

    for path in (LABELS_LIST, REPOS_LIST):
        server.on_request(method="GET", path=path, action=wait, times=None)
    return barrier


def test_constraint_kind_lists_are_in_flight_at_once(server: FakeApiServer, kubeconfig: str):
    seed_sample_cluster(server, now=NOW)
    barrier = meet_in_flight(server, timeout=10)
    run = sweep(kubeconfig, dry_run=True, read_concurrency=4)
    assert not barrier.broken
    assert run.events("list_failed") == []
    assert run.exit_code == 0
    assert run.summary["listed_constraints"] == 6


def test_one_read_at_a_time_never_overlaps(server: FakeApiServer, kubeconfig: str):
    # The same barrier breaks when reads run one after another: the test above can fail.
    seed_sample_cluster(server, now=NOW)
    barrier = meet_in_flight(server, timeout=0.3)
    run = sweep(kubeconfig, dry_run=True, read_concurrency=1)
    assert barrier.broken
    assert run.exit_code == 4
    assert {line["path"] for line in run.events("list_failed")} >= {
        CONSTRAINTS + "k8srequiredlabels"
    }


class Recording:
    """A KubeClient stand-in that logs when each read starts and ends, in one sequence."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.log: list[tuple[str, str]] = []

    def _note(self, what: str, path: str) -> None:
        with self._lock:
            self.log.append((what, path))

    def _call(self, name: str, path: str, *args: Any, **kwargs: Any) -> Any:
        self._note("start", path)
        try:
            return getattr(self._client, name)(path, *args, **kwargs)
        finally:
            self._note("end", path)

    def list(self, path: str, **kwargs: Any) -> Any:
        return self._call("list", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("get", path, **kwargs)

    def discover(self, path: str) -> Any:
        return self._call("discover", path)


def recorded_gather(kubeconfig: str, *, concurrency: int) -> tuple[Recording, Any]:
    settings = settings_for(kubeconfig, read_concurrency=concurrency)
    client = connect(settings, fake_runtime(FakeTime()), started=1000.0)
    recording = Recording(client)
    inventory = gather(recording, vap_version="v1", concurrency=concurrency)  # type: ignore[arg-type]
    return recording, inventory


def is_generated(path: str) -> bool:
    return path.endswith(("validatingadmissionpolicybindings", "validatingadmissionpolicies"))


@pytest.mark.parametrize("concurrency", [1, 8])
def test_bindings_and_policies_end_before_any_owner_read_starts(
    server: FakeApiServer, kubeconfig: str, concurrency: int
):
    seed_sample_cluster(server, now=NOW)
    # Slow, paged lists of bindings: owner reads racing them would start in between.
    server.inject(method="GET", path=BINDINGS, delay=0.05, times=None)
    recording, inventory = recorded_gather(kubeconfig, concurrency=concurrency)
    assert inventory.failed_lists == ()
    log = recording.log
    last_generated_end = max(
        i for i, (what, path) in enumerate(log) if what == "end" and is_generated(path)
    )
    owner_starts = [
        i for i, (what, path) in enumerate(log) if what == "start" and not is_generated(path)
    ]
    assert owner_starts, "owners were read"
    assert min(owner_starts) > last_generated_end


def test_the_kind_lists_overlap_in_the_recorded_sequence(server: FakeApiServer, kubeconfig: str):
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=CONSTRAINTS + "k8s[a-z]+$", delay=0.05, times=None)
    recording, _ = recorded_gather(kubeconfig, concurrency=8)
    log = [(what, path) for what, path in recording.log if path.startswith(CONSTRAINTS)]
    in_flight, most = 0, 0
    for what, _ in log:
        in_flight += 1 if what == "start" else -1
        most = max(most, in_flight)
    assert most >= 2


def requests_of(server: FakeApiServer) -> Counter[tuple[str, str, str]]:
    return Counter(
        (r.method, r.path, r.query.get("labelSelector", "")) for r in list(server.requests)
    )


def test_concurrent_reads_send_exactly_the_requests_of_sequential_ones(
    server: FakeApiServer, kubeconfig: str
):
    seed_sample_cluster(server, now=NOW)
    counts = {}
    for concurrency in (1, 8):
        server.clear_requests()
        run = sweep(kubeconfig, dry_run=True, read_concurrency=concurrency, page_size=2)
        assert run.exit_code == 0
        counts[concurrency] = requests_of(server)
    assert counts[1] == counts[8]
    assert sum(counts[8].values()) > 20  # paged: the comparison covers many requests


def test_a_failed_kind_list_keeps_its_bindings_undecided_under_concurrency(
    server: FakeApiServer, kubeconfig: str
):
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=LABELS_LIST, status=500, times=None)
    run = sweep(kubeconfig, dry_run=True, read_concurrency=8)
    assert run.exit_code == 4
    assert [line["path"] for line in run.events("list_failed")] == [
        CONSTRAINTS + "k8srequiredlabels"
    ]
    undecided = {line["owner_kind"].lower() for line in run.events("undecided")}
    assert undecided == {"k8srequiredlabels"}
    # The other kinds were still decided: the prod-repos legacy duplicate would go.
    assert "gatekeeper-prod-repos" in run.names("would_delete")
    assert not any(
        line.get("owner_kind") == "K8sRequiredLabels" for line in run.events("would_delete")
    )


def test_failed_discovery_leaves_a_missing_kind_unknown_under_concurrency(
    server: FakeApiServer, kubeconfig: str
):
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path="/apis/constraints.gatekeeper.sh$", status=500, times=None)
    _, inventory = recorded_gather(kubeconfig, concurrency=8)
    assert inventory.kinds["k8sdisallowedtags"] is Presence.UNKNOWN
    assert not inventory.complete(ListKey(Source.DISCOVERY))
    assert inventory.kinds["k8srequiredlabels"] is Presence.PRESENT


def test_failed_lists_are_reported_in_a_stable_order(server: FakeApiServer, kubeconfig: str):
    seed_sample_cluster(server, now=NOW)
    server.inject(method="GET", path=CONSTRAINTS + "k8s[a-z]+$", status=500, times=None)
    server.inject(method="GET", path=POLICIES, status=500, times=None)
    _, inventory = recorded_gather(kubeconfig, concurrency=8)
    keys = [key for key, status in inventory.lists.items() if not status.complete]
    assert keys == [
        ListKey(Source.POLICIES),
        ListKey.constraints("k8sallowedrepos"),
        ListKey.constraints("k8sblocknodeport"),
        ListKey.constraints("k8srequiredlabels"),
    ]
