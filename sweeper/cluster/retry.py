"""The sweeper's one retry engine and its one rate limiter.

Every request, and the re-check-then-DELETE of each candidate, runs under ``Retrier.run``:
a tenacity policy of bounded, jittered exponential backoff that honours ``Retry-After``
(capped), never waits past the sweep's deadline, and ends a wait early on a signal. Clocks
and sleeps are injected, so tests never wait. No request is sent from here.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from sweeper.core.errors import ApiError, DeadlineExceeded, Interrupted

T = TypeVar("T")
RETRY_AFTER_CAP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one request (or one deletion) is tried."""

    attempts: int = 5
    max_total_seconds: float = 60.0  # retries end when the next wait would pass this
    initial_seconds: float = 0.5
    max_wait_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class Retry:
    """One retry about to happen: what failed, how often, and how long it will wait."""

    error: ApiError
    attempt: int  # the attempt that failed (1-based)
    wait: float


class RateLimiter:
    """Token bucket: at most ``qps`` requests a second on average, ``burst`` at once.

    It only reserves and says how long to wait; the caller waits, so that a wait can be
    cut short by a signal or refused by the sweep's deadline.
    """

    def __init__(self, *, qps: float, burst: int, clock: Callable[[], float]) -> None:
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


class _GiveUp(Exception):
    """Ends a retry loop at once with ``error``, whatever the policy would allow."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


class Retrier:
    """Runs work under the retry policy, within the sweep's deadline, until a signal."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        sleep: Callable[[float], object] | None = None,
        deadline: float | None = None,
        on_retry: Callable[[Retry], None] | None = None,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.stop = stop or threading.Event()
        # Waits end early on a signal: Event.wait returns as soon as ``stop`` is set.
        self._sleep = sleep or self.stop.wait
        self.deadline = deadline
        self.on_retry = on_retry

    def run(
        self,
        work: Callable[[], T],
        *,
        attempts: int | None = None,
        retry_if: Callable[[ApiError], bool] = lambda error: error.retryable,
        before_retry: Callable[[ApiError], T | None] | None = None,
    ) -> T:
        """``work()``, tried again after a retryable ``ApiError`` until the policy gives up.

        ``before_retry(error)`` runs before each retry; a value it returns ends the loop
        as the result (a lost DELETE answer may hide a success: look before resending), and
        an ``ApiError`` it raises ends the loop with that error.
        """
        started = self.clock()
        failures: list[ApiError] = []

        def attempt() -> T:
            if failures and before_retry is not None:
                try:
                    settled = before_retry(failures[-1])
                except ApiError as error:  # the look before a retry failed: no more tries
                    raise _GiveUp(error) from None
                if settled is not None:
                    return settled
            try:
                return work()
            except ApiError as error:
                failures.append(error)
                raise

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, ApiError) and retry_if(e)),
            stop=tenacity.stop_after_attempt(attempts or self.policy.attempts)
            | (lambda state: self._budget_spent(started, state.upcoming_sleep)),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._announce,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _GiveUp as given_up:
            raise given_up.error from None

    def sleep(self, seconds: float) -> None:
        """Wait; a signal ends the wait early (the next request then stops the sweep)."""
        if seconds > 0:
            self._sleep(seconds)

    def pace(self, limiter: RateLimiter, tokens: int = 1) -> None:
        """Wait for ``tokens`` of ``limiter``, within the deadline and until a signal."""
        wait = limiter.reserve(tokens)
        if wait > 0:
            if self.deadline is not None and self.clock() + wait > self.deadline:
                raise DeadlineExceeded("sweep timeout would pass while waiting for the rate limit")
            self.sleep(wait)
        if self.stop.is_set():
            raise Interrupted("stopped by a signal while waiting for the rate limit")

    def hold(self, seconds: float) -> None:
        """Wait ``seconds`` the server asked for (a 429), within the deadline, until a signal."""
        if self.deadline is not None and self.clock() + seconds > self.deadline:
            raise DeadlineExceeded("sweep timeout would pass while the server asks to wait")
        self.sleep(seconds)
        if self.stop.is_set():
            raise Interrupted("stopped by a signal while the server asked to wait")

    def wait_seconds(self, attempt: int, error: BaseException | None) -> float:
        """Retry-After when the server gave one (capped), else full-jitter exponential backoff
        (it spreads the retries of many sweepers); never past the sweep's deadline."""
        policy = self.policy
        if isinstance(error, ApiError) and error.retry_after is not None:
            wait = min(error.retry_after, RETRY_AFTER_CAP_SECONDS)
        else:
            ceiling = min(policy.max_wait_seconds, policy.initial_seconds * 2 ** (attempt - 1))
            wait = random.uniform(0, ceiling)
        if self.deadline is not None:
            wait = max(0.0, min(wait, self.deadline - self.clock()))
        return wait

    def _budget_spent(self, started: float, upcoming: float) -> bool:
        return self.clock() + upcoming - started > self.policy.max_total_seconds

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.wait_seconds(state.attempt_number, error)

    def _announce(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if self.on_retry is not None and isinstance(error, ApiError):
            self.on_retry(Retry(error, state.attempt_number, state.upcoming_sleep))
