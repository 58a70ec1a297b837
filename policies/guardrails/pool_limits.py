"""How many nodes a pool may grow to, one reading for the quota, cost and capacity policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .workloads import count, quantity


def karpenter_max_nodes(limits: Any, vcpus_per_node: int | None) -> int | None:
    """The smaller of ``limits.nodes`` and ``limits.cpu`` over the instance type's vCPUs; ``None`` with neither
    (Karpenter then launches without bound)."""
    if not isinstance(limits, Mapping):
        return None
    bounds = []
    nodes = quantity(limits.get("nodes"))
    if nodes is not None:
        bounds.append(int(nodes))
    cpu = quantity(limits.get("cpu"))
    if cpu is not None and vcpus_per_node:
        bounds.append(int(cpu) // vcpus_per_node)
    return min(bounds) if bounds else None


def gke_max_nodes(props: Mapping[str, Any]) -> int:
    """A GKE node pool's maximum: ``autoscaling.totalMaxNodeCount``, or the per-zone maximum x its zones, or a fixed
    ``nodeCount``; 0 when none is stated."""
    autoscaling = props.get("autoscaling") or {}
    zones = max(1, len(props.get("nodeLocations") or []))
    return (
        count(autoscaling.get("totalMaxNodeCount"))
        or count(autoscaling.get("maxNodeCount")) * zones
        or count(props.get("nodeCount"))
    )
