"""The cloud-neutral view of the catalog: one ``Offering`` per AWS instance type or GCP machine type.

``resolve`` turns a portable request ("l4 x1 on aws") into the smallest offering that
satisfies it; ``lookup`` checks an explicit instance or machine type. Both raise
``CatalogError`` with a message that says what does exist. Pure data, no Pulumi.
"""

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from components.catalog.arch import Arch
from components.catalog.aws import AWS_EXCLUDED, AWS_INSTANCE_TYPES
from components.catalog.gcp import GCP_ACCELERATORS, GCP_EXCLUDED, GCP_MACHINE_TYPES
from components.catalog.gpus import GPU_NAMES, GPUS

CLOUDS: tuple[str, ...] = ("aws", "gcp")
"""Clouds the catalog describes."""

_TYPE_WORD = {"aws": "instance type", "gcp": "machine type"}
_SHOWN_PER_COUNT = 3
"""How many type names an error message lists per GPU count before ``...``."""


class CatalogError(ValueError):
    """A request the catalog cannot satisfy; the message says what exists instead."""


@dataclass(frozen=True)
class Offering:
    """One way to get GPUs on a cloud: an AWS instance type or a GCP machine type (+ accelerator)."""

    cloud: str
    """``aws`` or ``gcp``."""
    gpu: str
    """Portable GPU name (a key of ``GPUS``)."""
    instance_type: str
    """AWS instance type or GCP machine type."""
    gpus_per_node: int
    vcpus: int
    memory_gib: float
    """Node memory in GiB."""
    gpu_memory_gib: float
    """GPU memory of the whole node in GiB (AWS: as AWS reports it; GCP: the portable table's nvidia-smi figure)."""
    quota: str
    """Quota family for on-demand capacity: an EC2 quota code (aws) or a Compute quota metric (gcp)."""
    spot_quota: str
    """Quota family for spot capacity."""
    quota_unit: str
    """What the quota counts: ``vCPUs`` (aws) or ``GPUs`` (gcp)."""
    quota_per_node: int
    """What one node draws from its quota family, in ``quota_unit``."""
    max_efa_interfaces: int
    """Most EFA interfaces (aws); 0 when unsupported and always 0 on gcp."""
    accelerator: str
    """GCP accelerator type (``nvidia-l4`` ...); empty on aws."""
    arch: Arch
    """CPU architecture of the node, ``x86_64`` or ``arm64``: picks the EKS AMI type (NVIDIA x86_64 or ARM_64)
    and the ``kubernetes.io/arch`` requirement (``KUBERNETES_ARCH``)."""


def _aws_offerings() -> Iterable[Offering]:
    for t in AWS_INSTANCE_TYPES.values():
        yield Offering(
            cloud="aws",
            gpu=t.gpu,
            instance_type=t.name,
            gpus_per_node=t.gpus,
            vcpus=t.vcpus,
            memory_gib=t.memory_mib / 1024,
            gpu_memory_gib=t.gpus * t.gpu_memory_mib / 1024,
            quota=t.quota_on_demand,
            spot_quota=t.quota_spot,
            quota_unit="vCPUs",
            quota_per_node=t.vcpus,
            max_efa_interfaces=t.max_efa_interfaces,
            accelerator="",
            arch=t.arch,
        )


def _gcp_offerings() -> Iterable[Offering]:
    for m in GCP_MACHINE_TYPES.values():
        acc = GCP_ACCELERATORS[m.accelerator]
        yield Offering(
            cloud="gcp",
            gpu=acc.gpu,
            instance_type=m.name,
            gpus_per_node=m.gpus,
            vcpus=m.vcpus,
            memory_gib=m.memory_mib / 1024,
            gpu_memory_gib=m.gpus * GPUS[acc.gpu].memory_mib / 1024,
            quota=acc.quota_metric,
            spot_quota=acc.spot_quota_metric,
            quota_unit="GPUs",
            quota_per_node=m.gpus,
            max_efa_interfaces=0,
            accelerator=acc.name,
            arch=m.arch,
        )


def _order(o: Offering) -> tuple[str, str, int, int, str]:
    return (o.cloud, o.gpu, o.gpus_per_node, o.vcpus, o.instance_type)


_ALL: tuple[Offering, ...] = tuple(sorted((*_aws_offerings(), *_gcp_offerings()), key=_order))
_BY_TYPE: dict[tuple[str, str], Offering] = {(o.cloud, o.instance_type): o for o in _ALL}


def _check_cloud(cloud: str) -> None:
    if cloud not in CLOUDS:
        raise CatalogError(f"unknown cloud {cloud!r}; allowed: {', '.join(CLOUDS)}")


def _check_gpu(gpu: str) -> None:
    if gpu not in GPUS:
        raise CatalogError(f"unknown GPU {gpu!r}; allowed: {', '.join(GPU_NAMES)}")


def cloud_gpus(cloud: str) -> tuple[str, ...]:
    """Portable GPU names ``cloud`` offers, in the GPU table's order."""
    _check_cloud(cloud)
    offered = {o.gpu for o in _ALL if o.cloud == cloud}
    return tuple(g for g in GPU_NAMES if g in offered)


def offerings(cloud: str | None = None, gpu: str | None = None, min_gpus: int | None = None) -> list[Offering]:
    """Offerings matching every given filter, sorted by (cloud, gpu, gpus_per_node, vcpus, instance type)."""
    if cloud is not None:
        _check_cloud(cloud)
    if gpu is not None:
        _check_gpu(gpu)
    return [
        o
        for o in _ALL
        if (cloud is None or o.cloud == cloud)
        and (gpu is None or o.gpu == gpu)
        and (min_gpus is None or o.gpus_per_node >= min_gpus)
    ]


def _shapes(candidates: list[Offering]) -> str:
    """``1 (g6.xlarge, g6.2xlarge, g6.4xlarge, ...), 4 (g6.12xlarge, g6.24xlarge)`` for an error message."""
    by_count: dict[int, list[str]] = {}
    for o in sorted(candidates, key=lambda o: (o.gpus_per_node, o.vcpus, o.instance_type)):
        by_count.setdefault(o.gpus_per_node, []).append(o.instance_type)
    parts = []
    for count, names in by_count.items():
        shown = names[:_SHOWN_PER_COUNT] + (["..."] if len(names) > _SHOWN_PER_COUNT else [])
        parts.append(f"{count} ({', '.join(shown)})")
    return ", ".join(parts)


def resolve(cloud: str, gpu: str, gpus_per_node: int) -> Offering:
    """The smallest offering (fewest vCPUs, then name) with exactly ``gpus_per_node`` x ``gpu`` on ``cloud``."""
    _check_cloud(cloud)
    _check_gpu(gpu)
    candidates = offerings(cloud, gpu)
    if not candidates:
        raise CatalogError(f"no {cloud} offering for {gpu}; {cloud} offers: {', '.join(cloud_gpus(cloud))}")
    matches = [o for o in candidates if o.gpus_per_node == gpus_per_node]
    if not matches:
        raise CatalogError(
            f"no {cloud} offering with {gpus_per_node} x {gpu}; {gpu} on {cloud} comes as {_shapes(candidates)}"
        )
    return min(matches, key=lambda o: (o.vcpus, o.instance_type))


def lookup(cloud: str, instance_type: str) -> Offering:
    """The offering for an explicit AWS instance type or GCP machine type."""
    _check_cloud(cloud)
    found = _BY_TYPE.get((cloud, instance_type))
    if found is not None:
        return found
    word = _TYPE_WORD[cloud]
    excluded = (AWS_EXCLUDED if cloud == "aws" else GCP_EXCLUDED).get(instance_type)
    if excluded is not None:
        raise CatalogError(f"{cloud} {word} {instance_type!r} is not in the GPU catalog: {excluded}")
    known = [o.instance_type for o in _ALL if o.cloud == cloud]
    close = difflib.get_close_matches(instance_type, known, n=5, cutoff=0.6)
    hint = (
        f"close matches: {', '.join(close)}" if close else f"known {word}s: `python -m infra.catalog --cloud {cloud}`"
    )
    raise CatalogError(f"unknown {cloud} GPU {word} {instance_type!r}; {hint}")


def quota_family(offering: Offering, spot: bool) -> str:
    """The quota an offering draws on: its spot family when ``spot``, else its on-demand family."""
    return offering.spot_quota if spot else offering.quota
