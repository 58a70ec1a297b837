"""Fixtures of the conformance suite: the upstream reference data beside the repository.

``python3 tasks.py conformance`` (CI, after the README's tests) runs this suite. It needs
``../shared/reference`` next to the repository and fails, never skips, without it: a missing
reference directory is an error of the environment, not a reason to pass.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.plan.engine import Capture
from infra.plan.references import plan_config
from stacks.loader import load_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))

KARPENTER_SCHEMAS = {
    # Karpenter's CRD schemas sit with its chart in the reference data, not under schemas/crd.
    "karpenter.sh": ("nodepool_v1.json", "nodeclaim_v1.json"),
    "karpenter.k8s.aws": ("ec2nodeclass_v1.json",),
}


@pytest.fixture(scope="session")
def shared() -> Path:
    assert SHARED.is_dir(), f"the shared data is expected beside the repository at {SHARED}"
    return SHARED


@pytest.fixture(scope="session")
def reference_root(shared: Path) -> Path:
    reference = shared / "reference"
    assert reference.is_dir(), f"upstream reference data expected at {reference}"
    return reference


@pytest.fixture(scope="session")
def crd_schema_dir(reference_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CRD schema directory for ``infra.plan.validate``: the reference ``schemas/crd`` (with its
    INDEX.json) plus Karpenter's schemas, linked (not copied) into a temporary directory."""
    crd = reference_root / "schemas" / "crd"
    assert (crd / "INDEX.json").is_file(), f"{crd}/INDEX.json missing"
    out = tmp_path_factory.mktemp("crd-schemas")
    for entry in crd.iterdir():
        (out / entry.name).symlink_to(entry)
    for group, files in KARPENTER_SCHEMAS.items():
        (out / group).mkdir()
        for name in files:
            source = reference_root / "helm-charts" / "karpenter" / name
            assert source.is_file(), f"{source} missing"
            (out / group / name).symlink_to(source)
    return out


@functools.cache
def _capture(stack: str) -> Capture:
    return plan_config(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)


@pytest.fixture(scope="session")
def stack_capture() -> Callable[[str], Capture]:
    """The plan of an example stack under the mock engine (planned once per stack and session)."""
    return _capture
