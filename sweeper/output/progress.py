"""Visible progress of a sweep's requests: each retry, a request that keeps waiting, and,
with ``--log-level debug``, every request.

The glue between the shell's two hooks, ``Retrier.on_retry`` and ``KubeClient``'s request
observer, and the sweep's ``Reporter``. A watchdog thread notices a request that has been
in flight longer than a threshold and logs it once; it never touches the request. Nothing
here changes what a sweep does, and at ``info`` a request costs a lock and two dict
operations (the per-request timing is taken only at ``debug``).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sweeper.cluster.kube import Sent
from sweeper.cluster.retry import Retry
from sweeper.core.errors import one_line
from sweeper.core.reasons import Event
from sweeper.output.report import Reporter

SLOW_REQUEST_SECONDS = 10.0
MAX_POLL_SECONDS = 1.0  # a slow request is noticed at most this late


@dataclass(frozen=True, slots=True)
class InFlight:
    """A request being waited for."""

    verb: str
    path: str
    timeout: float


class Watchdog:
    """Calls ``on_slow(request, waited)`` once for each request still in flight after
    ``threshold`` seconds of real time.

    One daemon thread polls the requests in flight; it ends when it finds none and starts
    again with the next request, so an idle client holds no thread.
    """

    def __init__(
        self,
        threshold: float,
        *,
        on_slow: Callable[[InFlight, float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self._poll = min(MAX_POLL_SECONDS, threshold / 4)
        self._on_slow = on_slow
        # Real time, not the sweep's clock: the watchdog's sleeps and a request's wait are real.
        self._clock = clock
        self._lock = threading.Lock()
        self._flights: dict[int, tuple[float, InFlight]] = {}
        self._reported: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def begin(self, request: InFlight) -> int:
        """Start watching ``request``; the token to ``end`` it with."""
        with self._lock:
            token = next(self._tokens)
            self._flights[token] = (self._clock(), request)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="sweeper-request-watchdog", daemon=True
                )
                self._thread.start()
        return token

    def end(self, token: int) -> None:
        """Stop watching a request: it ended, one way or another."""
        with self._lock:
            self._flights.pop(token, None)
            self._reported.discard(token)

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll)
            with self._lock:
                if not self._flights:
                    self._thread = None  # the next begin() starts a new one
                    return
                now = self._clock()
                slow = [
                    (token, request, now - started)
                    for token, (started, request) in self._flights.items()
                    if now - started >= self.threshold and token not in self._reported
                ]
                self._reported.update(token for token, _, _ in slow)
                # Under the lock: a request cannot end, and its sweep go on to the summary
                # line, between being found slow and its line being written.
                for _, request, waited in slow:
                    self._on_slow(request, waited)


class Progress:
    """Turns retries and request timings into the sweep's ``request_*`` lines."""

    def __init__(
        self, reporter: Reporter, *, debug: bool, slow_after: float = SLOW_REQUEST_SECONDS
    ) -> None:
        self._reporter = reporter
        self._debug = debug
        self._watchdog = Watchdog(slow_after, on_slow=self._waiting)

    @property
    def detailed(self) -> bool:
        return self._debug

    # --- KubeClient's RequestObserver ----------------------------------------------------

    def begin(self, verb: str, path: str, timeout: float) -> object:
        return self._watchdog.begin(InFlight(verb, path, timeout))

    def end(self, token: object, sent: Sent | None) -> None:
        self._watchdog.end(token)  # type: ignore[arg-type]  # begin's own token
        if sent is not None:
            self._sent(sent)

    # --- Retrier's on_retry --------------------------------------------------------------

    def retried(self, retry: Retry) -> None:
        """One ``request_retried`` warning, before the retry's wait."""
        error = retry.error
        self._reporter.event(
            Event.REQUEST_RETRIED,
            "a request failed; trying again",
            level=logging.WARNING,
            verb=error.verb,
            path=error.path,
            attempt=retry.attempt,
            cause=cause(error),
            wait_seconds=round(retry.wait, 3),
        )

    # --- lines ---------------------------------------------------------------------------

    def _waiting(self, request: InFlight, waited: float) -> None:
        self._reporter.event(
            Event.REQUEST_WAITING,
            f"still waiting for an answer after {waited:.0f}s",
            level=logging.WARNING,
            verb=request.verb,
            path=request.path,
            waited_seconds=round(waited, 1),
            timeout_seconds=round(request.timeout, 3),
        )

    def _sent(self, sent: Sent) -> None:
        fields: dict[str, object] = {
            "verb": sent.verb,
            "path": sent.path,
            "duration_ms": sent.duration_ms,
        }
        if sent.status is not None:
            fields["status"] = sent.status
        if sent.page is not None:
            fields["page"] = sent.page
        if sent.error is not None:
            fields["error"] = sent.error
        said = "request answered" if sent.status is not None else "request got no answer"
        self._reporter.event(Event.REQUEST_SENT, said, level=logging.DEBUG, **fields)


def cause(error: Exception) -> str:
    """An ``ApiError`` as one line without its verb and path (they are fields of their own)."""
    text = one_line(error)
    verb, path = getattr(error, "verb", None), getattr(error, "path", None)
    return text.removeprefix(f"{verb} {path}: ") if verb and path else text
