"""eks-control-plane-zones: the EKS control plane's subnets lie in zones EKS accepts, at least two of them.

EKS refuses control-plane subnets in some zone IDs (``use1-az3``, ``usw1-az2``,
``cac1-az3``: UnsupportedAvailabilityZoneException) and needs two zones. Zone
names map to different zones per account, so subnets are judged by zone ID.
"""

from collections.abc import Mapping
from typing import Any

from ..catalog import eks_unsupported_zone_ids
from ..graph import Graph, get, short
from ..stack_policy import Finding, stack_policy
from .common import EKS_CLUSTER

NAME = "eks-control-plane-zones"
SUBNET = "aws:ec2/subnet:Subnet"


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for cluster in graph.of_type(EKS_CLUSTER):
        subnets = [
            graph.by_urn[u]
            for u in cluster.property_dependencies.get("vpcConfig", ())
            if u in graph.by_urn and graph.by_urn[u].type == SUBNET
        ]
        zones: set[str] = set()
        for subnet in subnets:
            zone = get(subnet.props, "availabilityZoneId")
            if not isinstance(zone, str):
                findings.append(
                    (
                        subnet.urn,
                        f"subnet {short(subnet.urn)} of the EKS control plane is placed by zone name, which maps to "
                        "a different zone in every account; place it by availabilityZoneId",
                    )
                )
                continue
            zones.add(zone)
            if zone in eks_unsupported_zone_ids():
                findings.append(
                    (
                        subnet.urn,
                        f"subnet {short(subnet.urn)} is in {zone}, where EKS refuses control-plane subnets "
                        "(UnsupportedAvailabilityZoneException); keep it out of the cluster's vpcConfig",
                    )
                )
        if subnets and len(zones - eks_unsupported_zone_ids()) < 2:
            findings.append(
                (cluster.urn, f"EKS cluster {short(cluster.urn)} needs control-plane subnets in at least two zones")
            )
    return findings


policy = stack_policy(NAME, "EKS control-plane subnets lie in at least two zones EKS accepts.", check)
