"""The real control plane starts, serves the admin over TLS with its token, and a sweep of
an empty cluster through its kubeconfig finds nothing; without the assets it skips."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from helpers import sweep

from sweeper.testing.controlplane import ControlPlane, envtest_assets


def test_assets_missing_gives_a_reason(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    folder, reason = envtest_assets()
    assert folder is None and "KUBEBUILDER_ASSETS is not set" in reason
    (tmp_path / "etcd").write_text("")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    folder, reason = envtest_assets(controller_manager=True)
    assert folder is None
    assert "etcd" in reason and "kube-apiserver" in reason and "kube-controller-manager" in reason


@pytest.mark.envtest
def test_control_plane_serves_and_an_empty_sweep_is_clean(control_plane: ControlPlane) -> None:
    request = urllib.request.Request(
        f"{control_plane.server}/version",
        headers={"Authorization": f"Bearer {control_plane.admin_token}"},
    )
    with urllib.request.urlopen(request, context=control_plane.ssl_context(), timeout=10) as r:
        version = json.load(r)
    assert version["major"] == "1"
    run = sweep(str(control_plane.kubeconfig))
    assert run.exit_code == 0
    assert run.summary["deleted"] == 0
    for path in (control_plane.kubeconfig, control_plane.ca_file):
        assert path.is_relative_to(control_plane.workdir)
