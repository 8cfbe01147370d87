"""A dry run's review, from what was listed: no request per candidate.

A real sweep reads each candidate's owner again and the object itself right before its
DELETE; a dry run deletes nothing, so those reads would only repeat what the LIST already
proved (the same uid and resourceVersion, the same manifest) and spend the read budget:
600 candidates at two reads each took minutes. Here each ``would_delete`` line carries
the object as listed, cleaned exactly as a real sweep cleans the object it reads
(``listed_manifests``, proven equal by the tests). A candidate whose listed object cannot
be found in the kept pages is handed back, for the per-object path of ``execute``.
"""

from __future__ import annotations

import logging
import threading

from sweeper.core import paths
from sweeper.core.inventory import Inventory
from sweeper.core.manifests import listed_manifests
from sweeper.core.reasons import Event
from sweeper.core.summary import Outcome
from sweeper.core.verdicts import Plan, Verdict
from sweeper.output.report import Reporter

NOT_READ_AGAIN = "not read again: a dry run shows what the listed objects decide"


def review_listed(
    plan: Plan, *, inventory: Inventory, reporter: Reporter, stop: threading.Event | None
) -> tuple[list[Outcome], list[Verdict]]:
    """Log a ``would_delete`` line per candidate, bindings first, from the listed pages;
    the outcomes, and the candidates whose listed object was not found."""
    candidates = sorted(plan.deletions, key=lambda verdict: not verdict.obj.is_binding)
    manifests = listed_manifests(
        inventory.pages,
        {verdict.obj.uid for verdict in candidates},
        api_version=f"{paths.ADMISSION_GROUP}/{inventory.vap_version}",
    )
    outcomes: list[Outcome] = []
    rest: list[Verdict] = []
    for verdict in candidates:
        manifest = manifests.get(verdict.obj.uid)
        if manifest is None:
            rest.append(verdict)
        elif stop is not None and stop.is_set():
            stopped = "sweep stopped before this object"
            reporter.verdict(verdict, Event.INTERRUPTED, stopped, level=logging.WARNING)
            outcomes.append(Outcome(Event.INTERRUPTED, verdict))
        else:
            reporter.verdict(
                verdict,
                Event.WOULD_DELETE,
                "would delete (dry run)",
                recheck=NOT_READ_AGAIN,
                manifest=manifest,
            )
            outcomes.append(Outcome(Event.WOULD_DELETE, verdict))
    return outcomes, rest
