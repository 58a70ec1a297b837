"""The GPU catalog: AWS rows against AWS's own data (as moto ships it), GCP rows against the
upstream reference data, the resolve/lookup contract and the `python -m infra.catalog` CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.catalog import (
    AWS_EXCLUDED,
    AWS_INSTANCE_TYPES,
    CLOUDS,
    GCP_ACCELERATOR_ZONES,
    GCP_ACCELERATORS,
    GCP_EXCLUDED,
    GCP_MACHINE_TYPES,
    GCP_METRICS_NOT_IN_COMPUTE_API,
    GCP_ZONE_REGIONS,
    GPUS,
    CatalogError,
    aws_regions,
    aws_zones,
    cloud_gpus,
    gcp_zones,
    lookup,
    offerings,
    quota_family,
    resolve,
)
from components.catalog.aws import G_ON_DEMAND, G_SPOT, P_ON_DEMAND, P_SPOT

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"

MOTO_LACKS: frozenset[str] = frozenset()
"""Catalog rows moto's instance data does not know (the test asserts moto indeed lacks them)."""

JSON_KEYS = {
    "cloud",
    "gpu",
    "instanceType",
    "gpusPerNode",
    "vcpus",
    "memoryGiB",
    "gpuMemoryGiB",
    "quota",
    "spotQuota",
    "quotaUnit",
    "quotaPerNode",
    "maxEfaInterfaces",
    "accelerator",
}


def reference(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


# ---------------------------------------------------------------- AWS, checked against moto


@pytest.fixture(scope="module")
def ec2() -> Any:
    """One moto-mocked EC2 client for the module (moto's EC2 backend takes about a second to load)."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        yield boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def moto_types(ec2: Any) -> dict[str, dict[str, Any]]:
    names = sorted(set(AWS_INSTANCE_TYPES) - MOTO_LACKS)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), 100):  # DescribeInstanceTypes takes at most 100 names
        pages = ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=names[start : start + 100])
        found.update({t["InstanceType"]: t for page in pages for t in page["InstanceTypes"]})
    return found


def test_moto_knows_every_catalog_row(moto_types: dict[str, dict[str, Any]]) -> None:
    assert set(moto_types) == set(AWS_INSTANCE_TYPES) - MOTO_LACKS


def test_moto_lacks_what_we_say_it_lacks(ec2: Any) -> None:
    from botocore.exceptions import ClientError

    assert set(AWS_INSTANCE_TYPES) >= MOTO_LACKS
    for name in sorted(MOTO_LACKS):
        with pytest.raises(ClientError, match="InvalidInstanceType"):
            ec2.describe_instance_types(InstanceTypes=[name])


def _tokens(text: str) -> set[str]:
    return set(text.upper().replace("-", " ").split())


@pytest.mark.parametrize("name", sorted(set(AWS_INSTANCE_TYPES) - MOTO_LACKS))
def test_aws_row_matches_aws_data(moto_types: dict[str, dict[str, Any]], name: str) -> None:
    row, aws = AWS_INSTANCE_TYPES[name], moto_types[name]
    (gpu,) = aws["GpuInfo"]["Gpus"]
    assert gpu["Manufacturer"] == "NVIDIA"
    assert gpu["Count"] == row.gpus
    assert gpu["MemoryInfo"]["SizeInMiB"] == row.gpu_memory_mib
    # AWS's model name ("L4", "RTX PRO Server 6000") names the product our portable GPU labels nodes with.
    assert _tokens(gpu["Name"]) <= _tokens(GPUS[row.gpu].product), (gpu["Name"], row.gpu)
    assert aws["VCpuInfo"]["DefaultVCpus"] == row.vcpus
    assert aws["MemoryInfo"]["SizeInMiB"] == row.memory_mib
    assert aws["NetworkInfo"].get("EfaInfo", {}).get("MaximumEfaInterfaces", 0) == row.max_efa_interfaces
    assert aws["NetworkInfo"].get("EfaSupported", False) == (row.max_efa_interfaces > 0)
    assert "x86_64" in aws["ProcessorInfo"]["SupportedArchitectures"]
    assert "on-demand" in aws["SupportedUsageClasses"] and "spot" in aws["SupportedUsageClasses"]


def test_a100_variants_are_told_apart_by_memory() -> None:
    assert AWS_INSTANCE_TYPES["p4d.24xlarge"].gpu == "a100-40gb"
    assert AWS_INSTANCE_TYPES["p4de.24xlarge"].gpu == "a100-80gb"


def test_aws_rows_are_consistent() -> None:
    eks_ami_types = set(
        json.loads(reference("catalog", "aws", "botocore-eks-service-2.json").read_text())["shapes"]["AMITypes"]["enum"]
    )
    for name, row in AWS_INSTANCE_TYPES.items():
        assert row.name == name and row.family == name.split(".")[0]
        assert row.gpu in GPUS
        assert row.ami_types and set(row.ami_types) <= eks_ami_types, name
        assert all("NVIDIA" in a and "x86_64" in a for a in row.ami_types), name
        expected = (P_ON_DEMAND, P_SPOT) if row.family.startswith("p") else (G_ON_DEMAND, G_SPOT)
        assert (row.quota_on_demand, row.quota_spot) == expected, name


def test_quota_codes_are_the_documented_ec2_vcpu_quotas() -> None:
    with reference("catalog", "aws", "ec2-accelerated-instance-service-quotas.csv").open() as f:
        quotas = {r["quota_code"]: r for r in csv.DictReader(f)}
    for code, option, family in (
        (G_ON_DEMAND, "on-demand", "G and VT"),
        (G_SPOT, "spot", "G and VT"),
        (P_ON_DEMAND, "on-demand", "P"),
        (P_SPOT, "spot", "P"),
    ):
        assert quotas[code]["purchase_option"] == option and quotas[code]["unit"] == "vCPUs"
        assert f" {family} " in quotas[code]["quota_name"] + " ", quotas[code]["quota_name"]


def test_every_nvidia_instance_type_is_catalogued_or_excluded_with_a_reason() -> None:
    with reference("catalog", "aws", "gpu-instance-types.csv").open() as f:
        nvidia = {r["instance_type"] for r in csv.DictReader(f) if r["gpu_manufacturer"] == "NVIDIA"}
    assert nvidia - set(AWS_INSTANCE_TYPES) - set(AWS_EXCLUDED) == set()
    assert set(AWS_EXCLUDED) <= nvidia, "stale exclusions"
    assert not set(AWS_EXCLUDED) & set(AWS_INSTANCE_TYPES)
    assert all(reason for reason in AWS_EXCLUDED.values())


def test_aws_zones_and_regions(ec2: Any) -> None:
    zones = aws_zones("g6.xlarge", "us-east-1")
    assert zones and all(z.startswith("us-east-1") for z in zones) and list(zones) == sorted(zones)
    offered = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["g6.xlarge"]}]
    )["InstanceTypeOfferings"]
    assert zones == tuple(sorted(o["Location"] for o in offered))
    assert "us-east-1" in aws_regions("g6.xlarge")
    assert aws_zones("g6.xlarge", "xx-nowhere-9") == ()  # no such region file
    assert aws_zones("g6.xlarge", "../region/us-east-1") == ()
    assert aws_zones("no-such.type", "us-east-1") == () and aws_regions("no-such.type") == ()


def test_every_aws_row_is_offered_somewhere() -> None:
    assert [name for name in AWS_INSTANCE_TYPES if not aws_regions(name)] == []


# ---------------------------------------------------------------- GCP, checked against the reference data


def test_gcp_machine_types_match_cluster_toolkit_map() -> None:
    upstream = json.loads(reference("catalog", "gcp", "machine-type-accelerators.json").read_text())
    for name, machine in GCP_MACHINE_TYPES.items():
        if name in upstream:
            assert (machine.accelerator, machine.gpus) == (upstream[name]["accelerator_type"], upstream[name]["count"])
    # Only the N1 + T4 shapes are ours (N1 takes attached GPUs, so upstream has no fixed count for it).
    assert {n for n in GCP_MACHINE_TYPES if n not in upstream} == {
        "n1-standard-4",
        "n1-standard-8",
        "n1-standard-16",
        "n1-standard-32",
    }
    assert not set(GCP_EXCLUDED) & set(GCP_MACHINE_TYPES)


def test_gcp_tables_are_consistent() -> None:
    for name, acc in GCP_ACCELERATORS.items():
        assert acc.name == name and acc.gpu in GPUS
    for name, machine in GCP_MACHINE_TYPES.items():
        assert machine.name == name and machine.accelerator in GCP_ACCELERATORS
        assert machine.gpus >= 1 and machine.vcpus >= 1 and machine.memory_mib >= machine.vcpus * 1024
    assert {m.accelerator for m in GCP_MACHINE_TYPES.values()} == set(GCP_ACCELERATORS)


def test_gcp_quota_metrics_are_the_upstream_names() -> None:
    enum = set(json.loads(reference("catalog", "gcp", "compute-v1-Quota-metric-enum.json").read_text())["all_metrics"])
    with reference("catalog", "gcp", "accelerator-types-and-quota-metrics.csv").open() as f:
        upstream = {r["accelerator_type"]: r for r in csv.DictReader(f)}
    for name, acc in GCP_ACCELERATORS.items():
        assert acc.quota_metric == upstream[name]["ondemand_metric"]
        assert acc.spot_quota_metric == upstream[name]["preemptible_metric"]
        assert acc.spot_quota_metric == f"PREEMPTIBLE_{acc.quota_metric}"
        for metric in (acc.quota_metric, acc.spot_quota_metric):
            # Either Compute's Quota.metric enum lists it, or we say it does not (newer GPUs: Cloud Quotas).
            assert (metric in enum) != (metric in GCP_METRICS_NOT_IN_COMPUTE_API), metric
    used = {m for a in GCP_ACCELERATORS.values() for m in (a.quota_metric, a.spot_quota_metric)}
    assert used >= GCP_METRICS_NOT_IN_COMPUTE_API


def test_gcp_zones_table() -> None:
    assert set(GCP_ACCELERATOR_ZONES) == set(GCP_ACCELERATORS)
    for acc, regions in GCP_ACCELERATOR_ZONES.items():
        assert regions, acc
        for region, zones in regions.items():
            assert region in GCP_ZONE_REGIONS, (acc, region)
            assert zones and list(zones) == sorted(set(zones)), (acc, region)
            assert all(z.rsplit("-", 1)[0] == region for z in zones), (acc, region)
    assert gcp_zones("nvidia-l4", "us-central1") == ("us-central1-a", "us-central1-b", "us-central1-c")
    assert gcp_zones("nvidia-l4", "us-east5") == ()
    assert gcp_zones("nvidia-h100-80gb", "us-east4") == ("us-east4-a", "us-east4-b", "us-east4-c")
    assert gcp_zones("nvidia-l4", "mars-north1") == () and gcp_zones("nope", "us-central1") == ()


# ---------------------------------------------------------------- offerings, resolve, lookup


@pytest.mark.parametrize(
    ("cloud", "gpu", "count", "expected"),
    [
        ("aws", "l4", 1, "g6.xlarge"),
        ("aws", "a10g", 1, "g5.xlarge"),
        ("aws", "h100", 8, "p5.48xlarge"),
        ("aws", "h100", 1, "p5.4xlarge"),
        ("aws", "t4", 8, "g4dn.metal"),
        ("aws", "a100-40gb", 8, "p4d.24xlarge"),
        ("gcp", "l4", 1, "g2-standard-4"),
        ("gcp", "h100", 8, "a3-highgpu-8g"),
        ("gcp", "t4", 2, "n1-standard-16"),
        ("gcp", "a100-40gb", 16, "a2-megagpu-16g"),
    ],
)
def test_resolve_picks_the_smallest_offering(cloud: str, gpu: str, count: int, expected: str) -> None:
    offering = resolve(cloud, gpu, count)
    assert (offering.instance_type, offering.gpu, offering.gpus_per_node) == (expected, gpu, count)


def test_resolve_error_lists_what_exists_for_that_gpu() -> None:
    with pytest.raises(CatalogError) as err:
        resolve("aws", "l4", 3)
    assert str(err.value) == (
        "no aws offering with 3 x l4; l4 on aws comes as "
        "1 (g6.xlarge, g6.2xlarge, g6.4xlarge, ...), 4 (g6.12xlarge, g6.24xlarge), 8 (g6.48xlarge)"
    )


def test_resolve_error_lists_the_gpus_a_cloud_offers() -> None:
    with pytest.raises(CatalogError, match=r"^no gcp offering for a10g; gcp offers: t4, l4, a100-40gb, .*b200$"):
        resolve("gcp", "a10g", 1)
    with pytest.raises(CatalogError, match=r"unknown GPU 'v100'; allowed: t4, a10g"):
        resolve("aws", "v100", 1)
    with pytest.raises(CatalogError, match=r"unknown cloud 'azure'; allowed: aws, gcp"):
        resolve("azure", "l4", 1)
    assert issubclass(CatalogError, ValueError)


def test_lookup() -> None:
    assert lookup("aws", "g6e.12xlarge").gpus_per_node == 4
    assert lookup("gcp", "a3-megagpu-8g").accelerator == "nvidia-h100-mega-80gb"
    with pytest.raises(CatalogError, match=r"unknown aws GPU instance type 'g6.xlage'; close matches: g6.xlarge"):
        lookup("aws", "g6.xlage")
    with pytest.raises(CatalogError, match=r"'g5g.xlarge' is not in the GPU catalog: Graviton"):
        lookup("aws", "g5g.xlarge")
    with pytest.raises(CatalogError, match=r"unknown gcp GPU machine type 'zzz'; known machine types"):
        lookup("gcp", "zzz")
    with pytest.raises(CatalogError, match=r"unknown gcp GPU machine type 'g6\.xlarge'"):
        lookup("gcp", "g6.xlarge")  # an AWS type on GCP


def test_offerings_view() -> None:
    every = offerings()
    key = [(o.cloud, o.gpu, o.gpus_per_node, o.vcpus, o.instance_type) for o in every]
    assert key == sorted(key) and len(set(key)) == len(key)
    assert len(every) == len(AWS_INSTANCE_TYPES) + len(GCP_MACHINE_TYPES)
    assert {o.cloud for o in every} == set(CLOUDS)
    for o in every:
        assert o.gpu in GPUS and o.gpus_per_node >= 1 and o.gpu_memory_gib > 0 and o.memory_gib > 0
        if o.cloud == "aws":
            assert (o.quota_unit, o.quota_per_node, o.accelerator) == ("vCPUs", o.vcpus, "")
        else:
            assert (o.quota_unit, o.quota_per_node, o.max_efa_interfaces) == ("GPUs", o.gpus_per_node, 0)
            assert o.accelerator in GCP_ACCELERATORS
    assert [o.instance_type for o in offerings("aws", "h200")] == ["p5e.48xlarge", "p5en.48xlarge"]
    assert {o.gpus_per_node for o in offerings(min_gpus=8)} == {8, 16}
    assert offerings("gcp", "a10g") == []
    assert cloud_gpus("gcp") == ("t4", "l4", "a100-40gb", "a100-80gb", "h100", "h200", "b200")
    g6 = lookup("aws", "g6.xlarge")
    assert (g6.memory_gib, g6.gpu_memory_gib) == (16.0, 22888 / 1024)


def test_quota_family() -> None:
    assert quota_family(lookup("aws", "p5.48xlarge"), spot=False) == "L-417A185B"
    assert quota_family(lookup("aws", "g6.xlarge"), spot=True) == "L-3819A6DF"
    assert quota_family(lookup("gcp", "g2-standard-8"), spot=False) == "NVIDIA_L4_GPUS"
    assert quota_family(lookup("gcp", "g2-standard-8"), spot=True) == "PREEMPTIBLE_NVIDIA_L4_GPUS"


# ---------------------------------------------------------------- CLI


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.catalog", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_json_lists_every_offering() -> None:
    result = run_cli("--json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == len(offerings())
    assert all(set(r) == JSON_KEYS for r in records)
    p5 = next(r for r in records if r["instanceType"] == "p5.48xlarge")
    assert (p5["gpusPerNode"], p5["quotaPerNode"], p5["quotaUnit"], p5["maxEfaInterfaces"]) == (8, 192, "vCPUs", 32)


def test_cli_filters_and_table() -> None:
    result = run_cli("--cloud", "aws", "--gpu", "l4", "--min-gpus", "4", "--json")
    assert result.returncode == 0, result.stderr
    assert [r["instanceType"] for r in json.loads(result.stdout)] == ["g6.12xlarge", "g6.24xlarge", "g6.48xlarge"]
    table = run_cli("--cloud", "gcp", "--gpu", "l4")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["CLOUD", "GPU", "TYPE"] and len(lines) == 1 + 8
    assert lines[1].split()[:5] == ["gcp", "l4", "g2-standard-4", "1", "4"]


@pytest.mark.parametrize(
    ("args", "allowed"),
    [(("--cloud", "azure"), "'aws', 'gcp'"), (("--gpu", "v100"), "'t4', 'a10g'"), (("--min-gpus", "0"), "positive")],
)
def test_cli_bad_arguments_exit_2_with_the_allowed_values(args: tuple[str, ...], allowed: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert allowed in result.stderr and "Traceback" not in result.stderr


def test_cli_imports_no_pulumi_or_cloud_sdk() -> None:
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['infra.catalog', '--json']\n"
        "try:\n    runpy.run_module('infra.catalog', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = {'pulumi', 'pulumi_aws', 'pulumi_gcp', 'pulumi_kubernetes', 'boto3', 'botocore', 'moto', 'googleapiclient'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "[]", result.stderr
