"""The GPU catalog: one place for GPU facts, pure data, no Pulumi.

``gpus``: portable GPU names (``l4``, ``h100`` ...). ``aws`` and ``gcp``: the instance and
machine types that carry them, EKS AMI types, quota codes and metrics, zones.
``offerings``: the cloud-neutral view (``resolve("aws", "l4", 1)`` -> ``g6.xlarge``).
Sources and how to refresh them: ``docs/catalog.md``.
"""

from components.catalog.aws import (
    AWS_EXCLUDED,
    AWS_INSTANCE_TYPES,
    AwsInstanceType,
    aws_regions,
    aws_zones,
)
from components.catalog.gcp import (
    GCP_ACCELERATOR_ZONES,
    GCP_ACCELERATORS,
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

__all__ = [
    "AWS_EXCLUDED",
    "AWS_INSTANCE_TYPES",
    "CLOUDS",
    "GCP_ACCELERATORS",
    "GCP_ACCELERATOR_ZONES",
    "GCP_EXCLUDED",
    "GCP_MACHINE_TYPES",
    "GCP_METRICS_NOT_IN_COMPUTE_API",
    "GCP_ZONE_REGIONS",
    "GPUS",
    "GPU_NAMES",
    "AwsInstanceType",
    "CatalogError",
    "GcpAccelerator",
    "GcpMachineType",
    "Gpu",
    "Offering",
    "aws_regions",
    "aws_zones",
    "cloud_gpus",
    "gcp_zones",
    "lookup",
    "offerings",
    "quota_family",
    "resolve",
]
