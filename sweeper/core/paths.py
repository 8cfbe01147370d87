"""The one place that spells Kubernetes API paths.

Pure string builders for every URL the sweeper reads or writes: the admission objects, the
CRDs, templates, constraints, Gatekeeper's Deployments and Events. Nothing else in the
sweeper writes ``/apis/...`` by hand, so a path is never parsed back out of another one.
"""

from __future__ import annotations

from sweeper.core import gatekeeper as gk

ADMISSION_GROUP = "admissionregistration.k8s.io"
BINDINGS = "validatingadmissionpolicybindings"
POLICIES = "validatingadmissionpolicies"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TEMPLATES = "constrainttemplates"
CONSTRAINTS_GROUP_PATH = f"/apis/{gk.CONSTRAINTS_GROUP}"


def admission_group(version: str) -> str:
    """Discovery document of ``admissionregistration.k8s.io/<version>``."""
    return f"/apis/{ADMISSION_GROUP}/{version}"


def admission(version: str, resource: str, name: str | None = None) -> str:
    """The VAP or VAPB collection of ``version``, or one object of it."""
    base = f"{admission_group(version)}/{resource}"
    return f"{base}/{name}" if name else base


def crd(name: str | None = None) -> str:
    """The CustomResourceDefinition collection, or one CRD by name."""
    return f"{CRDS}/{name}" if name else CRDS


def templates(version: str, name: str | None = None) -> str:
    """The ConstraintTemplate collection served at ``version``, or one template."""
    base = f"/apis/{gk.TEMPLATES_GROUP}/{version}/{TEMPLATES}"
    return f"{base}/{name}" if name else base


def constraints(version: str, plural: str, name: str | None = None) -> str:
    """A constraint kind's collection (by its CRD's plural), or one constraint."""
    base = f"{CONSTRAINTS_GROUP_PATH}/{version}/{plural}"
    return f"{base}/{name}" if name else base


def constraints_group(version: str | None = None) -> str:
    """Discovery of ``constraints.gatekeeper.sh``, or of one of its versions."""
    return f"{CONSTRAINTS_GROUP_PATH}/{version}" if version else CONSTRAINTS_GROUP_PATH


def deployments(namespace: str) -> str:
    """The Deployments of one namespace (``apps/v1``)."""
    return f"/apis/apps/v1/namespaces/{namespace}/deployments"


def replicasets(namespace: str) -> str:
    """The ReplicaSets of one namespace (``apps/v1``): read only while a Deployment rolls out."""
    return f"/apis/apps/v1/namespaces/{namespace}/replicasets"


def events(namespace: str) -> str:
    """The core/v1 Events of one namespace."""
    return f"/api/v1/namespaces/{namespace}/events"


KUBE_SYSTEM = "kube-system"  # its uid is the cluster's identity


def namespace(name: str) -> str:
    """One core/v1 Namespace."""
    return f"/api/v1/namespaces/{name}"


def configmaps(namespace: str, name: str | None = None) -> str:
    """The core/v1 ConfigMaps of one namespace, or one of them."""
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    return f"{base}/{name}" if name else base
