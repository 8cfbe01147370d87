"""Builders of Gatekeeper-shaped objects, as Gatekeeper or a user would create them.

Used by the tests, `sweeper demo` and the benchmark, as `from sweeper.testing import objects
as make`. Every builder returns a fresh plain dict. `metadata.uid` is left out unless given
(the fake API server assigns one); builders of dependents take the stored owner dict and
copy its uid into their ownerReference. This module only gathers the builders: Gatekeeper's
own kinds are in `gatekeeper_objects`, the Kubernetes built-ins in `builtin_objects`.
"""

from __future__ import annotations

from sweeper.testing.builtin_objects import (
    binding,
    foreign_binding,
    gatekeeper_deployment,
    policy,
)
from sweeper.testing.gatekeeper_objects import (
    ADMISSION_TARGET,
    CONSTRAINT_API_VERSION,
    TEMPLATE_OWNER_API_VERSION,
    constraint,
    constraint_crd,
    template,
    template_crd,
)
from sweeper.testing.workload_objects import deployment_status, replicaset, stuck_rollout

__all__ = [
    "ADMISSION_TARGET",
    "CONSTRAINT_API_VERSION",
    "TEMPLATE_OWNER_API_VERSION",
    "binding",
    "constraint",
    "constraint_crd",
    "deployment_status",
    "foreign_binding",
    "gatekeeper_deployment",
    "policy",
    "replicaset",
    "stuck_rollout",
    "template",
    "template_crd",
]
