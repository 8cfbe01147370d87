"""End-to-end sweeps against clusters that serve different APIs: only v1beta1 of the VAP API,
no VAP API at all, and constraint CRDs without Gatekeeper's label that only discovery finds
(and what a failed discovery leaves undecided)."""

from __future__ import annotations

from helpers import NOW, T0, sweep
from sweeping import BINDING, SAMPLE_LEFTOVERS, names

from sweeper.testing import FakeApiServer
from sweeper.testing import objects as make
from sweeper.testing.sample import seed_sample_cluster


def test_v1beta1_only_cluster(kubeconfig: str, tmp_path) -> None:
    with FakeApiServer(vap_versions=("v1beta1",), clock=lambda: T0) as old:
        seed_sample_cluster(old, now=NOW)
        run = sweep(old.write_kubeconfig(tmp_path / "old"))
        assert run.exit_code == 0
        assert run.names("deleted") == SAMPLE_LEFTOVERS
        assert run.summary["vap_version"] == "v1beta1"
        assert {r.version for r in old.requests if r.verb == "delete"} == {"v1beta1"}


def test_no_vap_api_means_nothing_to_do(tmp_path) -> None:
    with FakeApiServer(vap_versions=(), clock=lambda: T0) as bare:
        run = sweep(bare.write_kubeconfig(tmp_path / "bare"))
    assert run.exit_code == 0
    assert len(run.events("nothing_to_do")) == 1
    assert run.summary["listed_bindings"] == 0


def _unlabelled_crd_with_plural(server: FakeApiServer, kind: str, plural: str) -> dict:
    server.create(make.template_crd())
    template = server.create(make.template(kind))
    server.create(make.policy(template))
    crd = make.constraint_crd(template)
    crd["metadata"]["labels"] = {}
    crd["metadata"]["name"] = f"{plural}.constraints.gatekeeper.sh"
    crd["spec"]["names"].update(plural=plural, singular=kind.lower())
    server.create(crd)
    return server.create(make.constraint(kind, "live"))


def test_unlabelled_crd_with_another_plural_is_found_by_discovery(
    server: FakeApiServer, kubeconfig: str
) -> None:
    constraint = _unlabelled_crd_with_plural(server, "K8sFoo", "k8sfoos")
    binding = server.create(make.binding(constraint))
    run = sweep(kubeconfig)
    assert run.exit_code == 0 and run.summary["candidates"] == 0
    assert binding["metadata"]["name"] in names(server, BINDING)
    assert any(r.path == "/apis/constraints.gatekeeper.sh/v1beta1/k8sfoos" for r in server.requests)


def test_failed_discovery_keeps_an_unlisted_kind_undecided(
    server: FakeApiServer, kubeconfig: str
) -> None:
    constraint = _unlabelled_crd_with_plural(server, "K8sFoo", "k8sfoos")
    binding = server.create(make.binding(constraint))
    server.inject(method="GET", path=r"^/apis/constraints\.gatekeeper\.sh$", status=503, times=None)
    run = sweep(kubeconfig)
    assert run.exit_code == 4
    assert run.names("undecided") == {binding["metadata"]["name"]}
    assert binding["metadata"]["name"] in names(server, BINDING)
