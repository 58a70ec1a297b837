"""Every example stack's manifests against the upstream CRD schemas, with the plan's own validator.

``infra.plan.validate.validate_manifests`` checks core objects with kubernetes-validate and custom
resources with the CRD schemas in ``../shared/reference`` (Kueue, Karpenter, ...). The shared
``tools/check-manifests`` is run too, and the two must agree on the upstream example manifests.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan.engine import Capture
from infra.plan.render import manifests, write_outputs
from infra.plan.validate import validate_manifests

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
Plans = Callable[[str], Capture]
NO_REFERENCE_SCHEMA = {
    ("elbv2.k8s.aws/v1beta1", "IngressClassParams"),
    ("networking.gke.io/v1", "HealthCheckPolicy"),
    ("networking.gke.io/v1", "GCPBackendPolicy"),
    ("networking.gke.io/v1", "GCPGatewayPolicy"),
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_is_valid_against_upstream_schemas(stack: str, stack_capture: Plans, crd_schema_dir: Path) -> None:
    report = validate_manifests(manifests(stack_capture(stack).registrations), crd_schema_dir)
    assert report.ok, report.render()
    # Every kind the platform renders has an upstream schema, except the clouds' own load-balancer kinds the
    # reference does not carry (their fields are tested in tests/test_exposure.py): nothing else is left unchecked.
    unchecked = {(u.api_version, u.kind) for u in report.unvalidated}
    assert unchecked <= NO_REFERENCE_SCHEMA, report.render()
    assert report.valid == report.objects - report.not_validated > 0
    assert report.warnings == (), "deprecated API versions in use"


def test_the_reference_layout_is_read_as_it_is(reference_root: Path, stack_capture: Plans) -> None:
    # schemas/crd itself (INDEX.json naming files as schemas/crd/<group>/...), without the Karpenter links.
    rendered = [m for stack in STACKS for m in manifests(stack_capture(stack).registrations)]
    report = validate_manifests(rendered, reference_root / "schemas" / "crd")
    assert report.ok, report.render()
    unchecked = {(u.api_version, u.kind) for u in report.unvalidated}
    assert {a.split("/")[0] for a, _ in unchecked - NO_REFERENCE_SCHEMA} <= {"karpenter.sh", "karpenter.k8s.aws"}


def _check_manifests(shared: Path, path: Path) -> subprocess.CompletedProcess[str]:
    tool = shared / "tools" / "check-manifests"
    assert tool.is_file(), f"{tool} missing"
    return subprocess.run([sys.executable, str(tool), str(path)], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.parametrize("stack", STACKS)
def test_shared_check_manifests_tool_accepts_them(
    stack: str, shared: Path, stack_capture: Plans, tmp_path: Path
) -> None:
    write_outputs(tmp_path, stack_capture(stack).registrations, [], {})
    result = _check_manifests(shared, tmp_path / "manifests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 invalid" in result.stdout.splitlines()[-1]


def test_validator_agrees_with_check_manifests_on_the_upstream_examples(
    shared: Path, reference_root: Path, crd_schema_dir: Path
) -> None:
    # Hundreds of upstream manifests (Kueue, Kubeflow, KServe, KEDA docs with placeholders ...): every
    # object one of the two validators checked must get the same verdict from both.
    examples = reference_root / "examples"
    result = _check_manifests(shared, examples)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    lines = result.stdout.splitlines()
    unchecked = {k for line in lines if line.startswith("unchecked kinds") for k in line.split(": ", 1)[1].split(", ")}
    unparseable = {line.split(": unparseable: ")[0] for line in lines if ": unparseable: " in line}

    objects: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(p for p in examples.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file()):
        if str(path) not in unparseable:
            docs = yaml.safe_load_all(path.read_text())
            objects += [(str(path), d) for d in docs if isinstance(d, dict) and "apiVersion" in d and "kind" in d]
    # Our file label carries the object's index, so each problem maps back to its object.
    report = validate_manifests([(f"{i}", obj) for i, (_, obj) in enumerate(objects)], crd_schema_dir)
    assert report.objects > 300 and report.invalid > 0  # the examples include broken documentation snippets
    ours_invalid = {int(p.file) for p in report.problems}
    disagree, compared = [], 0
    for i, (path, obj) in enumerate(objects):
        if f"{obj['apiVersion']}/{obj['kind']}" in unchecked:
            continue  # the tool had no schema for it
        compared += 1
        where = f"{path}: {obj['kind']}/{(obj.get('metadata') or {}).get('name')}: "  # the tool's own prefix
        tool_invalid = any(line.startswith(where) for line in lines)
        if tool_invalid != (i in ours_invalid):
            verdicts = ("refuses", "accepts") if tool_invalid else ("accepts", "refuses")
            disagree.append(f"{where}check-manifests %s it, validate_manifests %s it" % verdicts)
    assert compared > 300 and disagree == []
