"""The pages of one paginated LIST, the next page asked for before this one is decoded.

A page's continue token sits in its top-level ``metadata``, which kube-apiserver writes
before ``items``: ``peek`` reads it from the raw bytes, so the request for page k+1 goes out
while page k is decoded and turned into records (that CPU then stays off the list's
critical path). The decoded page is the authority: a peeked token that differs from it is
thrown away and the right page asked for, so a wrong peek costs a request, never a page.
A list whose pages stop describing one snapshot raises ``RestartList``; it never yields a
partial result as whole. Sends nothing itself: ``fetch`` does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sweeper.core.errors import bad_response

MAX_LIST_PAGES = 10_000
MAX_LIST_ITEMS = 1_000_000  # bounds memory against a misbehaving server
_PEEK_LIMIT = 4096  # the top-level metadata of a list is far shorter than this
_DECODER = json.JSONDecoder()

Fetch = Callable[[str | None, int], bytes]  # (continue token, page number) -> the page body
Decode = Callable[[bytes], dict[str, Any]]


class RestartList(Exception):
    """The pages of a list stopped describing one snapshot: list again from the start."""


def peek(body: bytes) -> tuple[Any, Any] | None:
    """``(resourceVersion, continue)`` of a list page's top-level metadata, read without
    decoding the items; None when the page does not put its metadata before its items."""
    head = body[:_PEEK_LIMIT]
    at, items = head.find(b'"metadata"'), head.find(b'"items"')
    if at < 0 or (0 <= items < at) or not head.lstrip().startswith(b"{"):
        return None
    try:
        text = head.decode("utf-8", errors="replace")
        start = text.index(":", text.index('"metadata"') + len('"metadata"')) + 1
        while start < len(text) and text[start] in " \t\r\n":
            start += 1
        metadata, _ = _DECODER.raw_decode(text, start)
    except ValueError:
        return None
    if not isinstance(metadata, dict):
        return None
    return metadata.get("resourceVersion"), metadata.get("continue") or None


class _Ahead:
    """One page fetched in a thread of its own while the caller decodes the one before."""

    def __init__(self, fetch: Fetch, token: str, page: int) -> None:
        self.token = token
        self._body: bytes | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(fetch, token, page), name="list-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, fetch: Fetch, token: str, page: int) -> None:
        try:
            self._body = fetch(token, page)
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def result(self) -> bytes:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._body is not None
        return self._body

    def wait(self) -> None:
        """Let the request end (its answer unused): no request outlives its list."""
        self._thread.join()


def read_pages(
    path: str,
    *,
    fetch: Fetch,
    decode: Decode,
    ahead: bool = True,
    keep: list[bytes] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item of one list, page by page; ``ahead``: ask for the next page early;
    ``keep``: each page's raw body is appended to it."""
    snapshot: Any = None
    seen_tokens: set[str] = set()
    count = 0
    body = fetch(None, 1)
    early: _Ahead | None = None
    try:
        for page_number in range(1, MAX_LIST_PAGES + 1):
            early = _start_next(fetch, body, page_number, snapshot, seen_tokens) if ahead else None
            if keep is not None:
                keep.append(body)
            page = decode(body)
            items, metadata = page.get("items"), page.get("metadata")
            if not isinstance(items, list) or not isinstance(metadata, dict):
                raise bad_response("list", path, "response is not a list (no items or metadata)")
            # Every page of one paginated list is cut from the same snapshot.
            version = metadata.get("resourceVersion")
            if page_number == 1:
                snapshot = version
            elif version != snapshot:
                raise RestartList
            count += len(items)
            if count > MAX_LIST_ITEMS:
                raise bad_response("list", path, f"more than {MAX_LIST_ITEMS} items")
            for item in items:
                if not isinstance(item, dict):
                    raise bad_response("list", path, "list item is not an object")
                yield item
            token = metadata.get("continue") or None
            if token is None:
                return
            if not isinstance(token, str) or token in seen_tokens:
                raise bad_response("list", path, "continue token is malformed or repeats")
            seen_tokens.add(token)
            body = _next_body(fetch, early, token, page_number + 1)
            early = None
        raise bad_response("list", path, f"more than {MAX_LIST_PAGES} pages")
    finally:
        if early is not None:
            early.wait()


def _start_next(
    fetch: Fetch, body: bytes, page_number: int, snapshot: Any, seen: set[str]
) -> _Ahead | None:
    """The request for the page after ``body``, sent now when its metadata can be peeked
    and says the list goes on from the same snapshot; else None (asked for after decoding)."""
    hint = peek(body)
    if hint is None or page_number >= MAX_LIST_PAGES:
        return None
    version, token = hint
    if not isinstance(token, str) or token in seen:
        return None
    if page_number > 1 and version != snapshot:
        return None  # the list restarts: asking for more would be a wasted request
    return _Ahead(fetch, token, page_number + 1)


def _next_body(fetch: Fetch, early: _Ahead | None, token: str, page_number: int) -> bytes:
    if early is not None and early.token == token:
        return early.result()
    if early is not None:  # the peek misread the page: its request is thrown away
        early.wait()
    return fetch(token, page_number)
