"""The GPU catalog: one place for GPU facts, pure data, no Pulumi.

``gpus``: portable GPU names (``l4``, ``h100`` ...). ``aws`` and ``gcp``: the instance and
machine types that carry them, CPU architecture, EKS AMI types, quota codes and metrics, zones
(AWS by zone ID, from the dated data file ``data/aws_zones.json``; ``CATALOG_DATE`` is its date).
``offerings``: the cloud-neutral view (``resolve("aws", "l4", 1)`` -> ``g6.xlarge``).
Sources and how to refresh them: ``docs/catalog.md``.
"""

from components.catalog.arch import ARCHES, KUBERNETES_ARCH, Arch
from components.catalog.aws import (
    AWS_EXCLUDED,
    AWS_INSTANCE_TYPES,
    EC2_VCPU_QUOTAS,
    EKS_UNSUPPORTED_ZONE_IDS,
    AwsInstanceType,
    aws_region_zone_ids,
    aws_regions,
    aws_zone_ids,
)
from components.catalog.data import load as _load
from components.catalog.gcp import (
    GCP_ACCELERATOR_ZONES,
    GCP_ACCELERATORS,
    GCP_COMPUTE_GPU_QUOTA_METRICS,
    GCP_EXCLUDED,
    GCP_MACHINE_TYPES,
    GCP_METRICS_NOT_IN_COMPUTE_API,
    GCP_ZONE_REGIONS,
    GcpAccelerator,
    GcpMachineType,
    gcp_zones,
)
from components.catalog.gpus import GPU_NAMES, GPUS, Gpu
from components.catalog.offerings import (
    CLOUDS,
    CatalogError,
    Offering,
    cloud_gpus,
    lookup,
    offerings,
    quota_family,
    resolve,
)

CATALOG_DATE: str
"""ISO date (YYYY-MM-DD) of the catalog's generated data (``data/aws_zones.json``'s ``generated``).
Read from the data file on first access, then cached."""


def __getattr__(name: str) -> str:
    # CATALOG_DATE is declared above but bound lazily, so importing the catalog does not read the data file.
    if name == "CATALOG_DATE":
        return _load()["generated"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ARCHES",
    "AWS_EXCLUDED",
    "AWS_INSTANCE_TYPES",
    "CATALOG_DATE",
    "CLOUDS",
    "EC2_VCPU_QUOTAS",
    "EKS_UNSUPPORTED_ZONE_IDS",
    "GCP_ACCELERATORS",
    "GCP_ACCELERATOR_ZONES",
    "GCP_COMPUTE_GPU_QUOTA_METRICS",
    "GCP_EXCLUDED",
    "GCP_MACHINE_TYPES",
    "GCP_METRICS_NOT_IN_COMPUTE_API",
    "GCP_ZONE_REGIONS",
    "GPUS",
    "GPU_NAMES",
    "KUBERNETES_ARCH",
    "Arch",
    "AwsInstanceType",
    "CatalogError",
    "GcpAccelerator",
    "GcpMachineType",
    "Gpu",
    "Offering",
    "aws_region_zone_ids",
    "aws_regions",
    "aws_zone_ids",
    "cloud_gpus",
    "gcp_zones",
    "lookup",
    "offerings",
    "quota_family",
    "resolve",
]
