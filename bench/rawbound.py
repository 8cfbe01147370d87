"""The raw bound: the read phase's requests sent with urllib3 alone, each body ``json.loads``-ed
and nothing else, in gather's order and at its concurrency. What no client of this server can
beat by much: it pays the round trips, the server's own time to serve each page, and one
decode per page, but builds no records, keeps no raw pages and logs nothing.

Used by ``speed.py``; measures nothing on import. Talks to 127.0.0.1 only.

The replay sends the requests gather sends for ``serve.py``'s ``cluster`` scenario:
discovery of the admission group; the bindings and policies lists (page after page); then the
labelled CRD list beside the template CRD GET and the templates list; each labelled kind's
constraint LIST (``kinds_in_flight`` at once); the GET of each kind the bindings name but the
labelled list lacks (``serve.py``'s ``K8sGone*`` kinds, ``shape["absent_kinds"]``), and,
when one answers 404, discovery of the constraints group and of its versions. Pages of one
list follow each other (the next asked for after this one is decoded: the plain loop).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3

from sweeper.core import gatekeeper as gk
from sweeper.core import paths

PAGE_SIZE = 500


class _Raw:
    def __init__(self, info: dict[str, Any], ca_file: str | None, pool_size: int) -> None:
        self.url = info["url"]
        self.headers = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json"}
        self.http = urllib3.PoolManager(maxsize=pool_size, ca_certs=ca_file)
        self.requests = 0
        self._lock = threading.Lock()

    def get(self, path: str, **query: str) -> tuple[int, Any]:
        response = self.http.request("GET", self.url + path, fields=query, headers=self.headers)
        with self._lock:
            self.requests += 1
        body = response.data
        return response.status, (json.loads(body) if response.status == 200 else None)

    def list(self, path: str, **query: str) -> list[Any]:
        items: list[Any] = []
        token = None
        for _ in range(10_000):  # bounded: at most 10,000 pages
            extra = {"continue": token} if token else {}
            status, page = self.get(path, limit=str(PAGE_SIZE), **query, **extra)
            if status != 200:
                raise RuntimeError(f"raw list {path}: HTTP {status}")
            items += page["items"]
            token = page["metadata"].get("continue")
            if not token:
                return items
        raise RuntimeError(f"raw list {path}: too many pages")


def _served(crd: dict[str, Any], preferred: tuple[str, ...]) -> str:
    served = {v["name"] for v in crd["spec"]["versions"] if v.get("served")}
    return next(v for v in preferred if v in served)


def replay(
    info: dict[str, Any],
    *,
    ca_file: str | None,
    concurrency: int = 8,
    kinds_in_flight: int = 32,
) -> dict[str, Any]:
    """One raw read phase: its wall and CPU seconds (this process) and its request count."""
    raw = _Raw(info, ca_file, concurrency + kinds_in_flight)
    absent = [f"k8sgone{g}" for g in range(info["shape"]["absent_kinds"])]
    started, cpu = time.perf_counter(), time.process_time()
    with (
        ThreadPoolExecutor(concurrency) as pool,
        ThreadPoolExecutor(kinds_in_flight) as kinds_pool,
    ):
        raw.get(paths.admission_group("v1"))
        generated = [
            pool.submit(raw.list, paths.admission("v1", resource))
            for resource in (paths.BINDINGS, paths.POLICIES)
        ]
        for read in generated:
            read.result()

        def templates() -> None:
            _, crd = raw.get(paths.crd(gk.TEMPLATE_CRD_NAME))
            raw.list(paths.templates(_served(crd, ("v1", "v1beta1", "v1alpha1"))))

        labelled = pool.submit(
            raw.list, paths.crd(), labelSelector=f"{gk.CONSTRAINT_CRD_LABEL}=yes"
        )
        template_read = pool.submit(templates)
        crds = labelled.result()
        gets = [pool.submit(raw.get, paths.crd(gk.constraint_crd_name(k))) for k in absent]
        kinds = [
            kinds_pool.submit(
                raw.list,
                paths.constraints(
                    _served(crd, ("v1beta1", "v1", "v1alpha1")), crd["spec"]["names"]["plural"]
                ),
            )
            for crd in crds
        ]
        if any(get.result()[0] == 404 for get in gets):
            _, group = raw.get(paths.constraints_group())
            versions = [v["version"] for v in group["versions"]]
            for read in [pool.submit(raw.get, paths.constraints_group(v)) for v in versions]:
                read.result()
        for read in kinds:
            read.result()
        template_read.result()
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "requests": raw.requests,
    }
