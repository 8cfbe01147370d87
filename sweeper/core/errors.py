"""The errors a sweep can meet talking to the API server, each one line for a person.

``ApiError`` is a request that failed for good; ``SweepAborted`` ends the sweep (its
``--timeout`` ran out, or a signal asked it to stop). Pure: no I/O imports.
"""

from __future__ import annotations

import json

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_DETAIL = 300


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

    @property
    def denied(self) -> bool:
        """Credentials rejected or RBAC missing: a configuration error, not a flaky cluster."""
        return self.status in (401, 403)


class AlreadyExists(ApiError):
    """A create answered 409 AlreadyExists: an object of that name exists; nothing was written."""


def bad_response(verb: str, path: str, message: str) -> ApiError:
    """An answer that is not what the API promises (not JSON, not a list, ...)."""
    return ApiError(verb=verb, path=path, status=None, message=message)


class SweepAborted(Exception):
    """The sweep must end now: its ``--timeout`` ran out or it was told to stop."""


class DeadlineExceeded(SweepAborted):
    """The sweep's total ``--timeout`` ran out before a request could be sent."""


class Interrupted(SweepAborted):
    """A signal (SIGTERM, SIGINT) asked the sweep to stop; sent requests were finished."""


def one_line(error: BaseException | str) -> str:
    """The first line of an error's text, trimmed: error messages never span lines."""
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first[:MAX_DETAIL]


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


def status_reason(data: bytes) -> str | None:
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
