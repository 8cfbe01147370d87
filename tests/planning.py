"""Shared builders of the planner's table tests: a small Gatekeeper cluster, a judge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sweeper.core.gatekeeper import GatekeeperDefaults
from sweeper.core.plan import plan
from sweeper.core.reasons import Action, Reason
from sweeper.core.settings import Rules
from sweeper.core.versions import Version
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
RULES = Rules(min_age=timedelta(0))
ALL = RULES.reasons | {Reason.ORPHANED_UNOWNED}


def gatekeeper(kind: str = "K8sRequiredLabels", **template_options: Any) -> list[dict]:
    """The template CRD, one template, its constraint CRD and its policy."""
    template = stamp(make.template(kind, **template_options))
    return [
        make.template_crd(),
        template,
        make.constraint_crd(template),
        stamp(make.policy(template)),
    ]


def judge(
    objects: list[dict],
    *,
    failed: tuple[str, ...] = (),
    rules: Rules = RULES,
    vap_version: str = "v1",
    policies: bool = False,
) -> dict[str, tuple[Action, Reason]]:
    """``name -> (action, reason)`` for every VAPB (and with ``policies``, VAP) in ``objects``."""
    result = plan(snapshot(objects, failed=failed, vap_version=vap_version), rules, now=NOW)
    return {
        v.obj.name: (v.action, v.reason) for v in result.verdicts if policies or v.obj.is_binding
    }


def live(kind: str, name: str, **options: Any) -> dict:
    return stamp(make.constraint(kind, name, **options))


TERMINATING = "2026-01-01T00:30:00Z"


def terminating(obj: dict, value: object = TERMINATING) -> dict:
    obj["metadata"]["deletionTimestamp"] = value
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    return obj


V3_22_0 = GatekeeperDefaults(version=Version(3, 22, 0))  # manages the legacy binding names
V3_23_0 = GatekeeperDefaults(version=Version(3, 23, 0))  # manages the new binding names


def candidate(objs: list[dict], rules: Rules = RULES) -> tuple[Any, Any]:
    """The first deletion the plan makes of ``objs``, and the inventory it was made from."""
    inventory = snapshot(objs)
    verdict = plan(inventory, rules, now=NOW).deletions[0]
    return verdict, inventory
