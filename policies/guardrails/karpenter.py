"""How many nodes a Karpenter NodePool may grow to: one reading for the quota, cost and capacity policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .workloads import quantity


def max_nodes(limits: Any, vcpus_per_node: int | None) -> int | None:
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
