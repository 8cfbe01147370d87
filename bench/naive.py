"""The baseline: a binding sweeper written the way most people would write one.

Typed models of the official client (``AdmissionregistrationV1Api``, default
``_preload_content=True``), one unpaginated LIST of every binding, then one GET of each
binding's owner constraint (``CustomObjectsApi.get_cluster_custom_object``), and a DELETE
of every binding whose owner answers 404. It does less than the sweeper (no policies, no
not-wanted, no re-check, no preconditions, no rate limit): it is a floor for cost, not a
competitor for correctness. Prints one JSON line: {"bindings", "checked", "deleted"}.

Usage: python bench/naive.py KUBECONFIG
"""

from __future__ import annotations

import json
import sys


def main(kubeconfig: str) -> None:
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    api = client.ApiClient(cfg)
    admission = client.AdmissionregistrationV1Api(api)
    custom = client.CustomObjectsApi(api)

    bindings = admission.list_validating_admission_policy_binding().items
    checked = deleted = 0
    for binding in bindings:
        refs = binding.metadata.owner_references or []
        owner = next(
            (
                r
                for r in refs
                if r.controller and r.api_version.startswith("constraints.gatekeeper.sh/")
            ),
            None,
        )
        if owner is None:
            continue
        group, _, version = owner.api_version.partition("/")
        checked += 1
        try:
            custom.get_cluster_custom_object(group, version, owner.kind.lower(), owner.name)
        except ApiException as error:
            if error.status != 404:
                raise
            admission.delete_validating_admission_policy_binding(binding.metadata.name)
            deleted += 1
    print(json.dumps({"bindings": len(bindings), "checked": checked, "deleted": deleted}))


if __name__ == "__main__":
    main(sys.argv[1])
