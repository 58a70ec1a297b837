"""What every cloud backend is: its capabilities, its config rules, its offerings, its builder.

A backend is stateless (SkyPilot's ``sky/clouds/cloud.py`` shape): class attributes
declare what the cloud can do, methods answer for one validated config. What a
cloud lacks is a missing ``Capability``, never a missing branch: the config
checks gate fields by capability, so a field of another cloud is refused with
the clouds that do take it, and a new backend cannot fall into another's path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from components.catalog import Offering
from stacks.model import NAMESPACE, Cloud, GpuStack, NodePool, PlatformConfig

Issue = tuple[str, str]
"""(full key path, message)."""


def key(path: str) -> str:
    """The full key path of a config key, e.g. ``gpu-platform:nodePools[0].gpu``."""
    return f"{NAMESPACE}:{path}"


class Capability(StrEnum):
    KUBECONFIG = "kubeconfig"
    """Reaches a cluster that exists already, through a kubeconfig."""
    EXISTING_NODES = "existing-nodes"
    """Pools are nodes already in the cluster, listed by name."""
    SIMULATED_GPUS = "simulated-gpus"
    """Pools of simulated GPUs (fake-gpu-operator) for clusters without any."""
    MANAGED_CLUSTER = "managed-cluster"
    """Creates the cluster, its network and autoscaled GPU pools in a region."""
    INSTANCE_TYPES = "instance-types"
    """Pools may name an EC2 instance type (``instanceType``)."""
    MACHINE_TYPES = "machine-types"
    """Pools may name a Compute Engine machine type (``machineType``)."""
    NODE_IMAGES = "node-images"
    """Pools choose their node image (``amiType``)."""
    EFA = "efa"
    """Pools can attach Elastic Fabric Adapters."""
    KARPENTER = "karpenter"
    """Pools can be provisioned by Karpenter."""
    IAM_ADMINS = "iam-admins"
    """Cluster admins are IAM principals (``cluster.admins``)."""
    NAT_CHOICE = "nat-choice"
    """One NAT gateway or one per zone (``cluster.singleNatGateway``)."""
    RELEASE_CHANNELS = "release-channels"
    """The cluster follows a release channel (``cluster.releaseChannel``)."""
    DRIVER_VERSIONS = "driver-versions"
    """The cloud installs the GPU driver, in a chosen version (``driverVersion``)."""
    PROJECTS = "projects"
    """Resources live in a named project (``project``)."""
    GPU_SOFTWARE_CHOICE = "gpu-software-choice"
    """The platform installs the GPU software (device plugin or GPU Operator); without it the cloud runs its own."""
    OBJECT_STORAGE = "object-storage"
    """Checkpoints and models go to a bucket, reached through the cloud's workload identity."""
    NODE_REPAIR = "node-repair"
    """The cloud monitors node health (GPUs included) and can replace unhealthy nodes (``nodeHealth``)."""
    IN_CLUSTER_STORAGE = "in-cluster-storage"
    """Checkpoints and models go to a volume (PersistentVolumeClaim) per team."""
    EXTERNAL_ENDPOINTS = "external-endpoints"
    """Endpoints reachable from outside the cluster through the cloud's load balancer (``serving.external``)."""


# Config key -> the capability that gives it a meaning. Keys not listed mean the same everywhere.
FIELD_CAPABILITIES: dict[str, dict[str, Capability]] = {
    "nodeHealth": {"gpuHealth": Capability.NODE_REPAIR},
    "serving": {"external": Capability.EXTERNAL_ENDPOINTS},
    "team": {"deployers": Capability.MANAGED_CLUSTER},
    "storage": {
        "bucket": Capability.OBJECT_STORAGE,
        "noncurrentVersionDays": Capability.OBJECT_STORAGE,
        "sizeGiB": Capability.IN_CLUSTER_STORAGE,
        "storageClass": Capability.IN_CLUSTER_STORAGE,
    },
    "root": {
        "region": Capability.MANAGED_CLUSTER,
        "zones": Capability.MANAGED_CLUSTER,
        "project": Capability.PROJECTS,
    },
    "cluster": {
        "context": Capability.KUBECONFIG,
        "kubeconfigPath": Capability.KUBECONFIG,
        "kubeconfig": Capability.KUBECONFIG,
        "kubernetesVersion": Capability.MANAGED_CLUSTER,
        "networkCidr": Capability.MANAGED_CLUSTER,
        "publicEndpointCidrs": Capability.MANAGED_CLUSTER,
        "privateEndpointOnly": Capability.MANAGED_CLUSTER,
        "systemPool": Capability.MANAGED_CLUSTER,
        "releaseChannel": Capability.RELEASE_CHANNELS,
        "admins": Capability.IAM_ADMINS,
        "singleNatGateway": Capability.NAT_CHOICE,
        "karpenter": Capability.KARPENTER,
    },
    "pool": {
        "warm": Capability.MANAGED_CLUSTER,
        "instanceType": Capability.INSTANCE_TYPES,
        "machineType": Capability.MACHINE_TYPES,
        "amiType": Capability.NODE_IMAGES,
        "efa": Capability.EFA,
        "provisioner": Capability.KARPENTER,
        "driverVersion": Capability.DRIVER_VERSIONS,
        "nodes": Capability.EXISTING_NODES,
        "taintNodes": Capability.EXISTING_NODES,
        "cpusPerNode": Capability.EXISTING_NODES,
        "memoryGiBPerNode": Capability.EXISTING_NODES,
        "simulated": Capability.SIMULATED_GPUS,
        "capacity": Capability.MANAGED_CLUSTER,
        "diskSizeGiB": Capability.MANAGED_CLUSTER,
        "minNodes": Capability.MANAGED_CLUSTER,
        "zones": Capability.MANAGED_CLUSTER,
    },
    "systemPool": {
        "instanceType": Capability.INSTANCE_TYPES,
        "machineType": Capability.MACHINE_TYPES,
    },
    "gpuSoftware": {
        "stack": Capability.GPU_SOFTWARE_CHOICE,
        "gpuOperator": Capability.GPU_SOFTWARE_CHOICE,
        "devicePlugin": Capability.GPU_SOFTWARE_CHOICE,
        "fakeGpus": Capability.SIMULATED_GPUS,
    },
}


@dataclass(frozen=True)
class SoftwareDefaults:
    """How the GPU software must be set up on this cloud's nodes (where the platform installs it)."""

    mig_reboot: bool = False
    """The MIG manager reboots a node to change MIG mode: cloud VMs cannot reset the GPU otherwise."""
    mofed: bool | None = None
    """The NVIDIA device plugin's MOFED support (``None``: the chart's default); off where it would clash
    with another RDMA device plugin (AWS EFA)."""


class CloudBackend(ABC):
    """One cloud: what it can do, what its config must satisfy, what its pools resolve to."""

    cloud: ClassVar[Cloud]
    capabilities: ClassVar[frozenset[Capability]]
    builder: ClassVar[str]
    """Module (under ``infra``) whose ``build(config, pools)`` registers the cluster and its pools.
    Imported only for a stack on this cloud, so a stack never loads another cloud's SDK."""

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @abstractmethod
    def check(self, config: PlatformConfig) -> Iterable[Issue]:
        """This cloud's own rules (location, offerings, zones, cloud-only combinations)."""

    @abstractmethod
    def offering(self, pool: NodePool) -> Offering | None:
        """The catalog offering a pool asks for (``None`` where pools are nodes that exist);
        raises ``CatalogError`` saying what exists instead."""

    @abstractmethod
    def pool_zones(self, config: PlatformConfig, pool: NodePool, offering: Offering) -> tuple[str, ...]:
        """Zones (AWS: zone IDs) where the pool's nodes may run, sorted."""

    def gpu_stack(self, config: PlatformConfig) -> str:
        """``device-plugin``, ``gpu-operator`` or ``none`` (the cloud runs its own GPU software)."""
        software = config.gpu_software
        if not self.has(Capability.GPU_SOFTWARE_CHOICE):
            return "none"
        if software.stack is GpuStack.DEVICE_PLUGIN and not software.device_plugin.enabled:
            return "none"
        return software.stack.value

    def software_defaults(self, config: PlatformConfig) -> SoftwareDefaults:
        return SoftwareDefaults()

    @abstractmethod
    def access(self, config: PlatformConfig) -> dict[str, str]:
        """Where ``pulumi up`` must run (``endpoint``) and as whom (``deployer``), in plain words for the plan."""

    def pool_gpu(self, pool: NodePool) -> tuple[str, int] | None:
        """(portable GPU, GPUs per node), or ``None`` when the pool does not resolve (another rule says why)."""
        try:
            offering = self.offering(pool)
        except ValueError:
            return None
        if offering is None:
            return (pool.gpu, pool.gpus_per_node) if pool.gpu else None
        return offering.gpu, offering.gpus_per_node
