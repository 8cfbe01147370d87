"""The fake API server's discovery answers like kube-apiserver: the VAP versions it serves, core
and group discovery, custom kinds served only while their CRD exists, plain-text 404s for
unserved groups, and short names, categories and verbs."""

from __future__ import annotations

import pytest
from api_calls import ADM, CT_CRD, call, crd

from sweeper.testing import FakeApiServer


# --- discovery ---
@pytest.mark.parametrize(
    ("vap_versions", "served", "minor"),
    [
        (("v1", "v1beta1"), ["v1", "v1beta1"], "30"),
        (("v1beta1",), ["v1beta1"], "28"),
        ((), [], "27"),
    ],
)
def test_discovery_follows_vap_versions(
    vap_versions: tuple[str, ...], served: list[str], minor: str
) -> None:
    with FakeApiServer(vap_versions=vap_versions) as srv:
        _, _, groups = call(srv, "GET", "/apis")
        adm = next(g for g in groups["groups"] if g["name"] == ADM)
        assert adm["preferredVersion"]["version"] == "v1"
        for version in ("v1", "v1beta1"):
            status, _, doc = call(srv, "GET", f"/apis/{ADM}/{version}")
            resources = doc.get("resources", []) if isinstance(doc, dict) else []
            names = {r["name"] for r in resources}
            has_vap = "validatingadmissionpolicybindings" in names
            assert has_vap == (version in served)
            if version == "v1beta1" and version not in served:
                assert status == 404
        status, _, _ = call(srv, "GET", f"/apis/{ADM}/v1beta1/validatingadmissionpolicies")
        assert status == (200 if "v1beta1" in served else 404)
        assert call(srv, "GET", "/version")[2]["minor"] == minor


def test_core_and_group_discovery(server: FakeApiServer) -> None:
    assert call(server, "GET", "/api")[2]["versions"] == ["v1"]
    core = call(server, "GET", "/api/v1")[2]
    assert core["kind"] == "APIResourceList"
    assert {"name": "events", "namespaced": True, "kind": "Event"}.items() <= next(
        r for r in core["resources"] if r["name"] == "events"
    ).items()
    group = call(server, "GET", "/apis/apiextensions.k8s.io")[2]
    assert group["kind"] == "APIGroup"
    assert group["preferredVersion"]["groupVersion"] == "apiextensions.k8s.io/v1"
    assert call(server, "GET", "/apis/nope.example.com")[0] == 404
    assert call(server, "GET", "/apis/nope.example.com/v1")[0] == 404


# --- custom resources follow their CRD ---
def test_custom_kinds_served_only_while_their_crd_exists(server: FakeApiServer) -> None:
    constraint = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "K8sFoo",
        "metadata": {"name": "c1"},
        "spec": {},
    }
    with pytest.raises(ValueError):
        server.create(constraint)
    server.create(crd("templates.gatekeeper.sh", "ConstraintTemplate", ("v1", "v1beta1")))
    server.create(
        crd(
            "constraints.gatekeeper.sh",
            "K8sFoo",
            ("v1beta1", "v1"),
            **{"gatekeeper.sh/constraint": "yes"},
        )
    )
    server.create(constraint)
    path = "/apis/constraints.gatekeeper.sh/v1/k8sfoo"
    items = call(server, "GET", path)[2]["items"]
    assert [(i["metadata"]["name"], i["apiVersion"]) for i in items] == [
        ("c1", "constraints.gatekeeper.sh/v1")
    ]
    group = call(server, "GET", "/apis/constraints.gatekeeper.sh")[2]
    assert group["preferredVersion"]["version"] == "v1"
    assert call(server, "GET", "/apis/templates.gatekeeper.sh/v1/constrainttemplates")[0] == 200

    server.delete(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "k8sfoo.constraints.gatekeeper.sh"
    )
    assert call(server, "GET", path)[0] == 404
    assert call(server, "GET", path + "/c1")[0] == 404
    assert call(server, "GET", "/apis/constraints.gatekeeper.sh")[0] == 404
    assert [o["metadata"]["name"] for o in server.objects("K8sFoo")] == ["c1"]
    orphan = {**constraint, "metadata": {"name": "c2"}}
    with pytest.raises(ValueError):
        server.create(orphan)
    server.create(orphan, force=True)
    assert len(server.objects("K8sFoo")) == 2
    crds = call(server, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")[2]
    assert [i["metadata"]["name"] for i in crds["items"]] == [CT_CRD]


# --- unserved groups and discovery names ---
def test_unserved_group_or_version_is_a_plain_text_404_like_kube_apiserver(
    server: FakeApiServer,
) -> None:
    for path in (
        "/apis/constraints.gatekeeper.sh",
        "/apis/constraints.gatekeeper.sh/v1beta1",
        "/apis/constraints.gatekeeper.sh/v1beta1/k8sfoo/x",
        "/apis/nope.example.com/v1",
    ):
        status, headers, body = call(server, "GET", path)
        assert (status, body) == (404, "404 page not found\n"), path
        assert headers["content-type"].startswith("text/plain")
    # A served group/version with an unknown resource or object: a JSON Status.
    status, _, body = call(server, "GET", "/apis/apiextensions.k8s.io/v1/nothing")
    assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"


def test_discovery_carries_short_names_categories_and_verbs(server: FakeApiServer) -> None:
    from sweeper.testing import objects as make

    server.create(make.template_crd())
    template = server.create(make.template("K8sFoo", short_names=["foo"]))
    server.create(make.constraint_crd(template))
    constraints = call(server, "GET", "/apis/constraints.gatekeeper.sh/v1beta1")[2]
    assert constraints["resources"] == [
        {
            "name": "k8sfoo",
            "singularName": "k8sfoo",
            "namespaced": False,
            "kind": "K8sFoo",
            "verbs": [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ],
            "shortNames": ["foo"],
            "categories": ["constraint", "constraints"],
        }
    ]
    templates = call(server, "GET", "/apis/templates.gatekeeper.sh/v1")[2]["resources"][0]
    assert "shortNames" not in templates and "categories" not in templates
    apiext = call(server, "GET", "/apis/apiextensions.k8s.io/v1")[2]["resources"][0]
    assert (apiext["shortNames"], apiext["categories"]) == (["crd", "crds"], ["api-extensions"])
    assert "/apis/apps/v1" in call(server, "GET", "/")[2]["paths"]
    # kubectl asks for aggregated discovery first; the legacy document is its fallback.
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    status, headers, body = call(
        server, "GET", "/apis", headers={"Accept": aggregated + ",application/json"}
    )
    assert (status, headers["content-type"], body["kind"]) == (
        200,
        "application/json",
        "APIGroupList",
    )
    assert call(server, "GET", "/openapi/v2")[0] == 404
