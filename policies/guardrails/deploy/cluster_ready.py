"""kubernetes-after-cluster-ready: every Kubernetes object waits for a usable cluster.

A cluster the stack creates is usable when its system nodes run (controllers
and webhooks need somewhere to schedule; an atomic Helm release rolls back when
its pods stay Pending) and the deployer's access is in place (EKS access
policy associations of the admins; GKE's firewall rule to the webhooks).
Waiting only for the control plane races all of these.
"""

from collections.abc import Mapping
from typing import Any

from ..graph import Graph, Node, get, short
from ..stack_policy import Finding, stack_policy
from .common import EKS_CLUSTER, EKS_NODE_GROUP, GKE_CLUSTER, GKE_NODE_POOL, is_system_pool, kind_of

NAME = "kubernetes-after-cluster-ready"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
FIREWALL = "gcp:compute/firewall:Firewall"


def readiness(graph: Graph) -> list[Node]:
    """What makes the stack's own cluster usable (nothing when it reaches an existing cluster)."""
    needed: list[Node] = []
    if graph.of_type(EKS_CLUSTER):
        needed += [n for n in graph.of_type(EKS_NODE_GROUP) if is_system_pool(n)]
        needed += graph.of_type(ACCESS_POLICY)
    for cluster in graph.of_type(GKE_CLUSTER):
        needed += [n for n in graph.of_type(GKE_NODE_POOL) if is_system_pool(n)]
        # The rules from the control plane (to the webhooks): other rules (load balancers') gate no API call.
        source = get(cluster.props, "privateClusterConfig", "masterIpv4CidrBlock")
        needed += [f for f in graph.of_type(FIREWALL) if source in (get(f.props, "sourceRanges") or [])]
    return needed


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    needed = readiness(graph)
    if not needed:
        return []
    findings: list[Finding] = []
    if graph.of_type(EKS_CLUSTER, GKE_CLUSTER) and not any(is_system_pool(n) for n in needed):
        findings.append(("", "the cluster has no system node pool (label gpu-platform.io/role=system) for controllers"))
    for node in graph.nodes:
        if not node.is_kubernetes_object():
            continue
        missing = [n for n in needed if n.urn not in graph.waits_for(node.urn)]
        if missing:
            names = ", ".join(short(n.urn) for n in missing)
            findings.append(
                (
                    node.urn,
                    f"{kind_of(node)} {short(node.urn)} would be applied before the cluster is usable: it does not "
                    f"wait for {names}; make the Kubernetes provider depend on them",
                )
            )
    return findings


policy = stack_policy(NAME, "Kubernetes objects wait for the cluster's system nodes and the deployer's access.", check)
