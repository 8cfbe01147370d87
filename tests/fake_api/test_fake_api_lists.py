"""The fake API server's direct state API and its LIST: metadata on create, copies from the store,
pagination with continue tokens (expired and malformed ones answer 410), and label selectors."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from api_calls import ADM, FIXED, VAPB_PATH, binding, call
from hypothesis import given, settings
from hypothesis import strategies as st

from sweeper.testing import FakeApiServer
from sweeper.testing.api import builtin_types
from sweeper.testing.store import Store


# --- direct state API ---
def test_create_assigns_metadata_and_keeps_given_values(server: FakeApiServer) -> None:
    first = server.create(binding("a"))
    meta = first["metadata"]
    assert meta["creationTimestamp"] == "2024-05-06T07:08:09Z"
    assert len(meta["uid"]) == 36
    kept = server.create(
        {
            **binding("b"),
            "metadata": {"name": "b", "uid": "u-1", "creationTimestamp": "2020-01-01T00:00:00Z"},
        }
    )
    assert kept["metadata"]["uid"] == "u-1"
    assert kept["metadata"]["creationTimestamp"] == "2020-01-01T00:00:00Z"
    assert int(kept["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    with pytest.raises(ValueError):
        server.create(binding("a"))
    with pytest.raises(ValueError):
        server.create({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}})


def test_store_returns_copies_and_replace_keeps_uid(server: FakeApiServer) -> None:
    created = server.create(binding("a"))
    created["spec"]["policyName"] = "mutated"
    stored = server.get(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "a")
    assert stored is not None and stored["spec"]["policyName"] == "p"
    stored["spec"]["policyName"] = "q"
    del stored["metadata"]["uid"]
    replaced = server.replace(stored)
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(replaced["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    with pytest.raises(KeyError):
        server.replace(binding("missing"))
    server.create(binding("0-first"))
    names = [o["metadata"]["name"] for o in server.objects("ValidatingAdmissionPolicyBinding")]
    assert names == ["0-first", "a"]
    server.delete(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "a")
    assert server.get(f"{ADM}/v1beta1", "ValidatingAdmissionPolicyBinding", "a") is None
    with pytest.raises(KeyError):
        server.delete(f"{ADM}/v1", "ValidatingAdmissionPolicyBinding", "a")


# --- LIST ---
def test_list_paginates_with_continue_and_remaining_count(server: FakeApiServer) -> None:
    for name in ["g", "c", "a", "e", "b", "f", "d"]:
        server.create(binding(name))
    pages, token = [], None
    while True:
        query = "?limit=3" + (f"&continue={token}" if token else "")
        status, _, page = call(server, "GET", VAPB_PATH + query)
        assert status == 200
        pages.append(page)
        token = page["metadata"].get("continue")
        if not token:
            break
    assert [[i["metadata"]["name"] for i in p["items"]] for p in pages] == [
        ["a", "b", "c"],
        ["d", "e", "f"],
        ["g"],
    ]
    assert [p["metadata"].get("remainingItemCount") for p in pages] == [4, 1, None]
    assert pages[0]["kind"] == "ValidatingAdmissionPolicyBindingList"
    assert all(
        i["apiVersion"] == f"{ADM}/v1" and i["kind"] == "ValidatingAdmissionPolicyBinding"
        for i in pages[0]["items"]
    )
    everything = call(server, "GET", VAPB_PATH)[2]
    assert len(everything["items"]) == 7 and "continue" not in everything["metadata"]
    beta = call(server, "GET", f"/apis/{ADM}/v1beta1/validatingadmissionpolicybindings")[2]
    assert beta["apiVersion"] == f"{ADM}/v1beta1"
    assert {i["apiVersion"] for i in beta["items"]} == {f"{ADM}/v1beta1"}


def test_expired_and_malformed_continue_answer_410(server: FakeApiServer) -> None:
    for name in "abcde":
        server.create(binding(name))
    token = call(server, "GET", VAPB_PATH + "?limit=2")[2]["metadata"]["continue"]
    assert call(server, "GET", f"{VAPB_PATH}?limit=2&continue={token}")[0] == 200
    server.expire_continue_tokens()
    status, _, body = call(server, "GET", f"{VAPB_PATH}?limit=2&continue={token}")
    assert status == 410
    assert body["reason"] == "Expired" and body["code"] == 410
    assert "too old to display a consistent list result" in body["message"]
    assert call(server, "GET", f"{VAPB_PATH}?limit=2&continue=garbage!")[0] == 410
    fresh = call(server, "GET", VAPB_PATH + "?limit=2")[2]["metadata"]["continue"]
    assert call(server, "GET", f"{VAPB_PATH}?limit=2&continue={fresh}")[0] == 200


@settings(max_examples=60, deadline=None)
@given(
    names=st.sets(
        st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,8}[a-z0-9])?", fullmatch=True), max_size=25
    ),
    limit=st.integers(min_value=1, max_value=8),
)
def test_pages_cover_every_name_once_in_order(names: set[str], limit: int) -> None:
    store = Store(vap_versions=("v1",), clock=lambda: FIXED)
    rt = next(t for t in builtin_types(("v1",)) if t.kind == "ValidatingAdmissionPolicyBinding")
    for name in names:
        store.create(binding(name))
    seen: list[str] = []
    query = {"limit": str(limit)}
    while True:
        page = store.list(rt, None, query)
        assert len(page["items"]) <= limit
        seen += [i["metadata"]["name"] for i in page["items"]]
        if "continue" not in page["metadata"]:
            break
        assert page["metadata"]["remainingItemCount"] == len(names) - len(seen)
        query = {"limit": str(limit), "continue": page["metadata"]["continue"]}
    assert seen == sorted(names)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=x", ["one", "two"]),
        ("app==x,tier=web", ["one"]),
        ("gatekeeper.sh/system=yes", ["three"]),
        ("app=x,app=y", []),
        ("tier=", ["two"]),
    ],
)
def test_equality_label_selectors(
    server: FakeApiServer, selector: str, expected: list[str]
) -> None:
    server.create(binding("one", app="x", tier="web"))
    server.create(binding("two", app="x", tier=""))
    server.create(binding("three", app="y", **{"gatekeeper.sh/system": "yes"}))
    server.create(binding("four"))
    status, _, body = call(server, "GET", VAPB_PATH + "?labelSelector=" + quote(selector))
    assert status == 200
    assert [i["metadata"]["name"] for i in body["items"]] == expected


@pytest.mark.parametrize(
    "query",
    [
        "labelSelector=" + quote("app!=x"),
        "labelSelector=" + quote("app in (x)"),
        "labelSelector=" + quote("!tier"),
        "fieldSelector=" + quote("metadata.name=one"),
    ],
)
def test_selectors_nothing_uses_are_refused_not_ignored(server: FakeApiServer, query: str) -> None:
    server.create(binding("one", app="x"))
    status, _, body = call(server, "GET", f"{VAPB_PATH}?{query}")
    assert (status, body["reason"]) == (400, "BadRequest")
    assert "not supported" in body["message"] or "key=value" in body["message"]


def test_label_selector_with_limit_pages_over_matches(server: FakeApiServer) -> None:
    for i in range(6):
        server.create(binding(f"b{i}", keep="yes" if i % 2 else "no"))
    body = call(server, "GET", VAPB_PATH + "?labelSelector=keep%3Dyes&limit=2")[2]
    assert [i["metadata"]["name"] for i in body["items"]] == ["b1", "b3"]
    assert "remainingItemCount" not in body["metadata"]  # kube omits it with a selector
    rest = call(
        server,
        "GET",
        VAPB_PATH + "?labelSelector=keep%3Dyes&limit=2&continue=" + body["metadata"]["continue"],
    )[2]
    assert [i["metadata"]["name"] for i in rest["items"]] == ["b5"]
    assert call(server, "GET", VAPB_PATH + "?labelSelector=%3D%3D")[0] == 400
