"""The sweeper's namespace installed as the docs say (docs/gatekeeper-exemption.md), for the
tests and benches that run the real Gatekeeper: the shipped Namespace (``cronjob/``) with the
``admission.gatekeeper.sh/ignore`` label of the ``examples/gatekeeper-exemption/`` overlay,
the example Gatekeeper Config, and the ``--exempt-namespace`` names of the example Helm values
(for the manager's arguments). Everything is read from the repository's own files, so the
real Gatekeeper checks the examples a reader copies.

A sweep run outside a pod writes its write-ahead records in ``gatekeeper-sweeper``; without
the namespace every record, and so every deletion, fails (closed). Imports nothing of the
sweeper but ``sweeper.testing.rest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sweeper.testing.rest import Rest

EXAMPLE = Path("examples") / "gatekeeper-exemption"


@dataclass(frozen=True)
class Exemption:
    """The objects and flags of the documented exemption, read from a repository checkout."""

    namespace: dict
    config: dict
    exempt_namespaces: tuple[str, ...]

    @property
    def namespace_name(self) -> str:
        return self.namespace["metadata"]["name"]

    def install(self, rest: Rest) -> None:
        """Apply the labelled Namespace and the Config (Gatekeeper's CRDs must be served)."""
        rest.apply(f"/api/v1/namespaces/{self.namespace_name}", self.namespace)
        meta = self.config["metadata"]
        path = f"/apis/config.gatekeeper.sh/v1alpha1/namespaces/{meta['namespace']}/configs"
        rest.apply(f"{path}/{meta['name']}", self.config)


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _overlay_labels(kustomization: dict, name: str) -> dict:
    """The labels the overlay's patches add to the Namespace ``name``."""
    labels: dict = {}
    for entry in kustomization.get("patches") or []:
        patch = yaml.safe_load(entry["patch"])
        if patch.get("kind") == "Namespace" and patch["metadata"]["name"] == name:
            labels.update(patch["metadata"].get("labels") or {})
    return labels


def documented_exemption(root: Path) -> Exemption:
    """The exemption as the repository at ``root`` documents it."""
    namespace = _load(root / "cronjob" / "namespace.yaml")
    name = namespace["metadata"]["name"]
    labels = _overlay_labels(_load(root / EXAMPLE / "kustomization.yaml"), name)
    if "admission.gatekeeper.sh/ignore" not in labels:
        raise ValueError(f"{EXAMPLE}/kustomization.yaml does not label {name} to be ignored")
    namespace["metadata"]["labels"] = {**(namespace["metadata"].get("labels") or {}), **labels}
    values = _load(root / EXAMPLE / "gatekeeper-values.yaml")
    exempt = tuple(values["controllerManager"]["exemptNamespaces"])
    return Exemption(namespace, _load(root / EXAMPLE / "gatekeeper-config.yaml"), exempt)
