"""A small JSON client for a real API server, for tests that set up state and read it back.

Contract: plain dicts in and out over HTTPS with a bearer token and the server's CA; a GET of
something absent is ``None``; every other error raises ``RestError`` with the status and the
server's message. Deletions take a propagation policy (``Orphan`` is ``kubectl delete
--cascade=orphan``). Used by the Gatekeeper-in-the-loop tests and their flap script, never by
a sweep. Imports nothing of the sweeper.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")

ADMISSION = "/apis/admissionregistration.k8s.io/v1"
POLICIES = f"{ADMISSION}/validatingadmissionpolicies"
BINDINGS = f"{ADMISSION}/validatingadmissionpolicybindings"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TEMPLATES = "/apis/templates.gatekeeper.sh/v1/constrainttemplates"
CONSTRAINTS = "/apis/constraints.gatekeeper.sh/v1beta1"


PARAM_KIND_UNSERVED = "failed to find resource referenced by paramKind"
PARAM_KIND_WAIT = 30.0


def constraints_path(kind: str) -> str:
    """Where the constraints of ``kind`` live (Gatekeeper's plural is the lower-case kind)."""
    return f"{CONSTRAINTS}/{kind.lower()}"


class RestError(RuntimeError):
    """The API server answered with an error status."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status


@dataclass
class Rest:
    """JSON over HTTPS to one API server as one bearer-token user."""

    server: str
    token: str
    ca_file: Path
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.param_kind_waits = 0
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {self.token}"
        self._session.verify = str(self.ca_file)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``verify`` (and honours
        # proxy variables): a test server is on 127.0.0.1 with its own CA, so ignore both.
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json"
    ) -> dict | None:
        """The decoded answer; None for a 404 on GET; RestError for any other error.

        A write denied because a ValidatingAdmissionPolicy's ``paramKind`` is not served yet
        is retried for up to ``PARAM_KIND_WAIT`` seconds: right after Gatekeeper creates a
        constraint CRD and its policy, the API server's admission plugin has not yet seen the
        kind, and its policies (``failurePolicy: Fail``, every resource) deny every write.
        """
        deadline = time.monotonic() + PARAM_KIND_WAIT
        while True:
            try:
                return self._request_once(method, path, body, content_type)
            except RestError as error:
                if PARAM_KIND_UNSERVED not in str(error) or time.monotonic() > deadline:
                    raise
                self.param_kind_waits += 1
                time.sleep(0.05)

    def _request_once(self, method: str, path: str, body: Any, content_type: str) -> dict | None:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if body is not None else {}
        answer = self._session.request(
            method, self.server + path, data=data, headers=headers, timeout=self.timeout
        )
        if answer.status_code == 404 and method == "GET":
            return None
        if answer.status_code >= 400:
            try:
                message = answer.json().get("message", answer.text)
            except ValueError:
                message = answer.text
            raise RestError(method, path, answer.status_code, message[:500])
        return answer.json() if answer.content else {}

    def get(self, path: str) -> dict | None:
        return self.request("GET", path)

    def items(self, path: str) -> list[dict]:
        """Every item of a collection (one page: test clusters are small)."""
        listed = self.request("GET", path)
        return [] if listed is None else list(listed.get("items") or [])

    def create(self, path: str, obj: dict) -> dict:
        return self.request("POST", path, obj) or {}

    def apply(self, path: str, obj: dict, *, manager: str = "gk-tests") -> dict:
        """Server-side apply ``obj`` at ``path`` (the object's own URL), forcing conflicts."""
        query = f"?fieldManager={manager}&force=true"
        return self.request("PATCH", path + query, obj, content_type="application/apply-patch+yaml")

    def merge(self, path: str, patch: dict) -> dict:
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def delete(self, path: str, *, propagation: str | None = None) -> bool:
        """Delete; False when it was already gone. ``propagation``: Orphan, Background..."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            self.request("DELETE", path, body)
        except RestError as error:
            if error.status == 404:
                return False
            raise
        return True


def wait_for(
    check: Callable[[], T | None],
    what: str,
    *,
    timeout: float = 60.0,
    interval: float = 0.05,
    alive: Callable[[], str | None] = lambda: None,
) -> T:
    """Poll ``check`` until it returns something truthy; TimeoutError naming ``what`` after
    ``timeout`` seconds. ``alive`` returns a reason to give up early (a process that died)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        problem = alive()
        if problem:
            raise RuntimeError(f"gave up waiting for {what}: {problem}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached after {timeout:.0f}s")
        time.sleep(interval)
