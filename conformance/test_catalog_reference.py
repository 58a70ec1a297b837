"""The GPU catalog against the upstream reference copies in ../shared/reference/catalog (see its SOURCES.json).

A separate suite (``pytest conformance``), run by CI after the README tests: it needs the shared
reference data next to the repository and fails, never skips, without it. ``tests/test_catalog.py``
checks the same catalog against the installed packages only.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.catalog import (
    AWS_EXCLUDED,
    AWS_INSTANCE_TYPES,
    EC2_VCPU_QUOTAS,
    GCP_ACCELERATORS,
    GCP_COMPUTE_GPU_QUOTA_METRICS,
    GCP_EXCLUDED,
    GCP_MACHINE_TYPES,
    GCP_METRICS_NOT_IN_COMPUTE_API,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "catalog"

N1_SHAPES = {"n1-standard-4", "n1-standard-8", "n1-standard-16", "n1-standard-32"}
"""Our N1 + T4 shapes: N1 takes attached GPUs, so the upstream map has no fixed count for it."""


@pytest.fixture(scope="module")
def reference() -> Path:
    assert REFERENCE.is_dir(), f"upstream reference data expected at {REFERENCE} (../shared/reference/catalog)"
    return REFERENCE


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


# ---------------------------------------------------------------- AWS


def test_ec2_quota_codes_are_the_documented_vcpu_quotas(reference: Path) -> None:
    quotas = {r["quota_code"]: r for r in _csv(reference / "aws" / "ec2-accelerated-instance-service-quotas.csv")}
    for code, q in EC2_VCPU_QUOTAS.items():
        upstream = quotas[code]
        assert (upstream["quota_name"], upstream["purchase_option"], upstream["unit"]) == (
            q.name,
            q.purchase_option,
            "vCPUs",
        ), code
        assert f" {q.families} " in upstream["quota_name"] + " ", code


def test_every_nvidia_instance_type_is_catalogued_or_excluded(reference: Path) -> None:
    rows = _csv(reference / "aws" / "gpu-instance-types.csv")
    nvidia = {r["instance_type"] for r in rows if r["gpu_manufacturer"] == "NVIDIA"}
    assert nvidia - set(AWS_INSTANCE_TYPES) - set(AWS_EXCLUDED) == set()
    assert set(AWS_EXCLUDED) <= nvidia, "stale exclusions"


def test_eks_ami_types_are_in_the_reference_enum(reference: Path) -> None:
    enum = set(_json(reference / "aws" / "botocore-eks-service-2.json")["shapes"]["AMITypes"]["enum"])
    assert {a for row in AWS_INSTANCE_TYPES.values() for a in row.ami_types} <= enum


def test_every_aws_row_is_offered_in_a_reference_region(reference: Path) -> None:
    from components.catalog import aws_regions

    upstream: dict[str, list[str]] = _json(reference / "aws" / "moto-accelerated-instance-type-regions.json")
    for name in AWS_INSTANCE_TYPES:
        assert set(aws_regions(name)) == set(upstream.get(name, ())), name


# ---------------------------------------------------------------- GCP


def test_gcp_machine_types_match_cluster_toolkit_map(reference: Path) -> None:
    upstream = _json(reference / "gcp" / "machine-type-accelerators.json")
    for name, machine in GCP_MACHINE_TYPES.items():
        if name in upstream:
            assert (machine.accelerator, machine.gpus) == (upstream[name]["accelerator_type"], upstream[name]["count"])
    assert {n for n in GCP_MACHINE_TYPES if n not in upstream} == N1_SHAPES


def test_every_cluster_toolkit_machine_type_is_catalogued_or_excluded(reference: Path) -> None:
    upstream = _json(reference / "gcp" / "machine-type-accelerators.json")
    # (GCP_EXCLUDED also names types the map lacks, e.g. A3 Edge, known from other listings.)
    assert set(upstream) - set(GCP_MACHINE_TYPES) - set(GCP_EXCLUDED) == set()


def test_gcp_exclusion_reasons_quote_the_map(reference: Path) -> None:
    upstream = _json(reference / "gcp" / "machine-type-accelerators.json")
    metrics = {r["accelerator_type"]: r for r in _csv(reference / "gcp" / "accelerator-types-and-quota-metrics.csv")}
    for n in (48, 96, 192, 384):
        name = f"g4-standard-{n}"
        acc, count = upstream[name]["accelerator_type"], upstream[name]["count"]
        assert f"{count} x {acc}, {n} vCPUs" in GCP_EXCLUDED[name], name
        assert metrics[acc]["ondemand_metric"] in GCP_EXCLUDED[name]
        assert metrics[acc]["preemptible_metric"] in GCP_EXCLUDED[name]
    for name in ("a4x-highgpu-4g", "a4x-highgpu-4g-nolssd"):
        assert upstream[name]["accelerator_type"] == "nvidia-gb200" and "GB200" in GCP_EXCLUDED[name]


def test_gcp_quota_metrics_are_the_upstream_names(reference: Path) -> None:
    enum_doc = _json(reference / "gcp" / "compute-v1-Quota-metric-enum.json")
    enum = set(enum_doc["all_metrics"])
    gpu_metrics = {m for m in enum if re.search(r"GPUS", m)}
    assert gpu_metrics == GCP_COMPUTE_GPU_QUOTA_METRICS, "Compute's GPU quota metrics changed"
    upstream = {r["accelerator_type"]: r for r in _csv(reference / "gcp" / "accelerator-types-and-quota-metrics.csv")}
    for name, acc in GCP_ACCELERATORS.items():
        assert acc.quota_metric == upstream[name]["ondemand_metric"]
        assert acc.spot_quota_metric == upstream[name]["preemptible_metric"]
        for metric in (acc.quota_metric, acc.spot_quota_metric):
            assert (metric in enum) != (metric in GCP_METRICS_NOT_IN_COMPUTE_API), metric
