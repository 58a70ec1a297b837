"""Every rendered manifest of every example stack is valid against strict upstream schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from infra.plan.render import manifests, write_outputs
from stacks.loader import load_file
from tests.conftest import ROOT, SHARED, STACKS

K8S_VERSION = "1.33.0"
CUSTOM_GROUPS = {"karpenter.sh", "karpenter.k8s.aws", "kueue.x-k8s.io", "kubeflow.org", "trainer.kubeflow.org"}


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_pass_strict_kubernetes_schemas(stack: str, plan: Any) -> None:
    capture = plan(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)
    rendered = manifests(capture.registrations)
    assert rendered
    for name, obj in rendered:
        assert obj["metadata"]["name"], name
        if obj["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            continue  # custom resources: checked against their upstream CRDs by check-manifests below
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)  # raises on any problem


def test_strict_validation_catches_a_bad_field() -> None:
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spec": {"finalizer": []}},
            K8S_VERSION,
            strict=True,
        )


@pytest.mark.parametrize("stack", STACKS)
def test_shared_check_manifests_tool_accepts_them(stack: str, plan: Any, tmp_path: Path) -> None:
    tool = SHARED / "tools" / "check-manifests"
    assert tool.exists(), f"{tool} missing"
    capture = plan(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)
    write_outputs(tmp_path, capture.registrations, [], {})
    result = subprocess.run(
        [sys.executable, str(tool), str(tmp_path / "manifests")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 invalid" in result.stdout.splitlines()[-1]
