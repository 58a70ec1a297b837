"""Every rendered manifest of every example stack is valid against strict Kubernetes schemas.

Core objects are checked with the strict schemas kubernetes-validate bundles (an installed package);
custom resources need their CRD schemas, which are upstream data: ``conformance/test_manifest_schemas.py``
validates them against the reference copies beside the repository.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from infra.plan.render import manifests
from infra.plan.validate import is_core_group, validate_manifests
from stacks.loader import load_file
from tests.conftest import ROOT, STACKS

K8S_VERSION = "1.33.0"
TEAM_STACKS = {"aws-train-research", "aws-dev-inference"}
CUSTOM_GROUPS = {
    "karpenter.sh",
    "karpenter.k8s.aws",
    "kueue.x-k8s.io",
    "kubeflow.org",
    "trainer.kubeflow.org",
    "serving.kserve.io",
    "keda.sh",
    "elbv2.k8s.aws",
    "gateway.networking.k8s.io",
    "networking.gke.io",
}


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_pass_strict_kubernetes_schemas(stack: str, plan: Any) -> None:
    capture = plan(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)
    rendered = manifests(capture.registrations)
    assert rendered
    report = validate_manifests(rendered, schema_dir=None, k8s_version=K8S_VERSION)
    assert report.ok, report.render()
    # (The Gateway API is a *.k8s.io group that CRDs serve.)
    core = [
        obj
        for _, obj in rendered
        if is_core_group(obj["apiVersion"]) and obj["apiVersion"].split("/")[0] not in CUSTOM_GROUPS
    ]
    # A team stack may render only custom resources (its TrainJobs); a platform stack always has namespaces.
    assert report.valid == len(core) and (core or stack in TEAM_STACKS)
    # Without CRD schemas, custom resources are counted apart, never passed as valid.
    assert {u.api_version.split("/")[0] for u in report.unvalidated} <= CUSTOM_GROUPS
    assert report.not_validated == len(rendered) - len(core)


@pytest.mark.parametrize("stack", STACKS)
def test_core_manifests_agree_with_kubernetes_validate_itself(stack: str, plan: Any) -> None:
    # validate_manifests compiles kubernetes-validate's schemas itself (cached, all errors with paths);
    # the package's own entry point must accept the same objects.
    capture = plan(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)
    for _, obj in manifests(capture.registrations):
        if obj["apiVersion"].split("/")[0] not in CUSTOM_GROUPS:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)  # raises on any problem


def test_strict_validation_catches_a_bad_field() -> None:
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spec": {"finalizer": []}},
            K8S_VERSION,
            strict=True,
        )
