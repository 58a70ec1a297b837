"""The GPU catalog: AWS rows and the zone data file against AWS's own data as moto ships it (installed
package, no network), the GCP tables' integrity, the resolve/lookup contract, the refresh task and the
`python -m infra.catalog` CLI. Nothing here reads outside the repository and the installed packages:
comparisons with the upstream reference copies beside the repository live in conformance/."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import components.catalog as catalog
from components.catalog import (
    ARCHES,
    AWS_EXCLUDED,
    AWS_INSTANCE_TYPES,
    CLOUDS,
    EC2_VCPU_QUOTAS,
    EKS_UNSUPPORTED_ZONE_IDS,
    GCP_ACCELERATOR_ZONES,
    GCP_ACCELERATORS,
    GCP_COMPUTE_GPU_QUOTA_METRICS,
    GCP_EXCLUDED,
    GCP_MACHINE_TYPES,
    GCP_METRICS_NOT_IN_COMPUTE_API,
    GCP_ZONE_REGIONS,
    GPUS,
    CatalogError,
    aws_region_zone_ids,
    aws_regions,
    aws_zone_ids,
    cloud_gpus,
    gcp_zones,
    lookup,
    offerings,
    quota_family,
    resolve,
)
from components.catalog.aws import (
    AWS_SYSTEM_INSTANCE_TYPES,
    G_ON_DEMAND,
    G_SPOT,
    P_ON_DEMAND,
    P_SPOT,
    aws_has_local_nvme,
)
from components.catalog.data import load, read_text, render
from components.catalog.gcp import GCP_LOCAL_SSD_COUNT_UNSOURCED, GCP_LOCAL_SSD_SERIES, gcp_local_ssds
from infra import catalog_refresh

ROOT = Path(__file__).resolve().parents[1]

MOTO_LACKS: frozenset[str] = frozenset()
"""Catalog rows moto's instance data does not know (the test asserts moto indeed lacks them)."""

JSON_KEYS = {
    "cloud",
    "gpu",
    "instanceType",
    "arch",
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
ZONE_ID = re.compile(r"^[a-z0-9]+-az[0-9]+$")
AMI_ARCH = {"x86_64": "_x86_64_", "arm64": "_ARM_64_"}
"""How an EKS AMI type name marks its CPU architecture."""


# ---------------------------------------------------------------- AWS rows, checked against moto


@pytest.fixture(scope="module")
def ec2() -> Any:
    """One moto-mocked EC2 client for the module (moto's EC2 backend takes about a second to load)."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        yield boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


GPU_FAMILIES = ["g*", "p*"]
"""Where moto's EC2 data has every NVIDIA instance type (``test_nvidia_types_are_all_in_the_gpu_families``)."""


@pytest.fixture(scope="module")
def all_moto_types(ec2: Any) -> dict[str, dict[str, Any]]:
    """Every G and P instance type moto's DescribeInstanceTypes knows, by name (all 1395 types take seconds)."""
    pages = ec2.get_paginator("describe_instance_types").paginate(
        Filters=[{"Name": "instance-type", "Values": GPU_FAMILIES}]
    )
    return {t["InstanceType"]: t for page in pages for t in page["InstanceTypes"]}


def test_nvidia_types_are_all_in_the_gpu_families() -> None:
    # Read from moto's own data file (no API round trips): no NVIDIA type outside the families queried above.
    import fnmatch
    import gzip
    import json as json_module
    from pathlib import Path

    import moto.ec2

    bundled = Path(moto.ec2.__file__).parent / "resources" / "instance_types.json.gz"
    data = json_module.loads(gzip.decompress(bundled.read_bytes()))
    nvidia = {
        name
        for name, t in data.items()
        if any(g.get("Manufacturer") == "NVIDIA" for g in (t.get("GpuInfo") or {}).get("Gpus", []))
    }
    assert len(nvidia) > 50 and all(any(fnmatch.fnmatch(n, f) for f in GPU_FAMILIES) for n in nvidia)


@pytest.fixture(scope="module")
def moto_types(all_moto_types: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: t for name, t in all_moto_types.items() if name in AWS_INSTANCE_TYPES}


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
    # AWS's model name ("L4", "RTX PRO Server 6000", "T4g") names the product our portable GPU labels nodes with.
    assert _tokens(gpu["Name"]) <= _tokens(GPUS[row.gpu].product), (gpu["Name"], row.gpu)
    assert aws["VCpuInfo"]["DefaultVCpus"] == row.vcpus
    assert aws["MemoryInfo"]["SizeInMiB"] == row.memory_mib
    assert aws["NetworkInfo"].get("EfaInfo", {}).get("MaximumEfaInterfaces", 0) == row.max_efa_interfaces
    assert aws["NetworkInfo"].get("EfaSupported", False) == (row.max_efa_interfaces > 0)
    (card0,) = [c for c in aws["NetworkInfo"]["NetworkCards"] if c["NetworkCardIndex"] == 0]
    assert ("efa" in card0["InterfaceTypes"] and row.max_efa_interfaces > 0) == row.efa_on_card0
    assert row.arch in aws["ProcessorInfo"]["SupportedArchitectures"]
    assert "on-demand" in aws["SupportedUsageClasses"] and "spot" in aws["SupportedUsageClasses"]
    # The NVMe instance store pools RAID0 into ephemeral storage: its disks and size as EC2 reports them.
    store = aws.get("InstanceStorageInfo")
    assert aws.get("InstanceStorageSupported", False) == (store is not None)
    if store is None:
        assert (row.local_nvme_disks, row.local_nvme_gb) == (0, 0)
    else:
        assert store["NvmeSupport"] in ("required", "supported")  # the rows count NVMe instance store only
        assert {d["Type"] for d in store["Disks"]} == {"ssd"}
        assert row.local_nvme_disks == sum(d["Count"] for d in store["Disks"]) >= 1
        assert row.local_nvme_gb == store["TotalSizeInGB"] == sum(d["Count"] * d["SizeInGB"] for d in store["Disks"])


def test_local_nvme_by_family() -> None:
    # Every catalogued type carries NVMe instance store but the Graviton g5g; unknown types count as none.
    assert {r.family for r in AWS_INSTANCE_TYPES.values() if not r.has_local_nvme} == {"g5g"}
    g6, p5 = AWS_INSTANCE_TYPES["g6.xlarge"], AWS_INSTANCE_TYPES["p5.48xlarge"]
    assert (g6.local_nvme_disks, g6.local_nvme_gb, p5.local_nvme_disks, p5.local_nvme_gb) == (1, 250, 8, 30400)
    assert aws_has_local_nvme("g5.xlarge") and not aws_has_local_nvme("g5g.xlarge")
    assert not aws_has_local_nvme("m6i.large") and not aws_has_local_nvme("no-such.type")


def test_a100_variants_are_told_apart_by_memory() -> None:
    assert AWS_INSTANCE_TYPES["p4d.24xlarge"].gpu == "a100-40gb"
    assert AWS_INSTANCE_TYPES["p4de.24xlarge"].gpu == "a100-80gb"


def test_aws_rows_are_consistent() -> None:
    botocore_session = pytest.importorskip("botocore.session")
    eks_ami_types = set(botocore_session.get_session().get_service_model("eks").shape_for("AMITypes").enum)
    for name, row in AWS_INSTANCE_TYPES.items():
        assert row.name == name and row.family == name.split(".")[0]
        assert row.gpu in GPUS and row.arch in ARCHES
        assert row.ami_types and set(row.ami_types) <= eks_ami_types, name
        assert all("NVIDIA" in a and AMI_ARCH[row.arch] in a for a in row.ami_types), name
        expected = (P_ON_DEMAND, P_SPOT) if row.family.startswith("p") else (G_ON_DEMAND, G_SPOT)
        assert (row.quota_on_demand, row.quota_spot) == expected, name
    assert {r.family for r in AWS_INSTANCE_TYPES.values() if r.arch == "arm64"} == {"g5g"}


def test_every_quota_family_is_a_known_quota_code_or_metric() -> None:
    for code, q in EC2_VCPU_QUOTAS.items():
        assert q.code == code and re.fullmatch(r"L-[0-9A-F]{8}", code)
    for row in AWS_INSTANCE_TYPES.values():
        on_demand, spot = EC2_VCPU_QUOTAS[row.quota_on_demand], EC2_VCPU_QUOTAS[row.quota_spot]
        assert (on_demand.purchase_option, spot.purchase_option) == ("on-demand", "spot"), row.name
        letter = row.family[0].upper()
        assert on_demand.families.split(" and ")[0] == letter == spot.families.split(" and ")[0], row.name
    for name, acc in GCP_ACCELERATORS.items():
        assert acc.spot_quota_metric == f"PREEMPTIBLE_{acc.quota_metric}", name
        for metric in (acc.quota_metric, acc.spot_quota_metric):
            assert re.fullmatch(r"(PREEMPTIBLE_)?NVIDIA_[A-Z0-9_]+_GPUS", metric), metric
            # Either Compute's Quota.metric enum lists it, or we say it does not (newer GPUs: Cloud Quotas).
            assert (metric in GCP_COMPUTE_GPU_QUOTA_METRICS) != (metric in GCP_METRICS_NOT_IN_COMPUTE_API), metric
    used = {m for a in GCP_ACCELERATORS.values() for m in (a.quota_metric, a.spot_quota_metric)}
    assert used >= GCP_METRICS_NOT_IN_COMPUTE_API
    assert not GCP_METRICS_NOT_IN_COMPUTE_API & GCP_COMPUTE_GPU_QUOTA_METRICS
    for o in offerings():
        known = EC2_VCPU_QUOTAS if o.cloud == "aws" else GCP_COMPUTE_GPU_QUOTA_METRICS | GCP_METRICS_NOT_IN_COMPUTE_API
        assert o.quota in known and o.spot_quota in known, o.instance_type


def test_every_nvidia_instance_type_is_catalogued_or_excluded(all_moto_types: dict[str, dict[str, Any]]) -> None:
    nvidia = {
        name
        for name, t in all_moto_types.items()
        if any(g["Manufacturer"] == "NVIDIA" for g in t.get("GpuInfo", {}).get("Gpus", []))
    }
    assert nvidia - set(AWS_INSTANCE_TYPES) - set(AWS_EXCLUDED) == set(), "new NVIDIA types: add or exclude them"
    assert set(AWS_EXCLUDED) <= nvidia, "stale exclusions"
    assert not set(AWS_EXCLUDED) & set(AWS_INSTANCE_TYPES)
    assert all(reason for reason in AWS_EXCLUDED.values())
    fractional = {n for n in nvidia if all_moto_types[n]["GpuInfo"]["Gpus"][0]["Count"] == 0}
    assert fractional == {n for n, why in AWS_EXCLUDED.items() if why.startswith("fractional")}


def test_docs_show_the_catalog_date() -> None:
    assert f"**Catalog date: {catalog.CATALOG_DATE}**" in (ROOT / "docs" / "catalog.md").read_text()


def test_every_exclusion_is_documented() -> None:
    text = (ROOT / "docs" / "catalog.md").read_text()
    section = text.split("## Left out, and why", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in (*AWS_EXCLUDED, *GCP_EXCLUDED) if f"`{name}`" not in section]
    assert missing == []


# ---------------------------------------------------------------- AWS zone data (the dated data file)


def test_data_file_is_consistent() -> None:
    data = load()
    prefixes: dict[str, str] = {}
    for region, entry in data["aws"].items():
        zones = entry["zones"]
        assert zones and zones == sorted(set(zones)), region
        assert all(ZONE_ID.match(z) for z in zones), region
        (prefix,) = {z.split("-az")[0] for z in zones}
        assert prefixes.setdefault(prefix, region) == region, f"{region} and {prefixes[prefix]} share {prefix}"
        for name, offered in entry["offerings"].items():
            assert name in AWS_INSTANCE_TYPES or name in AWS_SYSTEM_INSTANCE_TYPES, (
                f"{region}: {name} is not catalogued"
            )
            assert offered and offered == sorted(set(offered)), (region, name)
            assert set(offered) <= set(zones), f"{region} {name}: zones {set(offered) - set(zones)} not in the region"
        assert aws_region_zone_ids(region) == tuple(zones)
    assert render(data) == read_text(), "the data file is not in render()'s canonical form"


def test_every_aws_row_is_offered_somewhere() -> None:
    assert [name for name in AWS_INSTANCE_TYPES if not aws_regions(name)] == []
    for name in AWS_INSTANCE_TYPES:
        for region in aws_regions(name):
            assert set(aws_zone_ids(name, region)) <= set(aws_region_zone_ids(region)), (name, region)


def test_aws_zone_ids_agree_with_ec2(ec2: Any) -> None:
    zones = aws_zone_ids("g6.xlarge", "us-east-1")
    assert zones and all(z.startswith("use1-az") for z in zones) and list(zones) == sorted(zones)
    offered = ec2.describe_instance_type_offerings(
        LocationType="availability-zone-id", Filters=[{"Name": "instance-type", "Values": ["g6.xlarge"]}]
    )["InstanceTypeOfferings"]
    assert zones == tuple(sorted(o["Location"] for o in offered))
    all_zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert aws_region_zone_ids("us-east-1") == tuple(sorted(z["ZoneId"] for z in all_zones))
    assert "us-east-1" in aws_regions("g6.xlarge") and "us-east-1" in aws_regions("g5g.xlarge")
    assert aws_zone_ids("g6.xlarge", "xx-nowhere-9") == () and aws_region_zone_ids("xx-nowhere-9") == ()
    assert aws_zone_ids("no-such.type", "us-east-1") == () and aws_regions("no-such.type") == ()


def test_eks_unsupported_zone_ids() -> None:
    assert frozenset({"use1-az3", "usw1-az2", "cac1-az3"}) == EKS_UNSUPPORTED_ZONE_IDS
    assert all(ZONE_ID.match(z) for z in EKS_UNSUPPORTED_ZONE_IDS)
    # use1-az3 is a real zone the data offers GPU types in: the planner must skip it for the control plane.
    assert "use1-az3" in aws_region_zone_ids("us-east-1")


def test_data_file_regenerates_from_installed_moto() -> None:
    assert catalog_refresh.check("moto") == []


def test_catalog_date_is_the_data_files_date_and_not_in_the_future() -> None:
    day = datetime.date.fromisoformat(catalog.CATALOG_DATE)
    assert day.isoformat() == catalog.CATALOG_DATE == load()["generated"]
    assert day <= datetime.date.today()
    assert load()["sources"] and all(re.search(r"\d+\.\d+", s) for s in load()["sources"]), "sources need versions"
    with pytest.raises(AttributeError, match="no attribute 'NO_SUCH_NAME'"):
        catalog.__getattr__("NO_SUCH_NAME")


# ---------------------------------------------------------------- the refresh task


@pytest.fixture
def scratch_data_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The refresh task pointed at a copy of the committed data file."""
    path = tmp_path / "aws_zones.json"
    path.write_text(read_text())
    monkeypatch.setattr(catalog_refresh, "data_file", lambda: path)
    return path


def test_refresh_writes_the_committed_bytes(scratch_data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scratch_data_file.unlink()
    assert catalog_refresh.main(["--date", catalog.CATALOG_DATE]) == 0
    assert scratch_data_file.read_text() == read_text()
    assert capsys.readouterr().out.startswith(f"wrote {scratch_data_file}: {len(load()['aws'])} regions")


def test_refresh_check_says_what_differs(scratch_data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(scratch_data_file.read_text())
    data["aws"]["us-east-1"]["offerings"]["g6.xlarge"].remove("use1-az1")
    del data["aws"]["us-east-1"]["offerings"]["g5.xlarge"]
    scratch_data_file.write_text(render(data))
    assert catalog_refresh.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "us-east-1 g6.xlarge: +use1-az1" in out and "us-east-1 g5.xlarge: +use1-az" in out
    assert catalog_refresh.main(["--check", "--date", "2020-01-01"]) == 1
    assert 'generated: "' in capsys.readouterr().out


def test_refresh_without_any_source_exits_2(
    scratch_data_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(catalog_refresh, "moto_offerings_dir", lambda: None)
    monkeypatch.setattr(catalog_refresh, "aws_session", lambda: None)
    assert catalog_refresh.main(["--source", "auto"]) == 2
    assert "moto is not installed" in capsys.readouterr().err
    assert catalog_refresh.main(["--source", "aws", "--check"]) == 2
    assert "no AWS credentials" in capsys.readouterr().err
    assert scratch_data_file.read_text() == read_text(), "nothing written on failure"


def test_refresh_rejects_bad_dates(capsys: pytest.CaptureFixture[str]) -> None:
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    for bad in ("29.11.2026", tomorrow):
        with pytest.raises(SystemExit) as exit_:
            catalog_refresh.main(["--check", "--date", bad])
        assert exit_.value.code == 2
    assert "in the future" in capsys.readouterr().err


def test_refresh_from_ec2_reads_zone_ids(ec2: Any) -> None:
    boto3 = pytest.importorskip("boto3")
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    data = catalog_refresh.from_aws(catalog_refresh.instance_types(), "2026-01-01", session, regions=["us-east-1"])
    assert data["sources"][0].startswith("aws ec2 API (botocore ")
    assert data["aws"]["us-east-1"] == load()["aws"]["us-east-1"]


# ---------------------------------------------------------------- GCP tables


def test_gcp_tables_are_consistent() -> None:
    for name, acc in GCP_ACCELERATORS.items():
        assert acc.name == name and acc.gpu in GPUS
    for name, machine in GCP_MACHINE_TYPES.items():
        assert machine.name == name and machine.accelerator in GCP_ACCELERATORS
        assert machine.gpus >= 1 and machine.vcpus >= 1 and machine.memory_mib >= machine.vcpus * 1024
        assert machine.arch == "x86_64", name
    assert {m.accelerator for m in GCP_MACHINE_TYPES.values()} == set(GCP_ACCELERATORS)
    assert not set(GCP_EXCLUDED) & set(GCP_MACHINE_TYPES)
    assert all(reason for reason in GCP_EXCLUDED.values())


def test_gcp_local_ssds_follow_the_series_that_come_with_them() -> None:
    # A2 Ultra, A3 and A4 machine types come with Local SSD; G2, A2 Standard and N1 only on request (none here).
    assert set(GCP_MACHINE_TYPES) >= GCP_LOCAL_SSD_COUNT_UNSOURCED
    for name, machine in GCP_MACHINE_TYPES.items():
        bundled = name.startswith(GCP_LOCAL_SSD_SERIES)
        assert (machine.local_ssds > 0 or name in GCP_LOCAL_SSD_COUNT_UNSOURCED) == bundled, name
        assert not (machine.local_ssds and name in GCP_LOCAL_SSD_COUNT_UNSOURCED), name
        assert machine.local_ssds == gcp_local_ssds(name)
    counts = {n: m.local_ssds for n, m in GCP_MACHINE_TYPES.items() if m.local_ssds}
    assert counts == {
        "a2-ultragpu-1g": 1,
        "a2-ultragpu-2g": 2,
        "a2-ultragpu-4g": 4,
        "a2-ultragpu-8g": 8,
        "a3-highgpu-8g": 16,
        "a3-megagpu-8g": 16,
        "a3-ultragpu-8g": 32,
    }
    assert gcp_local_ssds("g2-standard-96") == 0 and gcp_local_ssds("no-such-type") == 0


def test_gcp_exclusions_name_what_is_missing() -> None:
    for n in (6, 12, 24):
        assert "fractional" in GCP_EXCLUDED[f"g4-standard-{n}"]
    assert "48 vCPUs, 180 GB" in GCP_EXCLUDED["g4-standard-48"] and "zones" in GCP_EXCLUDED["g4-standard-48"]
    assert "arm64" in GCP_EXCLUDED["a4x-highgpu-4g"] and "GB200" in GCP_EXCLUDED["a4x-highgpu-4g"]


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
        ("aws", "t4g", 1, "g5g.xlarge"),
        ("aws", "t4g", 2, "g5g.16xlarge"),
        ("aws", "rtx-pro-4500", 1, "g7.2xlarge"),
        ("aws", "rtx-pro-4500", 8, "g7.48xlarge"),
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
    with pytest.raises(CatalogError, match=r"^no gcp offering for t4g; gcp offers: "):
        resolve("gcp", "t4g", 1)
    with pytest.raises(CatalogError, match=r"unknown GPU 'v100'; allowed: t4, a10g"):
        resolve("aws", "v100", 1)
    with pytest.raises(CatalogError, match=r"unknown cloud 'azure'; allowed: aws, gcp"):
        resolve("azure", "l4", 1)
    assert issubclass(CatalogError, ValueError)


def test_lookup() -> None:
    assert lookup("aws", "g6e.12xlarge").gpus_per_node == 4
    assert lookup("aws", "g5g.xlarge").arch == "arm64"
    assert lookup("gcp", "a3-megagpu-8g").accelerator == "nvidia-h100-mega-80gb"
    with pytest.raises(CatalogError, match=r"unknown aws GPU instance type 'g6.xlage'; close matches: g6.xlarge"):
        lookup("aws", "g6.xlage")
    with pytest.raises(CatalogError, match=r"'g6f.large' is not in the GPU catalog: fractional NVIDIA L4"):
        lookup("aws", "g6f.large")
    with pytest.raises(CatalogError, match=r"'a4x-highgpu-4g' is not in the GPU catalog: A4X: arm64"):
        lookup("gcp", "a4x-highgpu-4g")
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
        assert o.arch in ARCHES
        if o.cloud == "aws":
            assert (o.quota_unit, o.quota_per_node, o.accelerator) == ("vCPUs", o.vcpus, "")
            assert o.arch == AWS_INSTANCE_TYPES[o.instance_type].arch
        else:
            assert (o.quota_unit, o.quota_per_node, o.max_efa_interfaces) == ("GPUs", o.gpus_per_node, 0)
            assert o.accelerator in GCP_ACCELERATORS and o.arch == GCP_MACHINE_TYPES[o.instance_type].arch
    assert {o.instance_type.split(".")[0] for o in every if o.arch == "arm64"} == {"g5g"}
    assert [o.instance_type for o in offerings("aws", "h200")] == ["p5e.48xlarge", "p5en.48xlarge"]
    assert {o.gpus_per_node for o in offerings(min_gpus=8)} == {8, 16}
    assert offerings("gcp", "a10g") == []
    assert cloud_gpus("gcp") == ("t4", "l4", "a100-40gb", "a100-80gb", "h100", "h200", "b200")
    assert cloud_gpus("aws")[-2:] == ("rtx-pro-4500", "t4g")
    g6 = lookup("aws", "g6.xlarge")
    assert (g6.memory_gib, g6.gpu_memory_gib) == (16.0, 22888 / 1024)


def test_new_gpus_have_no_unsourced_mig_profiles() -> None:
    assert not GPUS["rtx-pro-4500"].mig_capable and not GPUS["t4g"].mig_capable
    assert GPUS["rtx-pro-4500"].product == "NVIDIA-RTX-PRO-4500-Blackwell-Server-Edition"


def test_quota_family() -> None:
    assert quota_family(lookup("aws", "p5.48xlarge"), spot=False) == "L-417A185B"
    assert quota_family(lookup("aws", "g6.xlarge"), spot=True) == "L-3819A6DF"
    assert quota_family(lookup("aws", "g5g.xlarge"), spot=False) == "L-DB2E81BA"
    assert quota_family(lookup("gcp", "g2-standard-8"), spot=False) == "NVIDIA_L4_GPUS"
    assert quota_family(lookup("gcp", "g2-standard-8"), spot=True) == "PREEMPTIBLE_NVIDIA_L4_GPUS"


# ---------------------------------------------------------------- CLI


def run_cli(*args: str, module: str = "infra.catalog") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cli_json_lists_every_offering() -> None:
    result = run_cli("--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"catalogDate", "offerings"} and out["catalogDate"] == catalog.CATALOG_DATE
    records = out["offerings"]
    assert len(records) == len(offerings())
    assert all(set(r) == JSON_KEYS for r in records)
    p5 = next(r for r in records if r["instanceType"] == "p5.48xlarge")
    assert (p5["gpusPerNode"], p5["quotaPerNode"], p5["quotaUnit"], p5["maxEfaInterfaces"]) == (8, 192, "vCPUs", 32)
    assert next(r for r in records if r["instanceType"] == "g5g.metal")["arch"] == "arm64"


def test_cli_filters_and_table() -> None:
    result = run_cli("--cloud", "aws", "--gpu", "l4", "--min-gpus", "4", "--json")
    assert result.returncode == 0, result.stderr
    assert [r["instanceType"] for r in json.loads(result.stdout)["offerings"]] == [
        "g6.12xlarge",
        "g6.24xlarge",
        "g6.48xlarge",
    ]
    table = run_cli("--cloud", "gcp", "--gpu", "l4")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == f"GPU catalog of {catalog.CATALOG_DATE}"
    assert lines[1].split()[:4] == ["CLOUD", "GPU", "TYPE", "ARCH"] and len(lines) == 2 + 8
    assert lines[2].split()[:6] == ["gcp", "l4", "g2-standard-4", "x86_64", "1", "4"]


def test_cli_region_shows_aws_zone_ids_and_gcp_zones() -> None:
    result = run_cli("--gpu", "l4", "--min-gpus", "8", "--region", "us-east-1", "--json")
    assert result.returncode == 0, result.stderr
    by_type = {r["instanceType"]: r for r in json.loads(result.stdout)["offerings"]}
    assert by_type["g6.48xlarge"]["zones"] == list(aws_zone_ids("g6.48xlarge", "us-east-1"))
    assert by_type["g6.48xlarge"]["region"] == "us-east-1" and by_type["g2-standard-96"]["zones"] == []
    table = run_cli("--cloud", "gcp", "--gpu", "l4", "--region", "us-central1")
    lines = table.stdout.splitlines()
    assert lines[0].endswith("zones in us-central1 (AWS: zone IDs)") and lines[1].split()[-1] == "ZONES"
    assert lines[2].split()[-1] == "us-central1-a,us-central1-b,us-central1-c"


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
        "sys.argv = ['infra.catalog', '--json', '--region', 'us-east-1']\n"
        "try:\n    runpy.run_module('infra.catalog', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = {'pulumi', 'pulumi_aws', 'pulumi_gcp', 'pulumi_kubernetes', 'boto3', 'botocore', 'moto', 'googleapiclient'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "[]", result.stderr


def test_refresh_cli_check_runs_as_a_module() -> None:
    result = run_cli("--check", module="infra.catalog_refresh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is up to date" in result.stdout
