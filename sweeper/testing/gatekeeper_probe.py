"""The probe that shows the real Gatekeeper has caught up: a CEL template and one constraint
that exist only for that. ``touch`` changes both and waits until every pod status reports the
new generation without errors, then deletes the probe's binding and waits until Gatekeeper
re-creates it (the same path that re-creates anything a sweep deleted wrongly).
Imports nothing of the sweeper but ``sweeper.testing.rest``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sweeper.testing.rest import BINDINGS, CRDS, TEMPLATES, Rest, constraints_path, wait_for

PROBE_TEMPLATE = "gkloopprobe"
PROBE_KIND = "GkLoopProbe"
PROBE_CONSTRAINT = "gkloop-probe"
PROBE_BINDING = f"gatekeeper-{PROBE_CONSTRAINT}"


@dataclass
class ProbeObjects:
    """A CEL template and one constraint that exist only to show Gatekeeper caught up."""

    rest: Rest

    def template(self, round_: int) -> dict:
        return {
            "apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate",
            "metadata": {"name": PROBE_TEMPLATE},
            "spec": {
                "crd": {"spec": {"names": {"kind": PROBE_KIND}}},
                "targets": [
                    {
                        "target": "admission.k8s.gatekeeper.sh",
                        "code": [
                            {
                                "engine": "K8sNativeValidation",
                                "source": {
                                    "validations": [
                                        {
                                            "expression": "true",
                                            "message": f"probe round {round_}: never denies",
                                        }
                                    ]
                                },
                            }
                        ],
                    }
                ],
            },
        }

    def constraint(self, round_: int) -> dict:
        return {
            "apiVersion": "constraints.gatekeeper.sh/v1beta1",
            "kind": PROBE_KIND,
            "metadata": {"name": PROBE_CONSTRAINT},
            # matches a kind nobody creates: the probe's binding never sees a request
            "spec": {
                "enforcementAction": "dryrun",
                "match": {"kinds": [{"apiGroups": ["gkloop.test"], "kinds": [f"Round{round_}"]}]},
            },
        }

    def ensure(self, *, timeout: float, alive: Any) -> None:
        """Create the probe objects when missing and wait for their VAP and VAPB."""
        tpath = f"{TEMPLATES}/{PROBE_TEMPLATE}"
        if self.rest.get(tpath) is None:
            self.rest.apply(tpath, self.template(0))
        cpath = f"{constraints_path(PROBE_KIND)}/{PROBE_CONSTRAINT}"
        wait_for(
            lambda: self.rest.get(f"{CRDS}/{PROBE_KIND.lower()}.constraints.gatekeeper.sh"),
            "the probe's constraint CRD",
            timeout=timeout,
            alive=alive,
        )
        if _get_quietly(self.rest, cpath) is None:
            wait_for(
                lambda: _apply_quietly(self.rest, cpath, self.constraint(0)),
                "probe constraint",
                timeout=timeout,
                alive=alive,
            )
        wait_for(
            lambda: self.rest.get(f"{BINDINGS}/gatekeeper-{PROBE_CONSTRAINT}"),
            "the probe's binding",
            timeout=timeout,
            alive=alive,
        )

    def touch(self, *, timeout: float, alive: Any) -> None:
        """Change both probes and wait for their status; re-create-test the probe binding."""
        round_ = time.monotonic_ns()
        tpath = f"{TEMPLATES}/{PROBE_TEMPLATE}"
        cpath = f"{constraints_path(PROBE_KIND)}/{PROBE_CONSTRAINT}"
        template = self.rest.apply(tpath, self.template(round_))
        constraint = self.rest.apply(cpath, self.constraint(round_))
        wait_for(
            lambda: _observed(self.rest.get(tpath), template),
            "probe template status",
            timeout=timeout,
            alive=alive,
        )
        wait_for(
            lambda: _observed(self.rest.get(cpath), constraint),
            "probe constraint status",
            timeout=timeout,
            alive=alive,
        )
        binding = f"{BINDINGS}/gatekeeper-{PROBE_CONSTRAINT}"
        old = (self.rest.get(binding) or {}).get("metadata", {}).get("uid")
        self.rest.delete(binding)
        wait_for(
            lambda: (
                (self.rest.get(binding) or {}).get("metadata", {}).get("uid") not in (None, old)
            ),
            "Gatekeeper re-creating the probe's binding",
            timeout=timeout,
            alive=alive,
        )


def _observed(current: dict | None, written: dict) -> bool:
    """Every pod's status of ``current`` is for the generation written, without errors."""
    if not current:
        return False
    generation = written["metadata"]["generation"]
    by_pod = (current.get("status") or {}).get("byPod") or []
    return bool(by_pod) and all(
        p.get("observedGeneration") == generation and not p.get("errors") for p in by_pod
    )


def _get_quietly(rest: Rest, path: str) -> dict | None:
    try:
        return rest.get(path)
    except Exception:
        return None


def _apply_quietly(rest: Rest, path: str, obj: dict) -> bool:
    """Apply; False while the kind is not served yet (a fresh CRD)."""
    try:
        rest.apply(path, obj)
    except Exception:
        return False
    return True
