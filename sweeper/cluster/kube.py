"""The only code that talks to the API server.

Sends GET, LIST, POST and DELETE through the official client's ``ApiClient`` (its two
calls ``param_serialize`` and ``call_api``; its own urllib3 retries off), reads every body
as plain JSON (never the client's typed models, which reject objects off their schema),
and runs each request under the one retry engine (``sweeper.cluster.retry``). It never decides
what is dangling.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import urllib3
from kubernetes.client.exceptions import ApiException

from sweeper.cluster.pages import RestartList, read_pages
from sweeper.cluster.retry import RETRY_AFTER_CAP_SECONDS, RateLimiter, Retrier, RetryPolicy
from sweeper.core.errors import (
    AlreadyExists,
    ApiError,
    DeadlineExceeded,
    Interrupted,
    SweepAborted,
    bad_response,
    one_line,
    parse_retry_after,
    status_message,
    status_reason,
)
from sweeper.core.settings import ClusterAccess

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = [
    "AlreadyExists",
    "ApiError",
    "DeleteResult",
    "KubeClient",
    "RequestObserver",
    "Sent",
    "SweepAborted",
    "one_line",
]

T = TypeVar("T")
MAX_LIST_ATTEMPTS = 3


class DeleteResult(enum.Enum):
    """What a DELETE with preconditions answered."""

    DELETED = "deleted"
    GONE = "already_gone"  # 404: someone else deleted it first
    CONFLICT = "conflict"  # 409: uid or resourceVersion changed since the LIST


@dataclass(frozen=True, slots=True)
class Sent:
    """One request as it ended: what ``--log-level debug`` logs about it."""

    verb: str
    path: str
    status: int | None  # None: no HTTP answer
    duration_ms: float
    page: int | None = None  # a LIST's page, from 1
    error: str | None = None  # one line, when no answer came


class RequestObserver(Protocol):
    """Sees every request sent: ``begin`` before it, ``end`` after it, whatever happened."""

    @property
    def detailed(self) -> bool:
        """Whether ``end`` wants a ``Sent``: the timing is taken only then."""

    def begin(self, verb: str, path: str, timeout: float) -> object:
        """A request is about to be sent; the token ``end`` will be given."""

    def end(self, token: object, sent: Sent | None) -> None:
        """The request ended (answered, failed or interrupted)."""


class KubeClient:
    """GET, paginated LIST, POST and DELETE with preconditions; bodies as plain dicts."""

    def __init__(
        self,
        api_client: ApiClient,
        *,
        access: ClusterAccess,
        retrier: Retrier | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self._api = api_client
        self._observer = observer
        self._timeout = access.request_timeout
        self._page_size = access.page_size
        self.retrier = retrier or Retrier(RetryPolicy())
        clock = self.retrier.clock
        # Two budgets: deletions (with their re-checks) keep to --qps; reads to --read-qps.
        self._limiter = RateLimiter(qps=access.qps, burst=access.burst, clock=clock)
        self._read_limiter = RateLimiter(qps=access.read_qps, burst=access.read_burst, clock=clock)
        # A 429 (API Priority and Fairness) holds every read not yet sent until then.
        self._hold_until = 0.0

    # --- reads ---------------------------------------------------------------------------

    def get(
        self, path: str, *, attempts: int | None = None, paced: bool = True
    ) -> dict[str, Any] | None:
        """The object at ``path``, or None when the server answers that it is not found.

        Only a Kubernetes ``Status`` NotFound naming the object proves it absent: a 404 for
        an unserved group or resource, or from a proxy, must not read as "the owner is gone".
        ``paced=False``: the caller has paid for it already (apply's tokens, taken up front).
        """
        status, body = self._request(
            "GET", path, verb="get", allow={404}, attempts=attempts, paced=paced
        )
        if status != 404:
            return self._decode("get", path, body)
        if _names_the_object(body, path):
            return None
        raise ApiError(
            verb="get",
            path=path,
            status=404,
            message="HTTP 404 that does not name the object (is its group or resource served?)",
        )

    def discover(self, path: str) -> dict[str, Any] | None:
        """A discovery document, or None when its group or version is not served.

        kube-apiserver answers an unserved group/version with a plain-text 404, not a
        Status; discovery only ever shows what is served, so any 404 means "not served".
        """
        status, body = self._request("GET", path, verb="get", allow={404}, paced=True)
        return None if status == 404 else self._decode("get", path, body)

    def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        transform: Callable[[dict[str, Any]], T],
        keep: list[bytes] | None = None,
    ) -> list[T]:
        """Every item of a collection, page by page; ``keep`` receives the raw pages of the
        attempt that succeeded.

        A list restarts from scratch when its continue token expires (410 Gone) or its
        pages stop describing one snapshot; it fails rather than return a partial result.
        """
        for _ in range(MAX_LIST_ATTEMPTS):
            if keep is not None:
                keep.clear()
            try:
                return [transform(item) for item in self._pages(path, label_selector, keep)]
            except RestartList:
                continue
            except ApiError as error:
                if error.status != 410:
                    raise
        raise ApiError(
            verb="list",
            path=path,
            status=None,
            message=f"list failed {MAX_LIST_ATTEMPTS} times in a row "
            "(expired tokens or changing pages)",
        )

    def _pages(
        self, path: str, label_selector: str | None, keep: list[bytes] | None
    ) -> Iterator[dict[str, Any]]:
        def fetch(token: str | None, page: int) -> bytes:
            query: dict[str, str] = {"limit": str(self._page_size)}
            if label_selector:
                query["labelSelector"] = label_selector
            if token:
                query["continue"] = token
            return self._request("GET", path, verb="list", query=query, page=page, paced=True)[1]

        return read_pages(
            path, fetch=fetch, decode=lambda body: self._decode("list", path, body), keep=keep
        )

    # --- writes --------------------------------------------------------------------------

    def pace(self, tokens: int = 1) -> None:
        """Wait for ``tokens`` of the deletion budget, within the deadline, until a signal."""
        self.retrier.pace(self._limiter, tokens)

    def pace_reads(self, tokens: int = 1) -> None:
        """Wait for ``tokens`` of the read budget (and any hold a 429 asked for)."""
        self._hold()
        self.retrier.pace(self._read_limiter, tokens)

    def _hold(self) -> None:
        wait = self._hold_until - self.retrier.clock()
        if wait > 0:
            self.retrier.hold(wait)

    def delete(
        self, path: str, *, uid: str, resource_version: str, retry: bool = True
    ) -> DeleteResult:
        """DELETE guarded by uid and resourceVersion preconditions (one try if not ``retry``).

        Not rate-limited here: apply paces the re-check and the DELETE together (``pace``).
        """
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"uid": uid, "resourceVersion": resource_version},
        }
        status, _ = self._request(
            "DELETE",
            path,
            verb="delete",
            body=body,
            allow={404, 409},
            attempts=None if retry else 1,
        )
        if status == 404:
            return DeleteResult.GONE
        if status == 409:
            return DeleteResult.CONFLICT
        return DeleteResult.DELETED

    def create(
        self, path: str, body: dict[str, Any], *, dry_run: bool = False, paced: bool = True
    ) -> dict[str, Any]:
        """POST ``body`` to the collection at ``path`` (rate-limited unless the caller paced
        it already, ``paced=False``); the created object.

        ``dry_run`` sends ``dryRun=All``: the server validates and answers, but stores nothing.
        A 409 whose Status reason is ``AlreadyExists`` raises ``AlreadyExists``.
        """
        if paced:
            self.pace()
        query = {"dryRun": "All"} if dry_run else None
        status, data = self._request(
            "POST", path, verb="create", query=query, body=body, allow={409}
        )
        if status == 409:
            message = status_message(409, data)
            error = AlreadyExists if status_reason(data) == "AlreadyExists" else ApiError
            raise error(verb="create", path=path, status=409, message=message)
        return self._decode("create", path, data)

    # --- plumbing ------------------------------------------------------------------------

    def _decode(self, verb: str, path: str, body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body)
        except ValueError:
            raise bad_response(verb, path, "response is not valid JSON") from None
        if not isinstance(value, dict):
            raise bad_response(verb, path, "response is not a JSON object")
        return value

    def _request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        allow: frozenset[int] | set[int] = frozenset(),
        attempts: int | None = None,
        page: int | None = None,
        paced: bool = False,
    ) -> tuple[int, bytes]:
        def once() -> tuple[int, bytes]:
            if paced:  # every attempt of a read spends a read token, as client-go's do
                self.pace_reads()
            return self._send_once(method, path, verb, query, body, allow, page)

        return self.retrier.run(once, attempts=attempts)

    def _send_once(
        self,
        method: str,
        path: str,
        verb: str,
        query: Mapping[str, str] | None,
        body: Any,
        allow: frozenset[int] | set[int],
        page: int | None = None,
    ) -> tuple[int, bytes]:
        retrier = self.retrier
        if retrier.stop.is_set():
            raise Interrupted(f"stopped by a signal before {verb} {path}")
        timeout = self._timeout
        if retrier.deadline is not None:
            left = retrier.deadline - retrier.clock()
            if left <= 0:
                raise DeadlineExceeded(f"sweep timeout reached before {verb} {path}")
            timeout = max(0.001, min(timeout, left))

        def exchange() -> tuple[int, bytes, Any]:
            return self._exchange(method, path, verb, query=query, body=body, timeout=timeout)

        if self._observer is None:
            status, data, headers = exchange()
        else:
            status, data, headers = self._observed(exchange, verb, path, timeout, page)
        if 200 <= status < 300 or status in allow:
            return status, data
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if status == 429 and retry_after is not None:
            self._throttled(retry_after)
        raise ApiError(
            verb=verb,
            path=path,
            status=status,
            message=status_message(status, data),
            retry_after=retry_after,
        )

    def _throttled(self, retry_after: float) -> None:
        """A 429 with Retry-After (API Priority and Fairness): reads not yet sent wait as
        long as the server asked, so that many lists in flight back off together."""
        until = self.retrier.clock() + min(retry_after, RETRY_AFTER_CAP_SECONDS)
        self._hold_until = max(self._hold_until, until)

    def _observed(
        self,
        exchange: Callable[[], tuple[int, bytes, Any]],
        verb: str,
        path: str,
        timeout: float,
        page: int | None,
    ) -> tuple[int, bytes, Any]:
        """``exchange()``, seen by the observer; timed only when it wants the details."""
        observer = self._observer
        assert observer is not None
        token = observer.begin(verb, path, timeout)
        detailed = observer.detailed
        started = time.perf_counter() if detailed else 0.0
        status: int | None = None
        error: str | None = None
        try:
            answer = exchange()
            status = answer[0]
            return answer
        except ApiError as failure:
            error = failure.detail
            raise
        finally:
            sent = None
            if detailed:
                elapsed = round((time.perf_counter() - started) * 1000, 1)
                sent = Sent(verb, path, status, elapsed, page, error)
            observer.end(token, sent)

    def _exchange(
        self,
        method: str,
        path: str,
        verb: str,
        *,
        query: Mapping[str, str] | None,
        body: Any,
        timeout: float,
    ) -> tuple[int, bytes, Any]:
        """One HTTP request: the status, the body and the headers of whatever answered.

        Raises ``ApiError`` only when nothing answered (connection, TLS).
        """
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        method_, url, headers, payload, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query.items()) if query else None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method_, url, header_params=headers, body=payload, _request_timeout=timeout
            )
            data = response.read() or b""
        except urllib3.exceptions.HTTPError as error:
            raise ApiError(
                verb=verb, path=path, status=None, message=one_line(error), transport=True
            ) from None
        except ApiException as error:
            # The client turns TLS failures into ApiException(status=0, reason="SSLError\n..."):
            # a certificate problem does not heal by retrying.
            reason = " ".join(str(error.reason or error).split())
            raise ApiError(
                verb=verb,
                path=path,
                status=None,
                message=f"TLS or connection setup failed: {reason[:300]}",
            ) from None
        return int(response.status), data, response.headers


def _names_the_object(body: bytes, path: str) -> bool:
    """Whether a 404's body is a Kubernetes Status NotFound naming the object at ``path``."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    details = answer.get("details") if isinstance(answer, dict) else None
    return (
        isinstance(answer, dict)
        and answer.get("kind") == "Status"
        and answer.get("reason") == "NotFound"
        and isinstance(details, dict)
        and details.get("name") == path.rstrip("/").rsplit("/", 1)[-1]
    )
