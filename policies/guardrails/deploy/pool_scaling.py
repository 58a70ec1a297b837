"""gpu-pools-scale: every GPU pool that can grow has something that grows it.

EKS managed node groups scale only when Cluster Autoscaler runs (Karpenter does
not touch them), and from zero nodes only when their node-template tags say
which extended resources a node would bring. Karpenter NodePools need the
Karpenter controller; GKE node pools need their autoscaling block. The
autoscaler's minor version must match the cluster's (it simulates that
scheduler).
"""

from collections.abc import Mapping
from typing import Any

from ..catalog import chart_for
from ..graph import Graph, get, short
from ..resource_types import KARPENTER_NODE_POOL
from ..stack_policy import Finding, stack_policy
from .common import EKS_CLUSTER, EKS_NODE_GROUP, GKE_NODE_POOL, is_system_pool, releases

NAME = "gpu-pools-scale"
TEMPLATE_RESOURCES = "k8s.io/cluster-autoscaler/node-template/resources/"


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    installed = releases(graph)
    autoscalers = [r for r in installed if r.pin == chart_for("clusterAutoscaler")]
    findings: list[Finding] = []
    for group in graph.of_type(EKS_NODE_GROUP):
        if is_system_pool(group):
            continue
        low, high = (
            _int(get(group.props, "scalingConfig", "minSize")),
            _int(get(group.props, "scalingConfig", "maxSize")),
        )
        name = get(group.props, "nodeGroupName") or short(group.urn)
        if high > low and not autoscalers:
            findings.append(
                (
                    group.urn,
                    f"node group {name} may grow from {low} to {high} nodes but nothing scales managed node groups: "
                    "install Cluster Autoscaler (chart cluster-autoscaler) in the stack",
                )
            )
        tags = get(group.props, "tags") or {}
        if low == 0 and high > 0 and not any(str(k).startswith(TEMPLATE_RESOURCES + "nvidia.com/") for k in tags):
            findings.append(
                (
                    group.urn,
                    f"node group {name} starts at zero nodes, but no {TEMPLATE_RESOURCES}nvidia.com/... tag tells "
                    "Cluster Autoscaler that its nodes bring GPUs, so no GPU pod ever scales it up; tag the node "
                    "group with the GPUs (after sharing) one node advertises",
                )
            )
    version = next((get(c.props, "version") for c in graph.of_type(EKS_CLUSTER)), None)
    for release in autoscalers:
        tag = str(get(release.node.props, "values", "image", "tag") or "")
        if isinstance(version, str) and tag and not tag.removeprefix("v").startswith(f"{version}."):
            findings.append(
                (
                    release.node.urn,
                    f"Cluster Autoscaler image {tag} does not match the cluster's Kubernetes {version}: its minor "
                    f"must equal the cluster's; set image.tag to a v{version}.x release",
                )
            )
    if graph.of_type(KARPENTER_NODE_POOL) and not any(r.pin == chart_for("karpenter") for r in installed):
        for pool in graph.of_type(KARPENTER_NODE_POOL):
            findings.append((pool.urn, f"NodePool {short(pool.urn)} needs the Karpenter controller in the stack"))
    for pool in graph.of_type(GKE_NODE_POOL):
        if is_system_pool(pool) or get(pool.props, "autoscaling") is not None:
            continue
        if _int(get(pool.props, "nodeCount")) == 0:
            findings.append(
                (
                    pool.urn,
                    f"GKE node pool {get(pool.props, 'name') or short(pool.urn)} has no nodes and no autoscaling; "
                    "set autoscaling (total_min_node_count/total_max_node_count)",
                )
            )
    return findings


policy = stack_policy(NAME, "GPU pools that can grow have an autoscaler that can grow them, from zero too.", check)
