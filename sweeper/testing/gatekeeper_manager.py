"""The real Gatekeeper manager, run out of cluster against a test control plane.

Contract: ``gatekeeper_assets()`` finds the ``manager`` binary through ``GATEKEEPER_ASSETS``
(or says why not); ``install_gatekeeper`` applies Gatekeeper's CRDs, its namespace and the
stand-in Pod the manager looks itself up by; ``GatekeeperManager`` starts the manager in its
own session with every file it writes under one work directory, stops it by PID (TERM, then
KILL), restarts it, and keeps a Deployment object in ``gatekeeper-system`` that describes
exactly the image and arguments it runs, so a sweep observes what really runs (nothing runs
that Deployment: a test control plane has no nodes). ``wait_reconciled`` proves the manager
has caught up: it touches a probe template and constraint and waits for their status, and
deletes the probe's binding and waits for Gatekeeper to re-create it.

The manager runs with the operations of the chart's ``gatekeeper-audit`` Deployment (audit,
status, mutation-status, generate: ``generate`` writes the constraint CRDs, VAPs and VAPBs;
no webhook is served). Imports nothing of the sweeper but ``sweeper.testing.rest``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from sweeper.testing.gatekeeper_probe import ProbeObjects
from sweeper.testing.rest import (
    BINDINGS,
    CRDS,
    POLICIES,
    TEMPLATES,
    Rest,
    constraints_path,
    wait_for,
)

VERSION = "v3.21.1"
IMAGE = f"openpolicyagent/gatekeeper:{VERSION}"
NAMESPACE = "gatekeeper-system"
POD_NAME = "gatekeeper-audit-local"
DEPLOYMENT = "gatekeeper-audit"
ENV_VAR = "GATEKEEPER_ASSETS"
TEMPLATES_CRD = "constrainttemplates.templates.gatekeeper.sh"
STATUSES = f"/apis/status.gatekeeper.sh/v1beta1/namespaces/{NAMESPACE}"


def gatekeeper_assets() -> tuple[Path | None, str]:
    """(folder, "") when GATEKEEPER_ASSETS names a folder holding an executable ``manager``;
    else (None, the reason to skip)."""
    value = os.environ.get(ENV_VAR)
    if not value:
        return None, f"{ENV_VAR} is not set (the folder holding Gatekeeper's manager binary)"
    manager = Path(value) / "manager"
    if not os.access(manager, os.X_OK):
        return None, f"{ENV_VAR}={value} has no executable 'manager'"
    return Path(value), ""


def object_path(obj: dict) -> str:
    """The URL path of one object of the kinds these tests apply."""
    kind, meta = obj["kind"], obj["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    paths = {
        "Namespace": "/api/v1/namespaces",
        "Pod": f"/api/v1/namespaces/{namespace}/pods",
        "Deployment": f"/apis/apps/v1/namespaces/{namespace}/deployments",
        "CustomResourceDefinition": CRDS,
        "ConstraintTemplate": TEMPLATES,
        "ValidatingAdmissionPolicy": POLICIES,
        "ValidatingAdmissionPolicyBinding": BINDINGS,
    }
    if obj["apiVersion"].startswith("constraints.gatekeeper.sh/"):
        return f"{constraints_path(kind)}/{name}"
    return f"{paths[kind]}/{name}"


def crd_names(manifests: Path) -> list[str]:
    """The names of the CRDs in Gatekeeper's manifest."""
    docs = yaml.safe_load_all((manifests / "crds-and-ns.yaml").read_text())
    return [d["metadata"]["name"] for d in docs if d and d["kind"] == "CustomResourceDefinition"]


def install_gatekeeper(rest: Rest, manifests: Path, *, timeout: float = 90.0) -> None:
    """Apply Gatekeeper's CRDs and namespace, wait until the CRDs are served, then the
    stand-in Pod (after kube-controller-manager made the namespace's default ServiceAccount)."""
    for doc in yaml.safe_load_all((manifests / "crds-and-ns.yaml").read_text()):
        if doc:
            rest.apply(object_path(doc), doc)
    for name in crd_names(manifests):
        wait_for(lambda n=name: _established(rest, n), f"CRD {name} established", timeout=timeout)
    sa = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default"
    wait_for(lambda: rest.get(sa), "default ServiceAccount of gatekeeper-system", timeout=timeout)


def uninstall_crds(rest: Rest, manifests: Path, *, timeout: float = 60.0) -> None:
    """Delete Gatekeeper's CRDs (as ``kubectl delete -f`` of its manifest would) and wait
    until they are gone; the namespace stays (``helm uninstall`` leaves it too)."""
    names = crd_names(manifests)
    for name in names:
        rest.delete(f"{CRDS}/{name}")
    for name in names:
        wait_for(
            lambda n=name: rest.get(f"{CRDS}/{n}") is None, f"CRD {name} gone", timeout=timeout
        )


def _established(rest: Rest, name: str) -> bool:
    crd = rest.get(f"{CRDS}/{name}") or {}
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class GatekeeperManager:
    """One Gatekeeper manager process (at most one at a time) and its describing Deployment."""

    binary: Path
    manifests: Path  # Gatekeeper's crds-and-ns.yaml and the stand-in standin-pod.yaml
    workdir: Path
    kubeconfig: Path
    rest: Rest
    wait_for_vapb: int = 1  # --default-wait-for-vapb-generation (seconds; Gatekeeper's is 30)
    exempt_namespaces: tuple[str, ...] = ()  # --exempt-namespace, as the Helm chart passes it
    process: subprocess.Popen | None = None
    ports: list[int] = field(default_factory=lambda: _free_ports(4))
    starts: int = 0

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def args(self) -> list[str]:
        """The manager's arguments: the chart's audit pod operations, local ports and dirs."""
        health, metrics, webhook, prometheus = self.ports
        return [
            "--operation=audit",
            "--operation=status",
            "--operation=mutation-status",
            "--operation=generate",
            "--disable-opa-builtin={http.send}",
            "--disable-cert-rotation",
            "--default-create-vap-for-templates=true",
            "--default-create-vap-binding-for-constraints=true",
            f"--default-wait-for-vapb-generation={self.wait_for_vapb}",
            "--enable-external-data=false",
            f"--health-addr=127.0.0.1:{health}",
            f"--metrics-addr=127.0.0.1:{metrics}",
            # the OPA metrics exporter; its default :8888 on every interface clashes with any
            # other Gatekeeper on the machine
            f"--prometheus-port={prometheus}",
            "--host=127.0.0.1",
            f"--port={webhook}",
            f"--cert-dir={self.workdir / 'certs'}",
            f"--api-cache-dir={self.workdir / 'audit-cache'}",  # its default /tmp/audit is wiped
            "--shutdown-delay=0",
            "--log-level=DEBUG",
            f"--log-file={self.workdir / 'manager.log'}",
            *(f"--exempt-namespace={name}" for name in self.exempt_namespaces),
        ]

    def deployment(self, *, replicas: int = 1) -> dict:
        """A Deployment that describes this manager: same image, same arguments."""
        labels = {"gatekeeper.sh/system": "yes", "control-plane": "audit-controller"}
        container = {"name": "manager", "image": IMAGE, "args": self.args()}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        }

    def describe(self, *, replicas: int = 1) -> None:
        """Apply the Deployment and give it the status of a finished rollout (no deployment
        controller runs here to write one)."""
        path = object_path(self.deployment(replicas=replicas))
        applied = self.rest.apply(path, self.deployment(replicas=replicas))
        ready = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
        progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
        status = {
            "observedGeneration": applied["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [ready, progressing],
        }
        self.rest.merge(path + "/status", {"status": status})

    def forget_deployment(self) -> None:
        self.rest.delete(object_path(self.deployment()))

    # --- the process ------------------------------------------------------------------------

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _dead(self) -> str | None:
        if self.running():
            return None
        return f"the manager exited; last log lines:\n{self.log_tail()}"

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("manager.log", "stdout.log"):
            with contextlib.suppress(OSError):
                text += "".join((self.workdir / name).read_text().splitlines(True)[-lines:])
        return text

    def _pod(self) -> dict:
        return yaml.safe_load((self.manifests / "standin-pod.yaml").read_text())

    def start(self, *, timeout: float = 90.0) -> None:
        """Start the manager in a new Pod and wait until it is ready and reconciled."""
        assert not self.running(), "a manager is already running"
        pod = self._pod()
        if self.rest.get(object_path(pod)) is None:
            self.rest.create(f"/api/v1/namespaces/{NAMESPACE}/pods", pod)
        for sub in ("certs", "audit-cache", "home"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir / "home"),
            "KUBECONFIG": str(self.kubeconfig),
            "POD_NAMESPACE": NAMESPACE,
            "NAMESPACE": NAMESPACE,
            "POD_NAME": POD_NAME,
            "CONTAINER_NAME": "manager",
        }
        self.starts += 1
        with open(self.workdir / "stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                [str(self.binary), *self.args()],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.workdir,
            )
        wait_for(
            lambda: self._healthy("readyz"), "Gatekeeper readyz", timeout=timeout, alive=self._dead
        )
        self.wait_reconciled(timeout=timeout)

    def _healthy(self, endpoint: str) -> bool:
        try:
            return requests.get(f"{self.health_url}/{endpoint}", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, *, grace: float = 20.0, timeout: float = 60.0) -> None:
        """Gatekeeper down, as when its pod goes: stop exactly the process started here
        (SIGTERM, SIGKILL after ``grace`` seconds), delete its Pod, and wait until the
        garbage collector removed the status objects that Pod owned. (A manager restarted
        beside its old status objects would reconcile their constraints as deleted.)"""
        self.kill(grace=grace)
        pod = self.rest.get(object_path(self._pod()))
        if pod is None:
            return
        self.rest.delete(object_path(pod))
        uid = pod["metadata"]["uid"]
        for plural in ("constraintpodstatuses", "constrainttemplatepodstatuses"):
            path = f"{STATUSES}/{plural}"
            wait_for(
                lambda p=path: not [s for s in self.rest.items(p) if _owned_by(s, uid)],
                f"{plural} of the old Pod collected",
                timeout=timeout,
            )

    def kill(self, *, grace: float = 20.0) -> None:
        """Stop exactly the process started here; its Pod and status objects stay."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self, *, timeout: float = 90.0) -> None:
        self.stop()
        self.start(timeout=timeout)

    # --- reconciled ---------------------------------------------------------------------------

    def wait_reconciled(self, *, timeout: float = 60.0) -> None:
        """Return once Gatekeeper has processed everything that happened before the call."""
        probe = ProbeObjects(self.rest)
        probe.ensure(timeout=timeout, alive=self._dead)
        probe.touch(timeout=timeout, alive=self._dead)


def _owned_by(obj: dict, uid: str) -> bool:
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])
