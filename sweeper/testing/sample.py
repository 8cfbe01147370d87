"""A small Gatekeeper cluster with one leftover of each common kind, for ``sweeper demo``.

Every object is created an hour in the past so the default ``--min-age`` lets it go. The
objects are created in one fixed order (templates, wanted objects, leftovers, Gatekeeper's
Deployments), so resource versions are the same from run to run.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sweeper.testing import objects as make
from sweeper.testing.server import FakeApiServer

GATEKEEPER_VERSION = "v3.23.0"


def seed_sample_cluster(
    server: FakeApiServer, *, now: datetime | None = None, gatekeeper: bool = True
) -> None:
    """Create the sample cluster's templates, constraints, policies and bindings, and (unless
    ``gatekeeper`` is false) Gatekeeper's own Deployments."""
    created = ((now or datetime.now(UTC)) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.create(make.template_crd())
    templates = {
        kind: _live_template(server, kind, created=created, **options)
        for kind, options in (
            ("K8sRequiredLabels", {}),
            ("K8sAllowedRepos", {}),
            ("K8sBlockNodePort", {"generate_vap": False}),
        )
    }
    prod_repos = _seed_wanted(server, templates, created=created)
    _seed_leftovers(server, templates, prod_repos, created=created)
    if gatekeeper:
        _seed_gatekeeper(server)


def _live_template(server: FakeApiServer, kind: str, *, created: str, **options: object) -> dict:
    """Store a template and the constraint CRD Gatekeeper creates for it; the stored template."""
    template = server.create(make.template(kind, created=created, **options))
    server.create(make.constraint_crd(template))
    return template


def _seed_wanted(server: FakeApiServer, templates: dict[str, dict], *, created: str) -> dict:
    """The policies and bindings Gatekeeper still wants (kept); the stored prod-repos
    constraint, whose legacy binding name is one of the leftovers."""
    server.create(make.policy(templates["K8sRequiredLabels"], created=created))
    server.create(make.policy(templates["K8sAllowedRepos"], created=created))
    owner_label = server.create(
        make.constraint("K8sRequiredLabels", "must-have-owner", created=created)
    )
    server.create(make.binding(owner_label, created=created))
    prod_repos = server.create(make.constraint("K8sAllowedRepos", "prod-repos", created=created))
    server.create(make.binding(prod_repos, created=created))
    for name in ("must-have-app", "must-have-env", "namespaces-have-owner"):
        wanted = server.create(make.constraint("K8sRequiredLabels", name, created=created))
        server.create(make.binding(wanted, created=created))
    return prod_repos


def _seed_leftovers(
    server: FakeApiServer, templates: dict[str, dict], prod_repos: dict, *, created: str
) -> None:
    """One leftover per common deletion reason, and a user's binding that is not Gatekeeper's."""
    # owner-deleted: the constraint went while Gatekeeper was down.
    gone = make.constraint("K8sRequiredLabels", "must-have-team", uid=str(uuid.uuid4()))
    server.create(make.binding(gone, created=created))

    # owner-kind-gone: the template (and with it the CRD and constraints) went first.
    gone_template = make.template("K8sDisallowedTags", uid=str(uuid.uuid4()))
    server.create(make.policy(gone_template, created=created))
    gone_kind = make.constraint("K8sDisallowedTags", "no-latest", uid=str(uuid.uuid4()))
    server.create(make.binding(gone_kind, created=created))

    # not-wanted: the template switched generateVAP off; its policy stayed.
    server.create(make.policy(templates["K8sBlockNodePort"], created=created))

    # not-wanted: the constraint's vap.k8s.io enforcement point was removed.
    audit = server.create(
        make.constraint(
            "K8sAllowedRepos",
            "audit-only",
            enforcement_action="scoped",
            created=created,
            scoped=[
                {"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]}
            ],
        )
    )
    server.create(make.binding(audit, created=created, action="Warn"))

    # legacy-duplicate: an upgrade to v3.23 left the old name beside the new one.
    server.create(make.binding(prod_repos, legacy=True, created=created))

    # orphaned-unowned: `kubectl delete --cascade=orphan` stripped the ownerReference.
    orphan = make.constraint("K8sRequiredLabels", "must-have-cost-center", uid=str(uuid.uuid4()))
    server.create(make.binding(orphan, owned=False, created=created))

    # Not Gatekeeper's: a user's binding that merely starts with gatekeeper-.
    user = make.foreign_binding("gatekeeper-team-policy", policy_name="team-policy")
    user["metadata"]["creationTimestamp"] = created
    server.create(user)


def _seed_gatekeeper(server: FakeApiServer) -> None:
    """Gatekeeper itself, as its Helm chart deploys it: the webhook, and the audit Deployment
    that runs the generate operation with the default flags (v3.20+: on)."""
    server.create(make.gatekeeper_deployment(version=GATEKEEPER_VERSION))
    server.create(
        make.gatekeeper_deployment(
            "gatekeeper-audit",
            version=GATEKEEPER_VERSION,
            args=["--operation=audit", "--operation=status", "--operation=generate"],
        )
    )
