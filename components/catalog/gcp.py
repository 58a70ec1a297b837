"""Google Cloud GPUs: accelerator types, the machine types that carry them, quota metrics and zones.

Pure data, no Pulumi, no Google SDK. The portable GPU name is a key of
``components.catalog.gpus.GPUS``; the accelerator name is what GKE puts in
``cloud.google.com/gke-accelerator`` and what ``guest_accelerators`` asks for.

Sources (see ``docs/catalog.md``):

- Machine type -> accelerator and count: cluster-toolkit's gpu-definition map
  (``shared/reference/catalog/gcp/machine-type-accelerators.json``); checked by the tests.
- vCPUs and memory: ``gcloud compute machine-types list`` as exported by
  Cyclenerd/google-cloud-pricing-cost-calculator ``tools/machinetypes.csv`` (commit 16d0026),
  cross-checked with skypilot-org/skypilot-catalog ``catalogs/v8/gcp/vms.csv`` (commit 006059e).
  Google's "GB" here is GiB (the API's ``memoryMb`` is GB x 1024).
- Quota metrics: ``shared/reference/catalog/gcp/accelerator-types-and-quota-metrics.csv`` and the
  Compute v1 ``Quota.metric`` enum; names the enum lacks are listed in ``GCP_METRICS_NOT_IN_COMPUTE_API``.
- Local SSDs a machine type comes with (``local_ssds``): see the note above ``_MACHINE_TYPES``.
- Zones: per-zone machine/accelerator listings in skypilot-catalog ``catalogs/v8/gcp/vms.csv``
  (commit 006059e), cross-checked per region with Cyclenerd ``tools/acceleratortyperegion.csv``
  (commit ce9f341). Google's "GPU regions and zones" page itself was not reachable from here.

Left out, each with its reason in ``GCP_EXCLUDED`` and ``docs/catalog.md`` ("Left out, and why"):
G4 (RTX PRO 6000; no zone data sourced; the 6/12/24-vCPU shapes are fractional vGPUs), A4X and
A4X Max (arm64 Grace with GB200/GB300: shapes and zones unsourced, no portable GPU row, capacity
only in 18-VM NVL72 blocks), ``a4-highgpu-8g-lowmem``, A3 Edge, V100/P100/P4 on N1.
"""

from dataclasses import dataclass

from components.catalog.arch import Arch


@dataclass(frozen=True)
class GcpAccelerator:
    """One Compute Engine accelerator type and the regional quota it draws on (counted in GPUs)."""

    name: str
    """Accelerator type, e.g. ``nvidia-l4`` (also the GKE ``cloud.google.com/gke-accelerator`` label)."""
    gpu: str
    """Portable GPU name (a key of ``GPUS``)."""
    quota_metric: str
    """Regional quota metric for on-demand (and reserved) capacity, e.g. ``NVIDIA_L4_GPUS``."""
    spot_quota_metric: str
    """Regional quota metric for Spot/preemptible (and DWS flex-start) capacity."""


@dataclass(frozen=True)
class GcpMachineType:
    """A machine type with GPUs: fixed for accelerator-optimized series, a curated shape for N1 + T4."""

    name: str
    """Machine type, e.g. ``g2-standard-4``."""
    accelerator: str
    """Accelerator type attached (a key of ``GCP_ACCELERATORS``)."""
    gpus: int
    """GPUs per VM."""
    vcpus: int
    memory_mib: int
    """VM memory in MiB."""
    arch: Arch = "x86_64"
    """CPU architecture (every catalogued GCP machine type is x86_64; A4X, the Arm one, is left out)."""
    local_ssds: int = 0
    """Local SSD disks (375 GiB each) the machine type comes with; 0 when it comes with none, or when their count
    is not sourced (``GCP_LOCAL_SSD_COUNT_UNSOURCED``). GKE pools put the node's ephemeral storage on them."""


_ACCELERATORS: tuple[GcpAccelerator, ...] = (
    GcpAccelerator("nvidia-tesla-t4", "t4", "NVIDIA_T4_GPUS", "PREEMPTIBLE_NVIDIA_T4_GPUS"),
    GcpAccelerator("nvidia-l4", "l4", "NVIDIA_L4_GPUS", "PREEMPTIBLE_NVIDIA_L4_GPUS"),
    GcpAccelerator("nvidia-tesla-a100", "a100-40gb", "NVIDIA_A100_GPUS", "PREEMPTIBLE_NVIDIA_A100_GPUS"),
    GcpAccelerator("nvidia-a100-80gb", "a100-80gb", "NVIDIA_A100_80GB_GPUS", "PREEMPTIBLE_NVIDIA_A100_80GB_GPUS"),
    GcpAccelerator("nvidia-h100-80gb", "h100", "NVIDIA_H100_GPUS", "PREEMPTIBLE_NVIDIA_H100_GPUS"),
    GcpAccelerator("nvidia-h100-mega-80gb", "h100", "NVIDIA_H100_MEGA_GPUS", "PREEMPTIBLE_NVIDIA_H100_MEGA_GPUS"),
    GcpAccelerator("nvidia-h200-141gb", "h200", "NVIDIA_H200_GPUS", "PREEMPTIBLE_NVIDIA_H200_GPUS"),
    GcpAccelerator("nvidia-b200", "b200", "NVIDIA_B200_GPUS", "PREEMPTIBLE_NVIDIA_B200_GPUS"),
)

GCP_ACCELERATORS: dict[str, GcpAccelerator] = {a.name: a for a in _ACCELERATORS}
"""Accelerator types the platform uses, by name."""

GCP_METRICS_NOT_IN_COMPUTE_API: frozenset[str] = frozenset(
    {
        "NVIDIA_H100_GPUS",
        "NVIDIA_H100_MEGA_GPUS",
        "PREEMPTIBLE_NVIDIA_H100_MEGA_GPUS",
        "NVIDIA_H200_GPUS",
        "PREEMPTIBLE_NVIDIA_H200_GPUS",
        "NVIDIA_B200_GPUS",
        "PREEMPTIBLE_NVIDIA_B200_GPUS",
    }
)
"""Quota metrics used above that the Compute v1 ``Quota.metric`` enum does not list: ``regions.get`` does not
report them; newer GPUs are governed through the Cloud Quotas API (a per-GPU-family quota). Check them
in the console or with ``gcloud beta quotas info list``."""

GCP_COMPUTE_GPU_QUOTA_METRICS: frozenset[str] = frozenset(
    {
        "COMMITTED_NVIDIA_A100_80GB_GPUS",
        "COMMITTED_NVIDIA_A100_GPUS",
        "COMMITTED_NVIDIA_H100_GPUS",
        "COMMITTED_NVIDIA_K80_GPUS",
        "COMMITTED_NVIDIA_L4_GPUS",
        "COMMITTED_NVIDIA_P100_GPUS",
        "COMMITTED_NVIDIA_P4_GPUS",
        "COMMITTED_NVIDIA_T4_GPUS",
        "COMMITTED_NVIDIA_V100_GPUS",
        "GPUS_ALL_REGIONS",
        "NVIDIA_A100_80GB_GPUS",
        "NVIDIA_A100_GPUS",
        "NVIDIA_K80_GPUS",
        "NVIDIA_L4_GPUS",
        "NVIDIA_P100_GPUS",
        "NVIDIA_P100_VWS_GPUS",
        "NVIDIA_P4_GPUS",
        "NVIDIA_P4_VWS_GPUS",
        "NVIDIA_T4_GPUS",
        "NVIDIA_T4_VWS_GPUS",
        "NVIDIA_V100_GPUS",
        "PREEMPTIBLE_NVIDIA_A100_80GB_GPUS",
        "PREEMPTIBLE_NVIDIA_A100_GPUS",
        "PREEMPTIBLE_NVIDIA_H100_GPUS",
        "PREEMPTIBLE_NVIDIA_K80_GPUS",
        "PREEMPTIBLE_NVIDIA_L4_GPUS",
        "PREEMPTIBLE_NVIDIA_P100_GPUS",
        "PREEMPTIBLE_NVIDIA_P100_VWS_GPUS",
        "PREEMPTIBLE_NVIDIA_P4_GPUS",
        "PREEMPTIBLE_NVIDIA_P4_VWS_GPUS",
        "PREEMPTIBLE_NVIDIA_T4_GPUS",
        "PREEMPTIBLE_NVIDIA_T4_VWS_GPUS",
        "PREEMPTIBLE_NVIDIA_V100_GPUS",
    }
)
"""The GPU quota metrics of the Compute v1 ``Quota.metric`` enum (google-api-python-client 2.202.0
discovery document ``compute.v1``, revision 20261106): what ``regions.get`` reports. A catalogued
metric is either one of these or listed in ``GCP_METRICS_NOT_IN_COMPUTE_API``."""

_GB = 1024
"""MiB per Google "GB" of machine memory."""

# Local SSD that comes with the machine type (``local_ssds``), facts checked 2026-11-29:
# - Which series: Compute Engine "Add Local SSD disks" (https://cloud.google.com/compute/docs/disks/add-local-ssd):
#   "Z4D, Z4M, Z3, A5X, A4X Max, A4X, A4, A3, and A2 Ultra machine series: ... every machine type comes with Local
#   SSD storage"; first- and second-generation series (N1, A2 Standard) and G4 take Local SSD only when a count is
#   asked for at creation, and G2 is not in the list: those pools get none (it would be an extra, billed disk).
# - How many: a2-ultragpu-1g/2g/4g/8g 1/2/4/8 and a3-highgpu-8g, a3-megagpu-8g 16 (dstackai/gpuhunt
#   src/gpuhunt/providers/gcp.py ``local_ssd_sizes_gib``, citing
#   https://cloud.google.com/compute/docs/disks/local-ssd#lssd_disks_fixed); a3-highgpu-8g, a3-megagpu-8g 16 and
#   a3-ultragpu-8g 32 (GoogleCloudPlatform/cluster-toolkit modules/compute/gke-node-pool/disk_definitions.tf,
#   the ephemeral-storage Local SSD counts its GKE node pools set).
# - Not sourced: the count for a3-highgpu-1g/2g/4g and a4-highgpu-8g (``GCP_LOCAL_SSD_COUNT_UNSOURCED``).

# N1 + T4: N1 is a general-purpose series that takes attached GPUs in many shapes. The catalog models
# one fixed shape per machine type (about 4-8 vCPUs per T4, like AWS g4dn), so a machine type name
# alone says how many GPUs a node has, lookups are unambiguous and quota math per node is fixed.
# Google's limits for T4 on N1 (1 GPU: up to 48 vCPUs; 2: 48; 4: 96) admit all four shapes.
_MACHINE_TYPES: tuple[GcpMachineType, ...] = (
    GcpMachineType("n1-standard-4", "nvidia-tesla-t4", 1, 4, 15 * _GB),
    GcpMachineType("n1-standard-8", "nvidia-tesla-t4", 1, 8, 30 * _GB),
    GcpMachineType("n1-standard-16", "nvidia-tesla-t4", 2, 16, 60 * _GB),
    GcpMachineType("n1-standard-32", "nvidia-tesla-t4", 4, 32, 120 * _GB),
    GcpMachineType("g2-standard-4", "nvidia-l4", 1, 4, 16 * _GB),
    GcpMachineType("g2-standard-8", "nvidia-l4", 1, 8, 32 * _GB),
    GcpMachineType("g2-standard-12", "nvidia-l4", 1, 12, 48 * _GB),
    GcpMachineType("g2-standard-16", "nvidia-l4", 1, 16, 64 * _GB),
    GcpMachineType("g2-standard-24", "nvidia-l4", 2, 24, 96 * _GB),
    GcpMachineType("g2-standard-32", "nvidia-l4", 1, 32, 128 * _GB),
    GcpMachineType("g2-standard-48", "nvidia-l4", 4, 48, 192 * _GB),
    GcpMachineType("g2-standard-96", "nvidia-l4", 8, 96, 384 * _GB),
    GcpMachineType("a2-highgpu-1g", "nvidia-tesla-a100", 1, 12, 85 * _GB),
    GcpMachineType("a2-highgpu-2g", "nvidia-tesla-a100", 2, 24, 170 * _GB),
    GcpMachineType("a2-highgpu-4g", "nvidia-tesla-a100", 4, 48, 340 * _GB),
    GcpMachineType("a2-highgpu-8g", "nvidia-tesla-a100", 8, 96, 680 * _GB),
    GcpMachineType("a2-megagpu-16g", "nvidia-tesla-a100", 16, 96, 1360 * _GB),
    GcpMachineType("a2-ultragpu-1g", "nvidia-a100-80gb", 1, 12, 170 * _GB, local_ssds=1),
    GcpMachineType("a2-ultragpu-2g", "nvidia-a100-80gb", 2, 24, 340 * _GB, local_ssds=2),
    GcpMachineType("a2-ultragpu-4g", "nvidia-a100-80gb", 4, 48, 680 * _GB, local_ssds=4),
    GcpMachineType("a2-ultragpu-8g", "nvidia-a100-80gb", 8, 96, 1360 * _GB, local_ssds=8),
    # a3-highgpu-1g/2g/4g: reportedly offered only as Spot or flex-start, not on-demand (unverified here).
    GcpMachineType("a3-highgpu-1g", "nvidia-h100-80gb", 1, 26, 234 * _GB),
    GcpMachineType("a3-highgpu-2g", "nvidia-h100-80gb", 2, 52, 468 * _GB),
    GcpMachineType("a3-highgpu-4g", "nvidia-h100-80gb", 4, 104, 936 * _GB),
    GcpMachineType("a3-highgpu-8g", "nvidia-h100-80gb", 8, 208, 1872 * _GB, local_ssds=16),
    GcpMachineType("a3-megagpu-8g", "nvidia-h100-mega-80gb", 8, 208, 1872 * _GB, local_ssds=16),
    GcpMachineType("a3-ultragpu-8g", "nvidia-h200-141gb", 8, 224, 2952 * _GB, local_ssds=32),
    GcpMachineType("a4-highgpu-8g", "nvidia-b200", 8, 224, 3968 * _GB),
)

GCP_MACHINE_TYPES: dict[str, GcpMachineType] = {m.name: m for m in _MACHINE_TYPES}
"""Machine types with NVIDIA GPUs the platform can run, by name."""

GCP_LOCAL_SSD_SERIES: tuple[str, ...] = ("a2-ultragpu-", "a3-", "a4-")
"""Name prefixes of the catalogued series whose every machine type comes with Local SSD (see the note above)."""

GCP_LOCAL_SSD_COUNT_UNSOURCED: frozenset[str] = frozenset(
    {"a3-highgpu-1g", "a3-highgpu-2g", "a3-highgpu-4g", "a4-highgpu-8g"}
)
"""Machine types that come with Local SSD but whose disk count is not sourced: their rows say 0, so their pools
keep ephemeral storage on the boot disk. Google's "Local SSD" page (``#lssd_disks_fixed``) has the counts."""


def gcp_local_ssds(machine_type: str) -> int:
    """Local SSD disks ``machine_type`` comes with (0: none, unsourced, or a type the catalog does not know)."""
    row = GCP_MACHINE_TYPES.get(machine_type)
    return row.local_ssds if row else 0


_A4X = (
    "A4X: arm64 (NVIDIA Grace) with 4 x NVIDIA GB200; vCPUs, memory and zones not sourced, no portable GB200 "
    "row, and capacity comes only as reservations of 18-VM NVL72 blocks, not as an autoscaled pool"
)
_A4X_MAX = (
    "A4X Max: arm64 (NVIDIA Grace) bare metal with 4 x NVIDIA GB300 (B300); vCPUs, memory and zones not "
    "sourced, no portable GB300 row, reservation-only capacity in NVL72 blocks"
)
_G4_FRACTIONAL = (
    "G4 fractional RTX PRO 6000 (a 1/8, 1/4 or 1/2 vGPU needing Google's vGPU guest driver); "
    "the catalog counts whole GPUs"
)
_G4_NO_ZONES = (
    "G4 (RTX PRO 6000): shape sourced ({n} x nvidia-rtx-pro-6000, {vcpus} vCPUs, {gb} GB; quota "
    "NVIDIA_RTX_PRO_6000_GPUS / PREEMPTIBLE_NVIDIA_RTX_PRO_6000_GPUS) but not which zones offer it; "
    "a GCP row needs zones (no zones reads as not offered)"
)

GCP_EXCLUDED: dict[str, str] = {
    "a4-highgpu-8g-lowmem": "vCPUs and memory not sourced yet; use a4-highgpu-8g",
    "a3-edgegpu-8g": "A3 Edge is not in the catalog; use a3-highgpu-8g",
    "a3-edgegpu-8g-nolssd": "A3 Edge is not in the catalog; use a3-highgpu-8g",
    "a3-ultragpu-8g-nolssd": "not in the catalog yet; use a3-ultragpu-8g",
    "a4x-highgpu-4g": _A4X,
    "a4x-highgpu-4g-nolssd": _A4X,
    "a4x-maxgpu-4g-metal": _A4X_MAX,
    "a4x-maxgpu-4g-metal-nolssd": _A4X_MAX,
    **dict.fromkeys(("g4-standard-6", "g4-standard-12", "g4-standard-24"), _G4_FRACTIONAL),
    # Whole-GPU G4 shapes: GPU count and accelerator from cluster-toolkit's gpu-definition map; vCPUs and
    # memory from two third-party listings that agree (Cyclenerd/google-cloud-compute-machine-types issue 46,
    # dstack PR 3213's live offers); quota metric names from public G4 quota tooling. Zones: not found.
    **{
        f"g4-standard-{vcpus}": _G4_NO_ZONES.format(n=n, vcpus=vcpus, gb=gb)
        for vcpus, n, gb in ((48, 1, 180), (96, 2, 360), (192, 4, 720), (384, 8, 1440))
    },
}
"""GPU machine types Google offers that the catalog leaves out on purpose, with why."""

GCP_ZONE_REGIONS: tuple[str, ...] = (
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-west1",
    "us-west4",
    "europe-west1",
    "europe-west4",
    "asia-southeast1",
    "asia-northeast1",
)
"""Regions ``GCP_ACCELERATOR_ZONES`` covers. Outside them the catalog does not know GPU zones: an empty
answer from ``gcp_zones`` means "not offered" only for these regions."""

# accelerator -> region -> zones offering it; a region left out offers none of that accelerator.
# For accelerator-optimized series: the union over the series' machine types (they agree in these regions).
GCP_ACCELERATOR_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "nvidia-tesla-t4": {
        "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
        "us-east1": ("us-east1-b", "us-east1-c", "us-east1-d"),
        "us-east4": ("us-east4-a", "us-east4-b", "us-east4-c"),
        "us-west1": ("us-west1-a", "us-west1-b"),
        "us-west4": ("us-west4-a", "us-west4-b"),
        "europe-west1": ("europe-west1-b", "europe-west1-c", "europe-west1-d"),
        "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
        "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
        "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-c"),
    },
    "nvidia-l4": {
        "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
        "us-east1": ("us-east1-b", "us-east1-c", "us-east1-d"),
        "us-east4": ("us-east4-a", "us-east4-c"),
        "us-west1": ("us-west1-a", "us-west1-b", "us-west1-c"),
        "us-west4": ("us-west4-a", "us-west4-c"),
        "europe-west1": ("europe-west1-b", "europe-west1-c"),
        "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
        "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
        "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"),
    },
    "nvidia-tesla-a100": {
        "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
        "us-east1": ("us-east1-b",),
        "us-west1": ("us-west1-b",),
        "us-west4": ("us-west4-b",),
        "europe-west4": ("europe-west4-a", "europe-west4-b"),
        "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
        "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-c"),
    },
    "nvidia-a100-80gb": {
        "us-central1": ("us-central1-a", "us-central1-c"),
        "us-east4": ("us-east4-c",),
        "us-east5": ("us-east5-a", "us-east5-b"),
        "europe-west4": ("europe-west4-a",),
        "asia-southeast1": ("asia-southeast1-c",),
    },
    "nvidia-h100-80gb": {
        "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
        "us-east4": ("us-east4-a", "us-east4-b", "us-east4-c"),
        "us-east5": ("us-east5-a",),
        "us-west1": ("us-west1-a", "us-west1-b"),
        "us-west4": ("us-west4-a",),
        "europe-west1": ("europe-west1-b", "europe-west1-c"),
        "europe-west4": ("europe-west4-b", "europe-west4-c"),
        "asia-southeast1": ("asia-southeast1-b", "asia-southeast1-c"),
        "asia-northeast1": ("asia-northeast1-b",),
    },
    "nvidia-h100-mega-80gb": {
        "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
        "us-east4": ("us-east4-a", "us-east4-b", "us-east4-c"),
        "us-east5": ("us-east5-a",),
        "us-west1": ("us-west1-a", "us-west1-b"),
        "us-west4": ("us-west4-a",),
        "europe-west1": ("europe-west1-b", "europe-west1-c"),
        "europe-west4": ("europe-west4-b", "europe-west4-c"),
        "asia-southeast1": ("asia-southeast1-b", "asia-southeast1-c"),
        "asia-northeast1": ("asia-northeast1-b",),
    },
    "nvidia-h200-141gb": {
        "us-central1": ("us-central1-b",),
        "us-east4": ("us-east4-b",),
        "us-east5": ("us-east5-a",),
        "us-west1": ("us-west1-c",),
        "europe-west1": ("europe-west1-b",),
        "europe-west4": ("europe-west4-a",),
    },
    "nvidia-b200": {
        "us-central1": ("us-central1-b",),
        "us-east1": ("us-east1-b",),
        "us-east4": ("us-east4-b",),
        "europe-west4": ("europe-west4-b",),
        "asia-southeast1": ("asia-southeast1-b",),
        "asia-northeast1": ("asia-northeast1-b",),
    },
}


GCP_SYSTEM_MACHINE_TYPES: tuple[str, ...] = (
    "e2-standard-2",
    "e2-standard-4",
    "e2-standard-8",
    "n2-standard-2",
    "n2-standard-4",
    "n2-standard-8",
    "n2d-standard-4",
    "n4-standard-4",
)
"""General-purpose machine types for the GKE system node pool."""


def gcp_zones(accelerator: str, region: str) -> tuple[str, ...]:
    """Zones of ``region`` offering ``accelerator``; () when none do or the catalog does not know."""
    return GCP_ACCELERATOR_ZONES.get(accelerator, {}).get(region, ())
