"""Cluster Autoscaler for EKS managed node groups: nothing else scales them, least of all from zero.

It discovers the groups by the tags EKS puts on their Auto Scaling groups
(``k8s.io/cluster-autoscaler/enabled`` and ``k8s.io/cluster-autoscaler/<cluster>``),
reads labels, taints and node-template resource tags through
``eks:DescribeNodegroup`` (so a pool at zero nodes still says it offers GPUs),
and may change the size only of the groups tagged as this cluster's (IRSA,
least privilege, after the EKS best-practices policy). Its image minor version
follows the cluster's Kubernetes minor.
"""

from dataclasses import dataclass
from typing import Any

import pulumi

from components import helm
from components import labels as L
from components.aws_iam import irsa_role, policy_document
from components.versions import CLUSTER_AUTOSCALER, CLUSTER_AUTOSCALER_IMAGES
from components.warm_capacity import EXPENDABLE_PODS_PRIORITY_CUTOFF

NAMESPACE = "kube-system"

SERVICE_ACCOUNT = "cluster-autoscaler"


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    region: str
    kubernetes_version: str
    """The cluster's minor version: picks the autoscaler image (a key of ``CLUSTER_AUTOSCALER_IMAGES``)."""
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]


def autoscaler_policy(cluster_name: str) -> str:
    return policy_document(
        [
            {
                "Sid": "ScaleOwnGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                    }
                },
            },
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                "Resource": "*",
            },
        ]
    )


def helm_values(
    cluster_name: pulumi.Input[str], region: str, kubernetes_version: str, role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """The subset of the chart's values the platform sets (paths checked against the chart's values.yaml)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": CLUSTER_AUTOSCALER_IMAGES[kubernetes_version]},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        "extraArgs": {
            # GPU pools of the same shape in several zones grow together.
            "balance-similar-node-groups": True,
            # Cheapest fit first: fewest idle GPUs after the pending pods are placed.
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
            # Pods below this priority never make it add a node. Warm-capacity placeholders sit above it
            # (components/warm_capacity.py), so they do; every real workload pre-empts them.
            "expendable-pods-priority-cutoff": EXPENDABLE_PODS_PRIORITY_CUTOFF,
        },
        # Never on a GPU node it might remove.
        "nodeSelector": dict(L.SYSTEM_NODES),
        "priorityClassName": "system-cluster-critical",
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    """Needs ``providers={"aws": ..., "kubernetes": ...}`` in its options."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:ClusterAutoscaler", name, None, opts)
        role, permissions = irsa_role(
            f"{name}-role",
            self,
            args.oidc_provider_arn,
            args.oidc_issuer,
            NAMESPACE,
            SERVICE_ACCOUNT,
            pulumi.Output.from_input(args.cluster_name).apply(autoscaler_policy),
        )
        helm.release(
            f"{name}-release",
            "cluster-autoscaler",
            CLUSTER_AUTOSCALER,
            NAMESPACE,
            helm_values(args.cluster_name, args.region, args.kubernetes_version, role.arn),
            self,
            depends_on=[permissions],
        )
        self.register_outputs({})
