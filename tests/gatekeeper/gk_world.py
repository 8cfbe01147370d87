"""The cluster the Gatekeeper-in-the-loop tests share: every template and constraint, created
once per session, in one batch (a new constraint kind costs twice: the garbage collector
learns it only at its next discovery resync, up to 30 s, and until the API server's admission
plugin serves it, the kind's new policy denies every write). Each test owns its own kinds, so
what one test leaves cannot decide another's. Helpers only: no tests here."""

from __future__ import annotations

from dataclasses import dataclass

from sweeper.testing.gatekeeper_loop import apply_constraint
from sweeper.testing.gatekeeper_manager import GatekeeperManager
from sweeper.testing.gatekeeper_templates import constraint, scoped_action, template
from sweeper.testing.rest import (
    BINDINGS,
    CRDS,
    POLICIES,
    TEMPLATES,
    Rest,
    constraints_path,
    wait_for,
)

NOT_VAP = [scoped_action("deny", "validation.gatekeeper.sh")]  # a scoped action with no VAPB


@dataclass(frozen=True)
class Kind:
    """One template of the world and the constraints made of it at the start."""

    kind: str
    constraints: tuple[dict, ...] = ()
    cel: bool = True
    rego: bool = False
    generate_vap: bool | None = None

    @property
    def template(self) -> dict:
        return template(self.kind, cel=self.cel, rego=self.rego, generate_vap=self.generate_vap)

    @property
    def name(self) -> str:
        return self.kind.lower()

    @property
    def policy(self) -> str:
        """The VAP Gatekeeper makes of this template."""
        return f"gatekeeper-{self.name}"


def _c(kind: str, name: str, **kw) -> dict:
    return constraint(kind, name, **kw)


# The healthy majority: every enforcement action, scoped with vap.k8s.io and with "*",
# generateVAP true and unset, CEL and CEL+Rego, plus what wants nothing (Rego only,
# generateVAP false, scoped without a VAP point).
HEALTHY = (
    Kind(
        "GkHealthyCel",
        (
            _c("GkHealthyCel", "deny-all", action="deny"),
            _c("GkHealthyCel", "warn-all", action="warn"),
            _c("GkHealthyCel", "dryrun-all", action="dryrun"),
            _c("GkHealthyCel", "unset-action"),
        ),
    ),
    Kind(
        "GkHealthyMixed",
        (
            _c(
                "GkHealthyMixed",
                "scoped-vap",
                action="scoped",
                scoped=[scoped_action("deny", "vap.k8s.io")],
            ),
            _c(
                "GkHealthyMixed",
                "scoped-star",
                action="scoped",
                scoped=[scoped_action("warn", "*")],
            ),
            _c("GkHealthyMixed", "scoped-webhook-only", action="scoped", scoped=NOT_VAP),
        ),
        rego=True,
        generate_vap=True,
    ),
    Kind("GkHealthyRego", (_c("GkHealthyRego", "rego-only"),), cel=False, rego=True),
    Kind("GkHealthyNoVap", (_c("GkHealthyNoVap", "novap"),), generate_vap=False),
)
ORPHAN = Kind("GkOrphan", (_c("GkOrphan", "orphaned-by-cascade"), _c("GkOrphan", "kept-beside")))
ORPHAN_TEMPLATE = Kind("GkOrphanTpl", (_c("GkOrphanTpl", "outlives-template"),))
SCOPED = Kind("GkScoped", (_c("GkScoped", "switched-to-scoped"), _c("GkScoped", "stays-deny")))
LEGACY = Kind("GkLegacy", (_c("GkLegacy", "rolled-back"),))
UNKNOWN = Kind("GkUnknown", (_c("GkUnknown", "version-unknown"),))
TERMINATING = Kind("GkTerminating", (_c("GkTerminating", "behind-finalizer"),))
RESTORE = Kind(
    "GkRestore", (_c("GkRestore", "restore-scoped"), _c("GkRestore", "restore-orphaned"))
)
WORLD = (*HEALTHY, ORPHAN, ORPHAN_TEMPLATE, SCOPED, LEGACY, UNKNOWN, TERMINATING, RESTORE)
GC_PROBE = "gkloop-gc-probe"  # a constraint per kind, orphan-deleted to see the GC knows it


def build(rest: Rest, manager: GatekeeperManager, kinds: tuple[Kind, ...] = WORLD) -> None:
    """Create every template, then every constraint; wait until Gatekeeper made their VAPs
    and VAPBs and the garbage collector watches every constraint kind and templates."""
    for k in kinds:
        rest.apply(f"{TEMPLATES}/{k.name}", k.template)
    for k in kinds:
        wait_for(
            lambda k=k: rest.get(f"{CRDS}/{k.name}.constraints.gatekeeper.sh"), f"{k.kind} CRD"
        )
    for k in kinds:
        for c in (*k.constraints, constraint(k.kind, GC_PROBE, action="scoped", scoped=NOT_VAP)):
            apply_constraint(rest, c)
    for k in kinds:
        if k.cel and k.generate_vap is not False:
            wait_for(lambda k=k: rest.get(f"{POLICIES}/{k.policy}"), f"VAP {k.policy}")
    manager.wait_reconciled()
    # The GC handles an orphaning delete only for kinds it watches: when every probe is gone,
    # it watches them all (it learns new kinds at its discovery resync, every 30 s).
    for k in kinds:
        rest.delete(f"{constraints_path(k.kind)}/{GC_PROBE}", propagation="Orphan")
    for k in kinds:
        wait_for(
            lambda k=k: rest.get(f"{constraints_path(k.kind)}/{GC_PROBE}") is None,
            f"the garbage collector watching {k.kind}",
            timeout=90,
        )
    manager.wait_reconciled()


def binding_names(rest: Rest) -> set[str]:
    return {o["metadata"]["name"] for o in rest.items(BINDINGS)}
