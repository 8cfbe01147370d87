"""The scenario corpus: realistic cluster states, one per way a VAP or VAPB is left behind.

Each scenario is a list of objects as Gatekeeper, the garbage collector and users leave
them, and the expected outcome for every VAP and VAPB in it:

- ``deleted <reason>``: a candidate the sweep deletes;
- ``reported <reason>``: kept, with a log line (an anomaly, or a reason not selected);
- ``undecided``: kept, the sweep could not decide;
- ``kept``: Gatekeeper wants it;
- ``ignored``: not Gatekeeper's.

Templates are modelled on gatekeeper-library's CEL templates (k8srequiredlabels,
k8sallowedrepos, k8scontainerlimits, k8sblocknodeport): a K8sNativeValidation code entry
beside the Rego one.

The building blocks (``Scenario``, ``Cluster``) are in ``scenarios.building``; the scenarios
themselves in one module per family: owners gone (``owners``), Gatekeeper no longer wanting an
object (``wants``), names (``names``), whole clusters and objects that are not Gatekeeper's
(``clusters``), defaults observed from Gatekeeper's Deployments (``observed``), and what the
running Gatekeeper exactly runs: flags, versions, rollouts, old and remote managers (``running``).
"""

from __future__ import annotations

from collections.abc import Callable

from scenarios.building import Scenario
from scenarios.clusters import (
    copied_owner_references,
    mixed_production,
    users_objects,
    v1beta1_cluster,
)
from scenarios.names import legacy_new_name_collision, long_names, same_name_two_kinds
from scenarios.observed import observed_binding_default_off, observed_v3_22_0
from scenarios.owners import (
    constraint_deleted,
    gatekeeper_uninstalled,
    orphaned_by_cascade,
    owner_replaced,
    policy_missing,
    template_deleted,
    terminating_owner,
    terminating_template_both_names,
)
from scenarios.running import running_scenarios
from scenarios.wants import (
    block_annotation,
    defaults_off,
    enforcement_point_removed,
    two_target_template,
    upgrade_renamed,
)

__all__ = ["Scenario", "corpus"]


def corpus() -> list[Scenario]:
    builders: list[Callable[[], Scenario]] = [
        constraint_deleted,
        template_deleted,
        gatekeeper_uninstalled,
        enforcement_point_removed,
        defaults_off,
        upgrade_renamed,
        lambda: orphaned_by_cascade(False),
        lambda: orphaned_by_cascade(True),
        owner_replaced,
        policy_missing,
        same_name_two_kinds,
        legacy_new_name_collision,
        long_names,
        v1beta1_cluster,
        users_objects,
        block_annotation,
        mixed_production,
        copied_owner_references,
        two_target_template,
        terminating_owner,
        observed_v3_22_0,
        observed_binding_default_off,
        terminating_template_both_names,
    ]
    return [build() for build in builders] + running_scenarios()
