"""The cluster-access layer against the fake API server: pagination, 410, retries, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from helpers import FakeTime
from kubernetes.client import ApiClient

from sweeper.cluster.kube import DeleteResult, KubeClient
from sweeper.cluster.kubeconfig import ConfigError, load_configuration
from sweeper.cluster.retry import RateLimiter, Retrier, RetryPolicy
from sweeper.core.errors import ApiError, DeadlineExceeded, Interrupted
from sweeper.core.settings import ClusterAccess
from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make

BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"


def client_for(
    kubeconfig: str,
    fake: FakeTime,
    *,
    policy: RetryPolicy | None = None,
    deadline: float | None = None,
    stop: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    observer: Any = None,
    **access: Any,
) -> KubeClient:
    """A client whose clock, waits, deadline and stop signal are the test's."""
    access.setdefault("qps", 1000)
    access.setdefault("burst", 1000)
    settings = ClusterAccess(kubeconfig=kubeconfig, **access)
    retrier = Retrier(
        policy or RetryPolicy(),
        clock=fake.monotonic,
        stop=stop,
        sleep=sleep or fake.sleep,
        deadline=deadline,
    )
    return KubeClient(
        ApiClient(load_configuration(settings, environ={})),
        access=settings,
        retrier=retrier,
        observer=observer,
    )


def seed_bindings(server: FakeApiServer, count: int) -> None:
    for index in range(count):
        server.create(make.foreign_binding(f"b-{index:03d}", policy_name="p"))


def names_of(client: KubeClient) -> list[str]:
    return client.list(BINDINGS, transform=lambda obj: obj["metadata"]["name"])


def test_list_follows_continue_tokens(server: FakeApiServer, kubeconfig: str) -> None:
    seed_bindings(server, 7)
    client = client_for(kubeconfig, FakeTime(), page_size=3)
    assert names_of(client) == [f"b-{i:03d}" for i in range(7)]
    pages = [r for r in server.requests if r.verb == "list"]
    assert [r.query.get("limit") for r in pages] == ["3", "3", "3"]
    assert "continue" not in pages[0].query and "continue" in pages[1].query


def test_list_restarts_from_scratch_on_410(server: FakeApiServer, kubeconfig: str) -> None:
    seed_bindings(server, 5)
    server.on_request(
        method="GET",
        path="validatingadmissionpolicybindings$",
        action=lambda s: s.expire_continue_tokens(),
        times=2,
    )
    client = client_for(kubeconfig, FakeTime(), page_size=2)
    assert names_of(client) == [f"b-{i:03d}" for i in range(5)]
    starts = [r for r in server.requests if r.verb == "list" and "continue" not in r.query]
    assert len(starts) == 2  # the first pass hit 410 on its second page


def test_list_gives_up_after_repeated_410(server: FakeApiServer, kubeconfig: str) -> None:
    seed_bindings(server, 5)
    server.on_request(
        method="GET",
        path="validatingadmissionpolicybindings$",
        action=lambda s: s.expire_continue_tokens(),
        times=None,
    )
    with pytest.raises(ApiError, match="list failed 3 times in a row"):
        names_of(client_for(kubeconfig, FakeTime(), page_size=2))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(
    server: FakeApiServer, kubeconfig: str, status: int
) -> None:
    seed_bindings(server, 1)
    server.inject(path="validatingadmissionpolicybindings", status=status, times=2)
    fake = FakeTime()
    assert names_of(client_for(kubeconfig, fake)) == ["b-000"]
    assert len(fake.sleeps) == 2 and all(0 <= s <= 10 for s in fake.sleeps)


def test_retry_after_is_honoured_and_capped(server: FakeApiServer, kubeconfig: str) -> None:
    seed_bindings(server, 1)
    server.inject(path="validatingadmissionpolicybindings", status=429, retry_after="7")
    server.inject(path="validatingadmissionpolicybindings", status=429, retry_after="3600")
    fake = FakeTime()
    assert names_of(client_for(kubeconfig, fake)) == ["b-000"]
    assert fake.sleeps == [7.0, 30.0]


def test_dropped_connection_is_retried(server: FakeApiServer, kubeconfig: str) -> None:
    seed_bindings(server, 1)
    server.inject(path="validatingadmissionpolicybindings", drop=True)
    fake = FakeTime()
    assert names_of(client_for(kubeconfig, fake)) == ["b-000"]
    assert len(fake.sleeps) == 1


def test_retries_are_bounded(server: FakeApiServer, kubeconfig: str) -> None:
    server.inject(path="validatingadmissionpolicybindings", status=503, times=None)
    fake = FakeTime()
    with pytest.raises(ApiError) as error:
        names_of(client_for(kubeconfig, fake))
    assert error.value.status == 503
    assert len(fake.sleeps) == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(
    server: FakeApiServer, kubeconfig: str, status: int
) -> None:
    server.inject(path="validatingadmissionpolicybindings", status=status, times=None)
    fake = FakeTime()
    with pytest.raises(ApiError) as error:
        names_of(client_for(kubeconfig, fake))
    assert error.value.status == status and fake.sleeps == []
    assert "\n" not in str(error.value)


def test_malformed_json_is_an_error_not_a_crash(server: FakeApiServer, kubeconfig: str) -> None:
    server.inject(path="validatingadmissionpolicybindings", body=b'{"items": [', times=None)
    with pytest.raises(ApiError, match="not valid JSON"):
        names_of(client_for(kubeconfig, FakeTime()))


def test_get_returns_none_on_404(server: FakeApiServer, kubeconfig: str) -> None:
    assert client_for(kubeconfig, FakeTime()).get(f"{BINDINGS}/absent") is None


def test_delete_outcomes(server: FakeApiServer, kubeconfig: str) -> None:
    stored = server.create(make.foreign_binding("victim", policy_name="p"))
    meta = stored["metadata"]
    client = client_for(kubeconfig, FakeTime())
    path = f"{BINDINGS}/victim"
    assert (
        client.delete(path, uid="other", resource_version=meta["resourceVersion"])
        is DeleteResult.CONFLICT
    )
    assert client.delete(path, uid=meta["uid"], resource_version="1") is DeleteResult.CONFLICT
    assert (
        client.delete(path, uid=meta["uid"], resource_version=meta["resourceVersion"])
        is DeleteResult.DELETED
    )
    assert (
        client.delete(path, uid=meta["uid"], resource_version=meta["resourceVersion"])
        is DeleteResult.GONE
    )


def test_request_timeout_is_a_retryable_error(server: FakeApiServer, kubeconfig: str) -> None:
    server.inject(path="validatingadmissionpolicybindings", delay=0.5, times=None)
    fake = FakeTime()
    client = client_for(kubeconfig, fake, request_timeout=0.05, policy=RetryPolicy(attempts=2))
    with pytest.raises(ApiError, match="connection error"):
        names_of(client)


def test_deadline_and_stop_end_requests(server: FakeApiServer, kubeconfig: str) -> None:
    fake = FakeTime()
    with pytest.raises(DeadlineExceeded):
        names_of(client_for(kubeconfig, fake, deadline=fake.now))
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        names_of(client_for(kubeconfig, fake, stop=stop))
    assert server.requests == []


def test_rate_limiter_spaces_requests_after_the_burst() -> None:
    fake = FakeTime()
    limiter = RateLimiter(qps=10, burst=2, clock=fake.monotonic)
    waits = []
    for _ in range(5):
        waits.append(limiter.reserve())
        fake.sleep(waits[-1])
    assert waits == pytest.approx([0, 0, 0.1, 0.1, 0.1])
    assert limiter.reserve(2) == pytest.approx(0.2)  # two tokens at once: twice the wait


def test_pacing_respects_the_deadline_and_a_signal(kubeconfig: str) -> None:
    fake = FakeTime()
    client = client_for(kubeconfig, fake, qps=1, burst=1, deadline=fake.now + 0.5)
    client.pace()  # the burst
    with pytest.raises(DeadlineExceeded):
        client.pace()  # would wait 1 s, past the deadline: refused without sleeping
    assert fake.sleeps == []
    stop = threading.Event()
    signalled = client_for(kubeconfig, fake, qps=1, burst=1, stop=stop, sleep=lambda s: stop.set())
    signalled.pace()
    with pytest.raises(Interrupted):
        signalled.pace()  # a SIGTERM during the wait


def test_missing_kubeconfig_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_configuration(ClusterAccess(kubeconfig=str(tmp_path / "nope")), environ={})


def test_unknown_context_is_a_config_error(server: FakeApiServer, kubeconfig: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_configuration(ClusterAccess(kubeconfig=kubeconfig, context="nope"), environ={})
    assert "\n" not in str(error.value)


def test_kubeconfig_env_is_read_at_call_time(server: FakeApiServer, kubeconfig: str) -> None:
    cfg = load_configuration(ClusterAccess(), environ={"KUBECONFIG": kubeconfig})
    assert cfg.host == server.url and cfg.retries is False


def test_in_cluster_config_is_used_in_a_pod(tmp_path, monkeypatch) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("sa-token")
    ca.write_text("not really a cert")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    cfg = load_configuration(ClusterAccess(), environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1"})
    assert cfg.host == "https://127.0.0.1:6443"
    assert cfg.api_key["BearerToken"].lower() == "bearer sa-token"
    assert cfg.refresh_api_key_hook is not None  # a rotated token is re-read


def test_a_404_that_is_not_a_kubernetes_not_found_proves_nothing(
    server: FakeApiServer, kubeconfig: str
) -> None:
    server.inject(path="/absent$", status=404, body=b"<html>not here</html>")
    client = client_for(kubeconfig, FakeTime())
    with pytest.raises(ApiError, match="does not name the object"):
        client.get(f"{BINDINGS}/absent")
    # A Status NotFound that names no object (an unknown resource) proves nothing either.
    detail_less = b'{"kind": "Status", "reason": "NotFound", "code": 404}'
    server.inject(path="/absent$", status=404, body=detail_less)
    with pytest.raises(ApiError, match="does not name the object"):
        client.get(f"{BINDINGS}/absent")
    assert client.get(f"{BINDINGS}/absent") is None  # the real answer: Status NotFound


def test_a_failing_exec_credential_plugin_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "users": [
                    {
                        "name": "u",
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": str(tmp_path / "no-such-plugin"),
                            }
                        },
                    }
                ],
            }
        )
    )
    with pytest.raises(ConfigError, match="no-such-plugin"):
        load_configuration(ClusterAccess(kubeconfig=str(path)), environ={})


def test_kubeconfig_list_skips_missing_entries(server: FakeApiServer, kubeconfig: str) -> None:
    listed = f"/nonexistent/first:{kubeconfig}"
    cfg = load_configuration(ClusterAccess(), environ={"KUBECONFIG": listed})
    assert cfg.host == server.url
    with pytest.raises(ConfigError, match="no such file"):
        load_configuration(ClusterAccess(), environ={"KUBECONFIG": "/nonexistent/a:/nonexistent/b"})


def test_only_the_loaders_own_errors_fail_the_configuration(
    server: FakeApiServer, kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another library's ERROR line during loading is not a configuration error."""
    import logging

    from kubernetes import config

    original = config.load_kube_config

    def noisy_load(*args: object, **kwargs: object) -> None:
        logging.getLogger("somebody.else").error("unrelated error while loading")
        return original(*args, **kwargs)

    monkeypatch.setattr(config, "load_kube_config", noisy_load)
    cfg = load_configuration(ClusterAccess(kubeconfig=kubeconfig), environ={})
    assert cfg.host == server.url


class RecordingObserver:
    """A request observer that records what it is told."""

    def __init__(self, *, detailed: bool) -> None:
        self.detailed = detailed
        self.begun: list[tuple[str, str, float]] = []
        self.ended: list[tuple[object, object]] = []

    def begin(self, verb: str, path: str, timeout: float) -> object:
        self.begun.append((verb, path, timeout))
        return len(self.begun)

    def end(self, token: object, sent: object) -> None:
        self.ended.append((token, sent))


def test_the_observer_sees_every_request_and_pages_only_when_detailed(
    server: FakeApiServer, kubeconfig: str
) -> None:
    seed_bindings(server, 5)
    server.inject(method="GET", path=f"{BINDINGS}$", drop=True, times=1)
    fake = FakeTime()
    observer = RecordingObserver(detailed=True)
    client = client_for(kubeconfig, fake, page_size=2, request_timeout=7.0, observer=observer)
    assert len(names_of(client)) == 5
    # The dropped first try, then three pages; every begin has its end, in order.
    assert [token for token, _ in observer.ended] == [1, 2, 3, 4]
    assert all(begun == ("list", BINDINGS, 7.0) for begun in observer.begun)
    sent = [s for _, s in observer.ended]
    assert [(s.status, s.page) for s in sent] == [(None, 1), (200, 1), (200, 2), (200, 3)]
    assert sent[0].error and sent[1].error is None

    quiet = RecordingObserver(detailed=False)
    client = client_for(kubeconfig, fake, page_size=2, observer=quiet)
    assert len(names_of(client)) == 5
    assert [s for _, s in quiet.ended] == [None, None, None]
