"""The building blocks of the scenario corpus: ``Scenario`` (objects and the expected outcome of
each VAP and VAPB), ``Cluster`` (builds objects the way a live cluster holds them) and owners
that no longer exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sweeper.core import gatekeeper as gk
from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.testing import objects as make
from sweeper.testing.snapshot import stamp

V1BETA1 = "admissionregistration.k8s.io/v1beta1"
VAP_ONLY = [{"action": "deny", "enforcementPoints": [{"name": gk.VAP_ENFORCEMENT_POINT}]}]
AUDIT_ONLY = [{"action": "warn", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}]


@dataclass(frozen=True)
class Scenario:
    name: str
    objects: list[dict[str, Any]]
    expected: dict[str, str]  # VAP/VAPB name -> outcome
    include_unowned: bool = False
    defaults: GatekeeperDefaults = field(default_factory=GatekeeperDefaults)
    vap_version: str = "v1"
    # Gatekeeper's Deployments in gatekeeper-system; ``defaults`` is what observing them gives
    # (until the sweep observes them itself over HTTP, the scenario resolves them here).
    deployments: list[dict[str, Any]] = field(default_factory=list)
    replicasets: list[dict[str, Any]] = field(default_factory=list)  # of a rollout
    # The cause of the one gatekeeper_not_observed line the sweep writes; None: no such line.
    warning: str | None = None
    exit_code: int = 0  # 4 when something is undecided


class Cluster:
    """Builds one scenario's objects the way a live cluster would hold them."""

    def __init__(self, api_version: str = "admissionregistration.k8s.io/v1") -> None:
        self.objects: list[dict[str, Any]] = [make.template_crd()]
        self.api_version = api_version

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects.append(stamp(obj))
        return obj

    def template(self, kind: str, *, policy: bool = True, **options: Any) -> dict[str, Any]:
        template = self.add(make.template(kind, **options))
        self.add(make.constraint_crd(template))
        if policy:
            self.add(make.policy(template, api_version=self.api_version))
        return template

    def constraint(self, kind: str, name: str, *, binding: bool = True, **options: Any) -> dict:
        constraint = self.add(make.constraint(kind, name, **options))
        if binding:
            self.add(make.binding(constraint, api_version=self.api_version))
        return constraint

    def binding(self, owner: dict[str, Any], **options: Any) -> dict[str, Any]:
        return self.add(make.binding(owner, api_version=self.api_version, **options))

    def policy(self, template: dict[str, Any], **options: Any) -> dict[str, Any]:
        return self.add(make.policy(template, api_version=self.api_version, **options))

    def without_crds(self) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects
            if o["kind"] not in ("CustomResourceDefinition", gk.TEMPLATE_KIND)
        ]


def ghost_constraint(kind: str, name: str) -> dict[str, Any]:
    """A constraint that no longer exists: only its dependents remember its uid."""
    return make.constraint(kind, name, uid=str(uuid.uuid4()))


def ghost_template(kind: str) -> dict[str, Any]:
    return make.template(kind, uid=str(uuid.uuid4()))
