"""The only code that talks to the API server.

Loads the configuration (in-cluster, else kubeconfig), sends GET, LIST and DELETE through
the official client's ``ApiClient`` with its own urllib3 retries off, reads every body as
plain JSON (never the client's typed models, which reject objects off their schema), and
owns the retry policy and the client-side rate limit. It never decides what is dangling.
"""

from __future__ import annotations

import enum
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity
import urllib3

from sweeper.settings import ClusterAccess

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_LIST_ATTEMPTS = 3
MAX_LIST_PAGES = 10_000
MAX_LIST_ITEMS = 1_000_000  # bounds memory against a misbehaving server
RETRY_AFTER_CAP_SECONDS = 30.0


class ApiError(Exception):
    """A request failed for good (after retries); ``str()`` is one line for the user."""

    def __init__(
        self,
        *,
        verb: str,
        path: str,
        status: int | None,
        message: str,
        retry_after: float | None = None,
        transport: bool = False,
    ) -> None:
        self.verb = verb
        self.path = path
        self.status = status
        self.detail = message
        self.retry_after = retry_after
        self.transport = transport  # no HTTP answer: refused, dropped, timed out
        what = f"HTTP {status}" if status else "connection error" if transport else "bad response"
        super().__init__(f"{verb} {path}: {what}: {message}")

    @property
    def retryable(self) -> bool:
        return self.transport or self.status in RETRYABLE_STATUSES


class AlreadyExists(ApiError):
    """A create answered 409 AlreadyExists: an object of that name exists; nothing was written."""


class _RestartList(Exception):
    """The pages of a list stopped describing one snapshot: list again from the start."""


def _bad_response(verb: str, path: str, message: str) -> ApiError:
    return ApiError(verb=verb, path=path, status=None, message=message)


class SweepAborted(Exception):
    """The sweep must end now: its ``--timeout`` ran out or it was told to stop."""


class DeadlineExceeded(SweepAborted):
    """The sweep's total ``--timeout`` ran out before a request could be sent."""


class Interrupted(SweepAborted):
    """A signal (SIGTERM, SIGINT) asked the sweep to stop; sent requests were finished."""


class DeleteResult(enum.Enum):
    DELETED = "deleted"
    GONE = "already_gone"  # 404: someone else deleted it first
    CONFLICT = "conflict"  # 409: uid or resourceVersion changed since the LIST


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``sleep`` is injected by tests."""

    attempts: int = 5
    max_total_seconds: float = 60.0
    initial_seconds: float = 0.5
    max_wait_seconds: float = 10.0
    sleep: Callable[[float], object] = time.sleep


class RateLimiter:
    """Token bucket: at most ``qps`` requests a second on average, ``burst`` at once.

    It only reserves and says how long to wait; the caller waits, so that a wait can be
    cut short by a signal or refused by the sweep's deadline.
    """

    def __init__(
        self, *, qps: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._qps = qps
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self, tokens: int = 1) -> float:
        """Take ``tokens``; the seconds to wait before using them (0 when available now)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._qps)
            self._last = now
            self._tokens -= tokens
            return -self._tokens / self._qps if self._tokens < 0 else 0.0


def one_line(error: BaseException) -> str:
    """The first line of an error's text, trimmed: error messages never span lines."""
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first[:300]


class KubeClient:
    """GET, paginated LIST and DELETE with preconditions; bodies as plain dicts."""

    def __init__(
        self,
        api_client: Any,
        *,
        access: ClusterAccess,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | None = None,
        stop: threading.Event | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self._api = api_client
        self._stop = stop or threading.Event()
        self._timeout = access.request_timeout
        self._page_size = access.page_size
        self._retry = retry or RetryPolicy()
        self._deadline = deadline
        self._clock = clock
        self._limiter = limiter or RateLimiter(qps=access.qps, burst=access.burst, clock=clock)
        # Waits end early on a signal: Event.wait returns as soon as ``stop`` is set.
        self._sleep = sleep or self._stop.wait

    # --- reads ---------------------------------------------------------------------------

    def get(self, path: str, *, attempts: int | None = None) -> dict[str, Any] | None:
        """The object at ``path``, or None when the server answers that it is not found.

        Only a Kubernetes ``Status`` NotFound naming the object proves it absent: a 404 for
        an unserved group or resource, or from a proxy, must not read as "the owner is gone".
        """
        status, body = self._request("GET", path, verb="get", allow={404}, attempts=attempts)
        if status != 404:
            return self._decode("get", path, body)
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        details = answer.get("details") if isinstance(answer, dict) else None
        if (
            isinstance(answer, dict)
            and answer.get("kind") == "Status"
            and answer.get("reason") == "NotFound"
            and isinstance(details, dict)
            and details.get("name") == path.rstrip("/").rsplit("/", 1)[-1]
        ):
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
        status, body = self._request("GET", path, verb="get", allow={404})
        return None if status == 404 else self._decode("get", path, body)

    def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        transform: Callable[[dict[str, Any]], T],
    ) -> list[T]:
        """Every item of a collection, page by page.

        A list restarts from scratch when its continue token expires (410 Gone) or its
        pages stop describing one snapshot; it fails rather than return a partial result.
        """
        for _ in range(MAX_LIST_ATTEMPTS):
            try:
                return [transform(item) for item in self._pages(path, label_selector)]
            except _RestartList:
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

    def _pages(self, path: str, label_selector: str | None) -> Iterator[dict[str, Any]]:
        token: str | None = None
        snapshot: Any = None
        seen_tokens: set[str] = set()
        count = 0
        for _ in range(MAX_LIST_PAGES):
            query: dict[str, str] = {"limit": str(self._page_size)}
            if label_selector:
                query["labelSelector"] = label_selector
            if token:
                query["continue"] = token
            _, body = self._request("GET", path, verb="list", query=query)
            page = self._decode("list", path, body)
            items, metadata = page.get("items"), page.get("metadata")
            if not isinstance(items, list) or not isinstance(metadata, dict):
                raise _bad_response("list", path, "response is not a list (no items or metadata)")
            # Every page of one paginated list is cut from the same snapshot.
            version = metadata.get("resourceVersion")
            if token is None:
                snapshot = version
            elif version != snapshot:
                raise _RestartList
            count += len(items)
            if count > MAX_LIST_ITEMS:
                raise _bad_response("list", path, f"more than {MAX_LIST_ITEMS} items")
            for item in items:
                if not isinstance(item, dict):
                    raise _bad_response("list", path, "list item is not an object")
                yield item
            token = metadata.get("continue") or None
            if token is None:
                return
            if not isinstance(token, str) or token in seen_tokens:
                raise _bad_response("list", path, "continue token is malformed or repeats")
            seen_tokens.add(token)
        raise _bad_response("list", path, f"more than {MAX_LIST_PAGES} pages")

    # --- writes --------------------------------------------------------------------------

    def pace(self, tokens: int = 1) -> None:
        """Wait for ``tokens`` of the rate limit, within the deadline and until a signal."""
        wait = self._limiter.reserve(tokens)
        if wait > 0:
            if self._deadline is not None and self._clock() + wait > self._deadline:
                raise DeadlineExceeded("sweep timeout would pass while waiting for the rate limit")
            self._sleep(wait)
        if self._stop.is_set():
            raise Interrupted("stopped by a signal while waiting for the rate limit")

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

    def create(self, path: str, body: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """POST ``body`` to the collection at ``path`` (rate-limited); the created object.

        ``dry_run`` sends ``dryRun=All``: the server validates and answers, but stores nothing.
        A 409 whose Status reason is ``AlreadyExists`` raises ``AlreadyExists``.
        """
        query = {"dryRun": "All"} if dry_run else None
        status, data = self._request(
            "POST", path, verb="create", query=query, body=body, allow={409}, limited=True
        )
        if status == 409:
            message = status_message(409, data)
            if _status_reason(data) == "AlreadyExists":
                raise AlreadyExists(verb="create", path=path, status=409, message=message)
            raise ApiError(verb="create", path=path, status=409, message=message)
        return self._decode("create", path, data)

    # --- plumbing ------------------------------------------------------------------------

    def _decode(self, verb: str, path: str, body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body)
        except ValueError:
            raise _bad_response(verb, path, "response is not valid JSON") from None
        if not isinstance(value, dict):
            raise _bad_response(verb, path, "response is not a JSON object")
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
        limited: bool = False,
        attempts: int | None = None,
    ) -> tuple[int, bytes]:
        policy = self._retry
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, ApiError) and e.retryable),
            stop=tenacity.stop_after_attempt(attempts or policy.attempts)
            | tenacity.stop_after_delay(policy.max_total_seconds),
            wait=self._wait,
            sleep=policy.sleep,
            reraise=True,
        )
        return retrying(self._send_once, method, path, verb, query, body, allow, limited)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self._backoff_seconds(state.attempt_number, error)

    def _backoff_seconds(self, attempt: int, error: BaseException | None) -> float:
        """Retry-After when the server gave one (capped), else full-jitter exponential backoff
        (it spreads the retries of many sweepers); never past the sweep's deadline."""
        policy = self._retry
        if isinstance(error, ApiError) and error.retry_after is not None:
            wait = min(error.retry_after, RETRY_AFTER_CAP_SECONDS)
        else:
            ceiling = min(policy.max_wait_seconds, policy.initial_seconds * 2 ** (attempt - 1))
            wait = random.uniform(0, ceiling)
        if self._deadline is not None:
            wait = max(0.0, min(wait, self._deadline - self._clock()))
        return wait

    def back_off(self, attempt: int, error: ApiError, *, started: float) -> None:
        """Wait before trying again after ``error`` on ``attempt`` (1-based), or re-raise it
        when the retries begun at ``started`` would pass their time budget; ends on a signal."""
        wait = self._backoff_seconds(attempt, error)
        if self._clock() + wait - started > self._retry.max_total_seconds:
            raise error
        self._retry.sleep(wait)
        if self._stop.is_set():
            raise Interrupted("stopped by a signal while backing off")

    @property
    def attempts(self) -> int:
        """How many times a request is tried in all."""
        return self._retry.attempts

    def retry_time_left(self, started: float) -> bool:
        """Whether retries begun at ``started`` (see ``now``) are still within their budget."""
        return self._clock() - started < self._retry.max_total_seconds

    def now(self) -> float:
        """The client's monotonic clock (injected in tests)."""
        return self._clock()

    def _send_once(
        self,
        method: str,
        path: str,
        verb: str,
        query: Mapping[str, str] | None,
        body: Any,
        allow: frozenset[int] | set[int],
        limited: bool,
    ) -> tuple[int, bytes]:
        if limited:
            self.pace()
        if self._stop.is_set():
            raise Interrupted(f"stopped by a signal before {verb} {path}")
        if self._deadline is not None and self._clock() >= self._deadline:
            raise DeadlineExceeded(f"sweep timeout reached before {verb} {path}")
        timeout = self._timeout
        if self._deadline is not None:
            timeout = max(0.001, min(timeout, self._deadline - self._clock()))
        method_, url, headers, payload, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query.items()) if query else None,
            header_params={"Accept": "application/json", "Content-Type": "application/json"}
            if body is not None
            else {"Accept": "application/json"},
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
        except Exception as error:
            # The client turns TLS failures into ApiException(status=0, reason="SSLError\n..."):
            # a certificate problem does not heal by retrying.
            reason = " ".join(str(getattr(error, "reason", None) or error).split())
            raise ApiError(
                verb=verb,
                path=path,
                status=None,
                message=f"TLS or connection setup failed: {reason[:300]}",
            ) from None
        status = int(response.status)
        if 200 <= status < 300 or status in allow:
            return status, data
        raise ApiError(
            verb=verb,
            path=path,
            status=status,
            message=status_message(status, data),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )


def status_message(status: int, data: bytes) -> str:
    """A one-line explanation of an error response, from its Status body when it has one."""
    try:
        message = json.loads(data).get("message")
    except (ValueError, AttributeError):
        message = None
    if status == 401:
        hint = "unauthorized: the credentials were rejected"
    elif status == 403:
        hint = "forbidden: the service account lacks this permission (see the ClusterRole)"
    else:
        hint = ""
    text = "; ".join(part for part in (hint, message if isinstance(message, str) else "") if part)
    return one_line(text or f"HTTP {status}")


def _status_reason(data: bytes) -> str | None:
    """The ``reason`` of a Kubernetes Status body, or None when the body is not one."""
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its delay-seconds form; None otherwise."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)
