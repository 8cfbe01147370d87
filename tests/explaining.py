"""Shared helpers of the ``sweeper explain`` tests: the corpus by name, and explanations of a
list of objects (or of a corpus scenario) as the real gather and planner see them; a minimal
Gatekeeper install to build cases on. Helpers only: no tests here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpers import NOW
from scenarios import corpus
from test_scenarios import rules_for

from sweeper.core.explain import Explanation, explain
from sweeper.core.plan import plan
from sweeper.core.reasons import Reason
from sweeper.core.settings import Rules
from sweeper.testing import objects as make
from sweeper.testing.snapshot import snapshot, stamp

SCENARIOS = {scenario.name: scenario for scenario in corpus()}


def explained(
    objects: list[dict[str, Any]], rules: Rules, *, failed: tuple[str, ...] = (), **kw: Any
) -> dict[str, Explanation]:
    """name -> explanation of every VAP and VAPB, read by the real gather, judged by the
    real planner (bindings and policies of one name would collide: the tests avoid that)."""
    inventory = snapshot(objects, failed=failed, vap_version=kw.pop("vap_version", "v1"))
    verdicts = plan(inventory, rules, now=NOW).verdicts
    return {
        v.obj.name: explain(v, inventory=inventory, rules=rules, now=NOW, **kw) for v in verdicts
    }


def of(scenario: str) -> dict[str, Explanation]:
    s = SCENARIOS[scenario]
    return explained(s.objects, rules_for(s), vap_version=s.vap_version)


def gatekeeper(kind: str = "K8sRequiredLabels", **options: Any) -> list[dict[str, Any]]:
    template = stamp(make.template(kind, **options))
    return [
        make.template_crd(),
        template,
        make.constraint_crd(template),
        stamp(make.policy(template)),
    ]


RULES = Rules(min_age=timedelta(0))
ALL = RULES.reasons | {Reason.ORPHANED_UNOWNED}
