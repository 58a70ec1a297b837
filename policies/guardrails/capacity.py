"""What a GPU pool can hold, read from the resource graph alone. Pure functions.

A pool is the nodes that carry ``gpu-platform.io/pool=<name>``. What one node of it advertises and how many
nodes it may grow to come from the cloud resource that makes it, so the capacity policies hold for any
program that builds pools with the platform's components, with or without its config model:

- an EKS managed node group: its Cluster Autoscaler node-template tags (what a node advertises after
  sharing, MIG and EFA) and ``scalingConfig.maxSize``;
- a GKE node pool: its guest accelerators (times the clients each GPU is shared by) and
  ``autoscaling.totalMaxNodeCount``;
- a Karpenter NodePool: its ``gpu-platform.io/node-resources`` annotation (what the platform's component
  writes: a NodePool itself does not say what its nodes advertise) and its limits (``karpenter.max_nodes``).

Pools whose capacity the graph does not state (nodes of an existing cluster, GKE MIG partitions, NodePools
without the annotation or a node limit) are left to the config checks: nothing here guesses.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import aws_instance
from .graph import Graph, Node, get
from .pool_limits import gke_max_nodes, karpenter_max_nodes
from .resource_types import EKS_NODE_GROUP, GKE_NODE_POOL, KARPENTER_NODE_POOL

POOL_LABEL = "gpu-platform.io/pool"
NODE_RESOURCES_ANNOTATION = "gpu-platform.io/node-resources"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
GPU = "nvidia.com/gpu"
AUTOSCALER_TAG = "k8s.io/cluster-autoscaler/node-template/resources/"


def is_gpu_resource(resource: str) -> bool:
    """NVIDIA's extended resources: whole GPUs, shared GPUs, MIG slices."""
    return resource.startswith("nvidia.com/")


def number(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class PoolCapacity:
    pool: str
    urn: str
    per_node: Mapping[str, int]
    """GPU resources one node advertises."""
    max_nodes: int

    def total(self, resource: str) -> int:
        return self.per_node.get(resource, 0) * self.max_nodes

    def describe(self, resource: str) -> str:
        return f"{self.max_nodes} nodes x {self.per_node.get(resource, 0)} {resource}"


def _eks(node: Node) -> PoolCapacity | None:
    pool = get(node.props, "labels", POOL_LABEL)
    tags = get(node.props, "tags") or {}
    per_node = {
        key.removeprefix(AUTOSCALER_TAG): amount
        for key, value in tags.items()
        if key.startswith(AUTOSCALER_TAG)
        and is_gpu_resource(key.removeprefix(AUTOSCALER_TAG))
        and (amount := number(value)) is not None
    }
    most = number(get(node.props, "scalingConfig", "maxSize"))
    if not isinstance(pool, str) or not per_node or most is None:
        return None
    return PoolCapacity(pool, node.urn, per_node, most)


def _gke(node: Node) -> PoolCapacity | None:
    pool = get(node.props, "nodeConfig", "labels", POOL_LABEL)
    accelerators = get(node.props, "nodeConfig", "guestAccelerators") or []
    most = gke_max_nodes(node.props) or None
    if not isinstance(pool, str) or len(accelerators) != 1 or most is None:
        return None
    (accelerator,) = accelerators
    if get(accelerator, "gpuPartitionSize"):
        return None  # MIG: GKE advertises one nvidia.com/gpu per partition; the partition count is not stated here
    gpus = number(get(accelerator, "count"))
    clients = number(get(accelerator, "gpuSharingConfig", "maxSharedClientsPerGpu")) or 1
    if gpus is None:
        return None
    return PoolCapacity(pool, node.urn, {GPU: gpus * clients}, most)


def _karpenter(node: Node) -> PoolCapacity | None:
    pool = get(node.props, "metadata", "labels", POOL_LABEL)
    requirements = get(node.props, "spec", "template", "spec", "requirements") or []
    types = [v for r in requirements if get(r, "key") == INSTANCE_TYPE for v in get(r, "values") or []]
    instance = aws_instance(str(types[0])) if types else None
    most = karpenter_max_nodes(get(node.props, "spec", "limits"), instance.vcpus if instance else None)
    try:
        advertised = json.loads(str(get(node.props, "metadata", "annotations", NODE_RESOURCES_ANNOTATION) or ""))
    except ValueError:
        return None
    if not isinstance(pool, str) or most is None or not isinstance(advertised, dict):
        return None
    per_node = {
        str(k): amount for k, v in advertised.items() if is_gpu_resource(str(k)) and (amount := number(v)) is not None
    }
    return PoolCapacity(pool, node.urn, per_node, most) if per_node else None


POOL_SOURCES: Mapping[str, Callable[[Node], PoolCapacity | None]] = {
    EKS_NODE_GROUP: _eks,
    GKE_NODE_POOL: _gke,
    KARPENTER_NODE_POOL: _karpenter,
}
"""Cloud resource type -> what a pool made by it holds (None where the resource does not say)."""


def pool_capacities(graph: Graph) -> dict[str, PoolCapacity]:
    """Pool name -> its capacity, for every pool whose capacity the graph states."""
    found: dict[str, PoolCapacity] = {}
    for node in graph.of_type(*POOL_SOURCES):
        capacity = POOL_SOURCES[node.type](node)
        if capacity is not None:
            found[capacity.pool] = capacity
    return found
