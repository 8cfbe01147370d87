"""Shared values of the end-to-end sweep tests: the kinds swept, what the sample cluster leaves
behind, and the names left on the fake API server after a sweep. Helpers only: no tests here."""

from __future__ import annotations

from sweeper.testing import FakeApiServer

BINDING = "ValidatingAdmissionPolicyBinding"
POLICY = "ValidatingAdmissionPolicy"


SAMPLE_LEFTOVERS = {
    "gatekeeper-k8srequiredlabels-must-have-team",  # owner-deleted
    "gatekeeper-k8sdisallowedtags-no-latest",  # owner-kind-gone
    "gatekeeper-k8sdisallowedtags",  # policy, owner-deleted
    "gatekeeper-k8sblocknodeport",  # policy, not-wanted
    "gatekeeper-k8sallowedrepos-audit-only",  # not-wanted
    "gatekeeper-prod-repos",  # legacy-duplicate
}


def names(server: FakeApiServer, kind: str) -> set[str]:
    return {obj["metadata"]["name"] for obj in server.objects(kind)}


def everything(server: FakeApiServer) -> set[str]:
    return names(server, BINDING) | names(server, POLICY)
