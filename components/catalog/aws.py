"""AWS EC2 GPU instance types: what each carries, which EKS AMIs run it, which quota it draws on.

Pure data, no Pulumi, no AWS SDK. One row per instance type; the portable GPU name
is a key of ``components.catalog.gpus.GPUS``.

Sources (see ``docs/catalog.md``):

- GPU count, GPU model, per-GPU memory, vCPUs, memory and ``MaximumEfaInterfaces``:
  EC2 ``DescribeInstanceTypes`` as moto 5.2.5 ships it (the project's reference copy is
  ``shared/reference/catalog/aws/moto-ec2-accelerated-instance-types.json``);
  ``tests/test_catalog.py`` checks every row against moto's own data.
- EKS AMI types: the ``AMITypes`` enum of botocore's EKS model.
- Quota codes: EC2 service quotas, counted in vCPUs per region (G and VT on-demand
  ``L-DB2E81BA`` / spot ``L-3819A6DF``; P on-demand ``L-417A185B`` / spot ``L-7212CCBC``).
- Zones and regions: moto's bundled ``DescribeInstanceTypeOfferings`` snapshot, read at
  call time from the installed moto package (never imported).
"""

import functools
import gzip
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

AL2023_NVIDIA = "AL2023_x86_64_NVIDIA"
BOTTLEROCKET_NVIDIA = "BOTTLEROCKET_x86_64_NVIDIA"
X86_NVIDIA_AMIS: tuple[str, ...] = (AL2023_NVIDIA, BOTTLEROCKET_NVIDIA)
"""EKS AMI types with NVIDIA drivers for x86_64 (AL2023 first: the platform default)."""

G_ON_DEMAND = "L-DB2E81BA"
"""Running On-Demand G and VT instances (vCPUs)."""
G_SPOT = "L-3819A6DF"
"""All G and VT Spot Instance Requests (vCPUs)."""
P_ON_DEMAND = "L-417A185B"
"""Running On-Demand P instances (vCPUs)."""
P_SPOT = "L-7212CCBC"
"""All P Spot Instance Requests (vCPUs); older accounts list it as "All P4, P3 and P2 Spot Instance Requests"."""


@dataclass(frozen=True)
class AwsInstanceType:
    """One EC2 instance type with NVIDIA GPUs, as the platform uses it."""

    name: str
    """EC2 instance type, e.g. ``g6.xlarge``."""
    family: str
    """Instance family, e.g. ``g6``."""
    gpu: str
    """Portable GPU name (a key of ``GPUS``)."""
    gpus: int
    """GPUs per instance."""
    gpu_memory_mib: int
    """Memory per GPU in MiB, as AWS reports it (``GpuInfo.Gpus[].MemoryInfo.SizeInMiB``)."""
    vcpus: int
    """Default vCPUs; also what one instance draws from its vCPU quota."""
    memory_mib: int
    """Instance memory in MiB."""
    max_efa_interfaces: int
    """Most EFA interfaces the type supports (``EfaInfo.MaximumEfaInterfaces``); 0 when EFA is unsupported."""
    ami_types: tuple[str, ...]
    """EKS AMI types (``AMITypes`` enum) that run this type with NVIDIA drivers."""
    quota_on_demand: str
    """EC2 vCPU quota code for on-demand capacity."""
    quota_spot: str
    """EC2 vCPU quota code for spot capacity."""


def _g(name: str, family: str, gpu: str, gpus: int, gpu_mib: int, vcpus: int, mib: int, efa: int) -> AwsInstanceType:
    """A G-family row: G and VT quotas, x86_64 NVIDIA AMIs."""
    return AwsInstanceType(name, family, gpu, gpus, gpu_mib, vcpus, mib, efa, X86_NVIDIA_AMIS, G_ON_DEMAND, G_SPOT)


def _p(name: str, family: str, gpu: str, gpus: int, gpu_mib: int, vcpus: int, mib: int, efa: int) -> AwsInstanceType:
    """A P-family row: P quotas, x86_64 NVIDIA AMIs."""
    return AwsInstanceType(name, family, gpu, gpus, gpu_mib, vcpus, mib, efa, X86_NVIDIA_AMIS, P_ON_DEMAND, P_SPOT)


# name, family, gpu, gpus, MiB per GPU, vCPUs, memory MiB, max EFA interfaces
_ROWS: tuple[AwsInstanceType, ...] = (
    _g("g4dn.xlarge", "g4dn", "t4", 1, 16384, 4, 16384, 0),
    _g("g4dn.2xlarge", "g4dn", "t4", 1, 16384, 8, 32768, 0),
    _g("g4dn.4xlarge", "g4dn", "t4", 1, 16384, 16, 65536, 0),
    _g("g4dn.8xlarge", "g4dn", "t4", 1, 16384, 32, 131072, 1),
    _g("g4dn.12xlarge", "g4dn", "t4", 4, 16384, 48, 196608, 1),
    _g("g4dn.16xlarge", "g4dn", "t4", 1, 16384, 64, 262144, 1),
    _g("g4dn.metal", "g4dn", "t4", 8, 16384, 96, 393216, 1),
    _g("g5.xlarge", "g5", "a10g", 1, 22888, 4, 16384, 0),
    _g("g5.2xlarge", "g5", "a10g", 1, 22888, 8, 32768, 0),
    _g("g5.4xlarge", "g5", "a10g", 1, 22888, 16, 65536, 0),
    _g("g5.8xlarge", "g5", "a10g", 1, 22888, 32, 131072, 1),
    _g("g5.12xlarge", "g5", "a10g", 4, 22888, 48, 196608, 1),
    _g("g5.16xlarge", "g5", "a10g", 1, 22888, 64, 262144, 1),
    _g("g5.24xlarge", "g5", "a10g", 4, 22888, 96, 393216, 1),
    _g("g5.48xlarge", "g5", "a10g", 8, 22888, 192, 786432, 1),
    _g("g6.xlarge", "g6", "l4", 1, 22888, 4, 16384, 0),
    _g("g6.2xlarge", "g6", "l4", 1, 22888, 8, 32768, 0),
    _g("g6.4xlarge", "g6", "l4", 1, 22888, 16, 65536, 0),
    _g("g6.8xlarge", "g6", "l4", 1, 22888, 32, 131072, 1),
    _g("g6.12xlarge", "g6", "l4", 4, 22888, 48, 196608, 1),
    _g("g6.16xlarge", "g6", "l4", 1, 22888, 64, 262144, 1),
    _g("g6.24xlarge", "g6", "l4", 4, 22888, 96, 393216, 1),
    _g("g6.48xlarge", "g6", "l4", 8, 22888, 192, 786432, 1),
    _g("g6e.xlarge", "g6e", "l40s", 1, 45776, 4, 32768, 0),
    _g("g6e.2xlarge", "g6e", "l40s", 1, 45776, 8, 65536, 0),
    _g("g6e.4xlarge", "g6e", "l40s", 1, 45776, 16, 131072, 0),
    _g("g6e.8xlarge", "g6e", "l40s", 1, 45776, 32, 262144, 1),
    _g("g6e.12xlarge", "g6e", "l40s", 4, 45776, 48, 393216, 1),
    _g("g6e.16xlarge", "g6e", "l40s", 1, 45776, 64, 524288, 1),
    _g("g6e.24xlarge", "g6e", "l40s", 4, 45776, 96, 786432, 2),
    _g("g6e.48xlarge", "g6e", "l40s", 8, 45776, 192, 1572864, 4),
    _g("gr6.4xlarge", "gr6", "l4", 1, 22888, 16, 131072, 0),
    _g("gr6.8xlarge", "gr6", "l4", 1, 22888, 32, 262144, 1),
    _g("g7e.2xlarge", "g7e", "rtx-pro-6000", 1, 98304, 8, 65536, 0),
    _g("g7e.4xlarge", "g7e", "rtx-pro-6000", 1, 98304, 16, 131072, 0),
    _g("g7e.8xlarge", "g7e", "rtx-pro-6000", 1, 98304, 32, 262144, 1),
    _g("g7e.12xlarge", "g7e", "rtx-pro-6000", 2, 98304, 48, 524288, 1),
    _g("g7e.24xlarge", "g7e", "rtx-pro-6000", 4, 98304, 96, 1048576, 2),
    _g("g7e.48xlarge", "g7e", "rtx-pro-6000", 8, 98304, 192, 2097152, 4),
    _p("p4d.24xlarge", "p4d", "a100-40gb", 8, 40960, 96, 1179648, 4),
    _p("p4de.24xlarge", "p4de", "a100-80gb", 8, 81920, 96, 1179648, 4),
    _p("p5.4xlarge", "p5", "h100", 1, 81920, 16, 262144, 1),
    _p("p5.48xlarge", "p5", "h100", 8, 81920, 192, 2097152, 32),
    _p("p5e.48xlarge", "p5e", "h200", 8, 144384, 192, 2097152, 32),
    _p("p5en.48xlarge", "p5en", "h200", 8, 144384, 192, 2097152, 16),
    _p("p6-b200.48xlarge", "p6-b200", "b200", 8, 183359, 192, 2097152, 8),
    _p("p6-b300.48xlarge", "p6-b300", "b300", 8, 275040, 192, 4194304, 16),
)

AWS_INSTANCE_TYPES: dict[str, AwsInstanceType] = {row.name: row for row in _ROWS}
"""Every NVIDIA GPU instance type the platform can run, by name."""

AWS_EXCLUDED: dict[str, str] = {
    **{
        f"g5g.{size}": "Graviton (arm64) with NVIDIA T4G GPUs; the platform's GPU pools are x86_64"
        for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "metal")
    },
    **{
        name: "fractional NVIDIA L4 (a GPU partition, not a whole GPU); whole-GPU pools cannot use it"
        for name in ("g6f.large", "g6f.xlarge", "g6f.2xlarge", "g6f.4xlarge", "gr6f.4xlarge")
    },
    **{
        f"g7.{size}": "NVIDIA RTX PRO 4500 Blackwell: no portable GPU row yet (nvidia-smi memory and MIG profiles unsourced)"
        for size in ("2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge", "48xlarge")
    },
    "p3dn.24xlarge": "previous generation (NVIDIA V100, Volta); no portable GPU row",
}
"""NVIDIA GPU instance types EC2 knows that the catalog leaves out on purpose, with why."""

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


def _moto_offerings_dir() -> Path | None:
    """moto's bundled ``instance_type_offerings`` directory, found without importing moto."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources" / "instance_type_offerings"


def _read_offerings(stem: Path) -> list[dict[str, str]] | None:
    """``<stem>.json`` or ``<stem>.json.gz`` (moto ships the latter), parsed; None when neither exists."""
    plain, packed = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".json.gz")
    if plain.is_file():
        data = plain.read_bytes()
    elif packed.is_file():
        data = gzip.decompress(packed.read_bytes())
    else:
        return None
    rows: list[dict[str, str]] = json.loads(data)
    return rows


@functools.lru_cache(maxsize=64)
def _zone_index(region: str) -> dict[str, tuple[str, ...]]:
    base = _moto_offerings_dir()
    if base is None or not _REGION.match(region):
        return {}
    rows = _read_offerings(base / "availability-zone" / region)
    index: dict[str, set[str]] = {}
    for row in rows or ():
        index.setdefault(row["InstanceType"], set()).add(row["Location"])
    return {name: tuple(sorted(zones)) for name, zones in index.items()}


@functools.lru_cache(maxsize=1)
def _region_index() -> dict[str, tuple[str, ...]]:
    base = _moto_offerings_dir()
    if base is None:
        return {}
    index: dict[str, set[str]] = {}
    for path in sorted((base / "region").glob("*.json*")):
        region = path.name.split(".json")[0]
        for row in _read_offerings(path.with_name(region)) or ():
            index.setdefault(row["InstanceType"], set()).add(region)
    return {name: tuple(sorted(regions)) for name, regions in index.items()}


def aws_zones(instance_type: str, region: str) -> tuple[str, ...]:
    """Availability zones of ``region`` that offer ``instance_type`` (sorted); () when unknown."""
    return _zone_index(region).get(instance_type, ())


def aws_regions(instance_type: str) -> tuple[str, ...]:
    """Regions that offer ``instance_type`` (sorted), as far as moto's snapshot knows; () when unknown."""
    return _region_index().get(instance_type, ())
