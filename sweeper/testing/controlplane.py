"""A real Kubernetes control plane as local processes (envtest): etcd, kube-apiserver and,
on request, kube-controller-manager running the garbage collector.

Contract: ``envtest_assets`` finds the binaries through ``KUBEBUILDER_ASSETS`` (the envtest
convention) or says why it cannot; ``start_control_plane(workdir, assets=...)`` generates PKI
and a static token file, starts each process in its own session on 127.0.0.1 (free ports),
waits until each is ready (polling with a deadline) and returns a ``ControlPlane`` whose
``stop()`` ends exactly the processes it started, by PID, in dependency order
(controller-manager, apiserver, etcd: stopping etcd together with the API server hangs both).
Every file the processes write lives under ``workdir``. A failed start stops what it started
and raises ``ControlPlaneError`` with the last lines of the failing process's log.
Tests only: the admin token is in a plain file and etcd runs without fsync.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sweeper.testing.cluster_pki import PkiFiles, write_pki, write_private

ENV_VAR = "KUBEBUILDER_ASSETS"
ETCD, APISERVER, KCM = "etcd", "kube-apiserver", "kube-controller-manager"
# The garbage collector plus what a namespace delete and ServiceAccounts need.
KCM_CONTROLLERS = (
    "garbage-collector-controller,namespace-controller,serviceaccount-controller,"
    "serviceaccount-token-controller,root-ca-certificate-publisher-controller"
)
_GC_SYNCED = ("all resource monitors have synced", "not all resource monitors could be synced")
_STOP_GRACE = 15.0
# Everything reaches the audit log at Metadata level: enough to prove which verbs were sent.
_AUDIT_POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"


class ControlPlaneError(RuntimeError):
    """The control plane could not be started (the message says which process and why)."""


def envtest_assets(*, controller_manager: bool = False) -> tuple[Path | None, str]:
    """(folder, "") when KUBEBUILDER_ASSETS names a folder holding etcd and kube-apiserver
    (and kube-controller-manager if asked); else (None, the reason to skip)."""
    value = os.environ.get(ENV_VAR, "")
    if not value:
        return None, f"{ENV_VAR} is not set (the folder with etcd and kube-apiserver)"
    folder = Path(value).resolve()  # the processes run in their own workdir
    if not folder.is_dir():
        return None, f"{ENV_VAR}={value} is not a folder"
    wanted = [ETCD, APISERVER, *([KCM] if controller_manager else [])]
    missing = [name for name in wanted if not os.access(folder / name, os.X_OK)]
    if missing:
        return None, f"{ENV_VAR}={value} has no executable {', '.join(missing)}"
    return folder, ""


def kubeconfig_text(server: str, ca_file: Path, token: str, user: str) -> str:
    """A kubeconfig with one cluster, user and context, all named ``envtest``."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: envtest\n  cluster:\n    server: {server}\n"
        f"    certificate-authority: {ca_file}\n"
        f"users:\n- name: {user}\n  user:\n    token: {token}\n"
        f"contexts:\n- name: envtest\n  context:\n    cluster: envtest\n    user: {user}\n"
        "current-context: envtest\n"
    )


@dataclass
class ControlPlane:
    workdir: Path  # everything the processes write lives here
    server: str  # "https://127.0.0.1:PORT"
    ca_file: Path  # the API server's serving CA (PEM)
    admin_token: str  # a token of a cluster-admin user (token auth file)
    kubeconfig: Path  # admin kubeconfig (server, CA, token), context "envtest"
    audit_log: Path | None = None  # the API server's audit log (every request, Metadata level)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    def stop(self) -> None:
        """Stop the processes started for this control plane, by PID, in dependency order:
        SIGTERM, then SIGKILL after a grace period. Idempotent."""
        for name in (KCM, APISERVER, ETCD):
            proc = self.processes.pop(name, None)
            if proc is not None:
                _stop_process(proc)

    def kubeconfig_for_token(self, token: str, path: Path) -> Path:
        """Write a kubeconfig for ``token`` (e.g. a ServiceAccount's) to ``path``."""
        write_private(path, kubeconfig_text(self.server, self.ca_file, token, "user").encode())
        return path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the serving CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=_STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=_STOP_GRACE)


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _launch(name: str, argv: list[str], workdir: Path) -> subprocess.Popen:
    """Start one process in its own session (Ctrl-C to the test run does not reach it),
    output to ``workdir/NAME.log``, HOME pointed into ``workdir``."""
    with open(workdir / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)},
            start_new_session=True,
        )


def _wait_until(
    name: str, proc: subprocess.Popen, ready: Callable[[], bool], workdir: Path, deadline: float
) -> None:
    while not ready():
        if proc.poll() is not None:
            raise ControlPlaneError(
                f"{name} (pid {proc.pid}) exited with {proc.returncode}; last log lines:\n"
                + _log_tail(workdir / f"{name}.log")
            )
        if time.monotonic() > deadline:
            raise ControlPlaneError(
                f"{name} (pid {proc.pid}) not ready in time; last log lines:\n"
                + _log_tail(workdir / f"{name}.log")
            )
        time.sleep(0.1)


def _http_ok(url: str, *, context: ssl.SSLContext | None = None, token: str = "") -> bool:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def _etcd_argv(assets: Path, data: Path, client: int, peer: int) -> list[str]:
    return [
        str(assets / ETCD),
        "--name=envtest",
        f"--data-dir={data}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster=envtest=http://127.0.0.1:{peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def _apiserver_argv(
    assets: Path, workdir: Path, pki: PkiFiles, etcd_port: int, port: int, tokens: Path
) -> list[str]:
    policy = workdir / "audit-policy.yaml"
    policy.write_text(_AUDIT_POLICY)
    return [
        str(assets / APISERVER),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'apiserver-certs'}",
        f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--token-auth-file={tokens}",
        f"--requestheader-client-ca-file={pki.front_proxy_ca_cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        "--api-audiences=https://kubernetes.default.svc",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--service-cluster-ip-range=10.0.0.0/24",
        f"--audit-policy-file={policy}",
        f"--audit-log-path={workdir / 'audit.log'}",
        "--audit-log-mode=blocking",
        "--profiling=false",
    ]


def _kcm_argv(assets: Path, workdir: Path, pki: PkiFiles, kubeconfig: Path, port: int) -> list:
    return [
        str(assets / KCM),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'kcm-certs'}",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        f"--controllers={KCM_CONTROLLERS}",
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca_cert}",
        "--profiling=false",
    ]


def _gc_synced(log: Path) -> bool:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return False
    return any(marker in text for marker in _GC_SYNCED)


def start_control_plane(
    workdir: Path, *, assets: Path, controller_manager: bool = False, timeout: float = 60.0
) -> ControlPlane:
    """Start etcd and kube-apiserver (and kube-controller-manager with the garbage collector
    if asked) under ``workdir``; return once all are ready (the GC's informers synced)."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    pki = write_pki(workdir / "pki")
    admin_token, kcm_token = secrets.token_hex(24), secrets.token_hex(24)
    write_private(
        workdir / "pki" / "tokens.csv",
        (
            f'{admin_token},admin,admin-uid,"system:masters"\n'
            f'{kcm_token},system:kube-controller-manager,kcm-uid,"system:masters"\n'
        ).encode(),
    )
    etcd_port, peer_port, port, kcm_port = _free_ports(4)
    server = f"https://127.0.0.1:{port}"
    kubeconfig = write_private(
        workdir / "admin.kubeconfig",
        kubeconfig_text(server, pki.ca_cert, admin_token, "admin").encode(),
    )
    plane = ControlPlane(
        workdir, server, pki.ca_cert, admin_token, kubeconfig, audit_log=workdir / "audit.log"
    )
    # Interpreter exit without the finalizer (a crash in a fixture) still stops them.
    atexit.register(plane.stop)
    try:
        _start_all(
            plane,
            assets,
            pki,
            (etcd_port, peer_port, port, kcm_port),
            kcm_token,
            controller_manager=controller_manager,
            deadline=deadline,
        )
    except BaseException:
        plane.stop()
        raise
    return plane


def _start_all(
    plane: ControlPlane,
    assets: Path,
    pki: PkiFiles,
    ports: tuple[int, int, int, int],
    kcm_token: str,
    *,
    controller_manager: bool,
    deadline: float,
) -> None:
    workdir = plane.workdir
    etcd_port, peer_port, port, kcm_port = ports
    etcd = _launch(ETCD, _etcd_argv(assets, workdir / "etcd-data", etcd_port, peer_port), workdir)
    plane.processes[ETCD] = etcd
    health = f"http://127.0.0.1:{etcd_port}/health"
    _wait_until(ETCD, etcd, lambda: _http_ok(health), workdir, deadline)
    argv = _apiserver_argv(assets, workdir, pki, etcd_port, port, pki.ca_cert.parent / "tokens.csv")
    apiserver = _launch(APISERVER, argv, workdir)
    plane.processes[APISERVER] = apiserver
    context = plane.ssl_context()
    ready = f"{plane.server}/readyz"
    _wait_until(
        APISERVER,
        apiserver,
        lambda: _http_ok(ready, context=context, token=plane.admin_token),
        workdir,
        deadline,
    )
    if not controller_manager:
        return
    kcm_config = write_private(
        workdir / "kcm.kubeconfig",
        kubeconfig_text(plane.server, pki.ca_cert, kcm_token, "kube-controller-manager").encode(),
    )
    kcm = _launch(KCM, _kcm_argv(assets, workdir, pki, kcm_config, kcm_port), workdir)
    plane.processes[KCM] = kcm
    _wait_until(KCM, kcm, lambda: _gc_synced(workdir / f"{KCM}.log"), workdir, deadline)
