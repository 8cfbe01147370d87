"""The flap judge: did the real Gatekeeper undo a sweep? Compares the uids of every VAP and
VAPB before a sweep, what the sweep deleted, and after Gatekeeper reconciled. A deleted object
that is back under its name (new uid) is one Gatekeeper still wanted: a wrong deletion. A
survivor with a new uid was deleted and re-created behind the sweep's back. Pure but for
``snapshot`` (one LIST of each). Used by the Gatekeeper-in-the-loop tests and bench/flap.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sweeper.testing.gatekeeper_probe import PROBE_BINDING
from sweeper.testing.rest import BINDINGS, POLICIES, Rest

BINDING = "ValidatingAdmissionPolicyBinding"
POLICY = "ValidatingAdmissionPolicy"


def snapshot(rest: Rest) -> dict[tuple[str, str], str]:
    """(kind, name) -> uid of every VAP and VAPB (the probe's binding left out)."""
    found = {(POLICY, o["metadata"]["name"]): o["metadata"]["uid"] for o in rest.items(POLICIES)}
    for o in rest.items(BINDINGS):
        if o["metadata"]["name"] != PROBE_BINDING:
            found[(BINDING, o["metadata"]["name"])] = o["metadata"]["uid"]
    return found


@dataclass
class Verdict:
    """What Gatekeeper did after a sweep: deleted objects it re-created, survivors it replaced."""

    recreated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [
                f"re-created by Gatekeeper after the sweep deleted it (a wrong deletion): {x}"
                for x in self.recreated
            ]
            + [f"survivor has a new uid (deleted and re-created): {x}" for x in self.replaced]
            + [f"survivor vanished: {x}" for x in self.vanished]
        )


def judge(before: dict, deleted: dict, after: dict) -> Verdict:
    """Compare uids: before the sweep, what it deleted, after Gatekeeper reconciled."""
    verdict = Verdict()
    for key, uid in deleted.items():
        if key in after:
            verdict.recreated.append(f"{key[0]}/{key[1]} (deleted uid {uid}, now {after[key]})")
    for key, uid in before.items():
        if key in deleted:
            continue
        if key not in after:
            verdict.vanished.append(f"{key[0]}/{key[1]}")
        elif after[key] != uid:
            verdict.replaced.append(f"{key[0]}/{key[1]} ({uid} -> {after[key]})")
    return verdict
