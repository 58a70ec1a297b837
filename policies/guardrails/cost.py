"""gpu-cost-ceiling (advisory): what the GPU pools cost a month at maximum scale, against a budget.

Each pool's ceiling is its maximum node count x the on-demand hourly price of its machine x 730 hours:
EKS managed node groups (``scalingConfig.maxSize``), Karpenter NodePools (their cpu limit over the
type's vCPUs), GKE node pools (``autoscaling.totalMaxNodeCount``, or the per-zone maximum x zones; N1
machines add their attached GPUs). Spot pools are priced at on-demand: spot prices move by the hour,
and a ceiling must not depend on them.

Prices are the packaged defaults (a dated snapshot with its source, ``data/platform.json``), overridden
per cloud in this policy's config (``prices.aws.hourly``, ``prices.gcp.hourly``, ``prices.gcp.gpuHourly``)
for negotiated rates or other regions. ``monthlyBudget`` bounds the total and ``poolBudgets`` single
pools; without either, the policy reports nothing (the plan summary still shows the cost table).
A pool with no price is reported as not counted, never counted as free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from .catalog import aws_instance
from .graph import Graph, Node, get
from .pool_limits import gke_max_nodes, karpenter_max_nodes
from .prices import PoolCost, pool_cost
from .resource_types import EKS_NODE_GROUP, GKE_NODE_POOL, KARPENTER_NODE_POOL
from .stack_policy import Finding, stack_policy
from .workloads import count

NAME = "gpu-cost-ceiling"
POOL_LABEL = "gpu-platform.io/pool"

_price_map = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}}
CONFIG_SCHEMA: dict[str, Any] = {
    "monthlyBudget": {
        "type": "number",
        "minimum": 0,
        "description": "USD a month all GPU pools may cost at maximum scale (unset: no total budget).",
    },
    "poolBudgets": {
        "type": "object",
        "additionalProperties": {"type": "number", "minimum": 0},
        "default": {},
        "description": "USD a month per pool name at maximum scale.",
    },
    "prices": {
        "type": "object",
        "properties": {
            "aws": {"type": "object", "properties": {"hourly": _price_map}, "additionalProperties": False},
            "gcp": {
                "type": "object",
                "properties": {"hourly": _price_map, "gpuHourly": _price_map},
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
        "default": {},
        "description": "USD per hour on demand by instance or machine type (and GCP accelerator), overriding "
        "the packaged defaults.",
    },
}


def _eks(node: Node, overrides: Mapping[str, Any]) -> PoolCost | None:
    types = get(node.props, "instanceTypes") or []
    if not types or aws_instance(str(types[0])) is None:
        return None  # not a GPU type of the catalog (system nodes): outside the GPU ceiling
    pool = str(get(node.props, "labels", POOL_LABEL) or get(node.props, "nodeGroupName") or node.name)
    nodes = count(get(node.props, "scalingConfig", "maxSize"))
    return pool_cost("aws", pool, str(types[0]), nodes, overrides, node.urn)


def _karpenter(node: Node, overrides: Mapping[str, Any]) -> PoolCost | None:
    requirements = get(node.props, "spec", "template", "spec", "requirements") or []
    values = {r.get("key"): list(r.get("values") or []) for r in requirements if isinstance(r, Mapping)}
    types = values.get("node.kubernetes.io/instance-type") or []
    instance = aws_instance(str(types[0])) if types else None
    if instance is None:
        return None
    pool = str(get(node.props, "metadata", "labels", POOL_LABEL) or get(node.props, "metadata", "name") or node.name)
    nodes = karpenter_max_nodes(get(node.props, "spec", "limits"), instance.vcpus) or 0
    return pool_cost("aws", pool, instance.name, nodes, overrides, node.urn)


def _gke(node: Node, overrides: Mapping[str, Any]) -> PoolCost | None:
    machine = get(node.props, "nodeConfig", "machineType")
    accelerators = get(node.props, "nodeConfig", "guestAccelerators") or []
    if not machine or not accelerators:
        return None
    nodes = gke_max_nodes(node.props)
    pool = str(get(node.props, "nodeConfig", "labels", POOL_LABEL) or get(node.props, "name") or node.name)
    # Accelerator-optimized types (a2, a3, a4, g2) include their GPUs; N1 machines bill them apart.
    billed_apart = str(machine).startswith("n1-")
    first = accelerators[0] if isinstance(accelerators[0], Mapping) else {}
    gpus = (str(first.get("type") or ""), count(first.get("count"))) if billed_apart else ("", 0)
    return pool_cost("gcp", pool, str(machine), nodes, overrides, node.urn, gpus)


READERS: dict[str, Callable[[Node, Mapping[str, Any]], PoolCost | None]] = {
    EKS_NODE_GROUP: _eks,
    KARPENTER_NODE_POOL: _karpenter,
    GKE_NODE_POOL: _gke,
}


def pool_costs(graph: Graph, overrides: Mapping[str, Any]) -> list[PoolCost]:
    costs = [cost for node in graph.of_type(*READERS) if (cost := READERS[node.type](node, overrides))]
    return sorted(costs, key=lambda c: (c.pool, c.urn))


def _findings(costs: list[PoolCost], config: Mapping[str, Any]) -> Iterator[Finding]:
    budgets = config.get("poolBudgets") or {}
    budget = config.get("monthlyBudget")
    if budget is None and not budgets:
        return
    unpriced = [c for c in costs if c.monthly is None]
    for cost in unpriced:
        yield (
            cost.urn,
            f"{cost.describe()}: not counted against the budget; set prices.{cost.cloud}.hourly.{cost.machine} "
            f"in the {NAME} policy config",
        )
    for cost in costs:
        limit = budgets.get(cost.pool)
        if limit is not None and cost.monthly is not None and cost.monthly > float(limit):
            yield (
                cost.urn,
                f"{cost.describe()}, over its budget of ${float(limit):,.0f}/month (poolBudgets.{cost.pool}): "
                "lower maxNodes or raise the budget",
            )
    if budget is not None:
        total = sum(c.monthly or 0.0 for c in costs)
        if total > float(budget):
            pools = "; ".join(c.describe() for c in costs if c.monthly is not None)
            not_counted = f" ({len(unpriced)} unpriced pool(s) not counted)" if unpriced else ""
            yield (
                "",
                f"GPU pools at maximum scale cost ${total:,.0f}/month{not_counted}, over the monthly budget of "
                f"${float(budget):,.0f} (monthlyBudget): {pools}; lower maxNodes or raise the budget",
            )


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    return list(_findings(pool_costs(graph, config.get("prices") or {}), config))


policy = stack_policy(
    NAME,
    "GPU pools at maximum scale stay within a monthly budget (on-demand prices: packaged defaults with their date "
    "and source, overridable in the policy config).",
    check,
    CONFIG_SCHEMA,
    EnforcementLevel.ADVISORY,
)
