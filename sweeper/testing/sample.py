"""A small Gatekeeper cluster with one leftover of each common kind, for ``sweeper demo``.

Every object is created an hour in the past so the default ``--min-age`` lets it go.
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

    def live_template(kind: str, **options: object) -> dict:
        template = server.create(make.template(kind, created=created, **options))
        server.create(make.constraint_crd(template))
        return template

    labels = live_template("K8sRequiredLabels")
    repos = live_template("K8sAllowedRepos")
    node_port = live_template("K8sBlockNodePort", generate_vap=False)

    # Wanted: kept.
    server.create(make.policy(labels, created=created))
    server.create(make.policy(repos, created=created))
    owner_label = server.create(
        make.constraint("K8sRequiredLabels", "must-have-owner", created=created)
    )
    server.create(make.binding(owner_label, created=created))
    prod_repos = server.create(make.constraint("K8sAllowedRepos", "prod-repos", created=created))
    server.create(make.binding(prod_repos, created=created))
    for name in ("must-have-app", "must-have-env", "namespaces-have-owner"):
        wanted = server.create(make.constraint("K8sRequiredLabels", name, created=created))
        server.create(make.binding(wanted, created=created))

    # owner-deleted: the constraint went while Gatekeeper was down.
    gone = make.constraint("K8sRequiredLabels", "must-have-team", uid=str(uuid.uuid4()))
    server.create(make.binding(gone, created=created))

    # owner-kind-gone: the template (and with it the CRD and constraints) went first.
    gone_template = make.template("K8sDisallowedTags", uid=str(uuid.uuid4()))
    server.create(make.policy(gone_template, created=created))
    gone_kind = make.constraint("K8sDisallowedTags", "no-latest", uid=str(uuid.uuid4()))
    server.create(make.binding(gone_kind, created=created))

    # not-wanted: the template switched generateVAP off; its policy stayed.
    server.create(make.policy(node_port, created=created))

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

    if not gatekeeper:
        return
    # Gatekeeper itself, as its Helm chart deploys it: the webhook, and the audit
    # Deployment that runs the generate operation with the default flags (v3.20+: on).
    server.create(make.gatekeeper_deployment(version=GATEKEEPER_VERSION))
    server.create(
        make.gatekeeper_deployment(
            "gatekeeper-audit",
            version=GATEKEEPER_VERSION,
            args=["--operation=audit", "--operation=status", "--operation=generate"],
        )
    )
