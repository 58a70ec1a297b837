"""Karpenter on EKS: the controller (IRSA role, interruption queue, pinned chart) and one
``NodePool`` + ``EC2NodeClass`` per GPU pool that uses ``provisioner: karpenter``.

A NodePool's limits are derived from the pool's spec (max nodes x GPUs and
vCPUs), so the cloud-quota policy can bound what Karpenter may launch.
Karpenter's nodes get a role of their own with its own ``EC2_LINUX`` access
entry: EKS already made an entry for the managed node groups' role, and one
principal can have only one (a second would fail, and deleting it would cut
the managed nodes off).
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import helm
from components import labels as L
from components.aws_iam import irsa_role, node_role, policy_document
from components.catalog.aws import aws_has_local_nvme
from components.pool_spec import PoolSpec
from components.versions import KARPENTER, KARPENTER_AMI_ALIAS

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
REGION_ANNOTATION = "gpu-platform.io/region"
NODE_RESOURCES_ANNOTATION = "gpu-platform.io/node-resources"
"""What one node of the pool advertises after sharing and MIG (JSON): a NodePool does not say, and the capacity
policies read it from here (as they read a managed node group's Cluster Autoscaler node-template tags)."""
# EventBridge events Karpenter handles: spot interruptions, rebalance hints, health events, state changes.
INTERRUPTION_EVENTS: dict[str, dict[str, Any]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}


@dataclass(frozen=True)
class KarpenterPool:
    pool: PoolSpec
    instance_type: str
    vcpus: int
    """vCPUs per node: the NodePool's cpu limit is max nodes x vCPUs."""
    arch: str = "amd64"
    """Kubernetes architecture of the instance type (``amd64`` or ``arm64``)."""
    capacity: str = "on-demand"
    disk_size_gib: int = 200


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: pulumi.Input[str]
    region: str
    cluster_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    pools: Sequence[KarpenterPool] = ()
    tags: dict[str, str] = field(default_factory=dict)


def controller_policy(cluster_arn: str, cluster_name: str, node_role_arn: str, queue_arn: str, region: str) -> str:
    """The controller's IAM policy, statement for statement Karpenter v1.14's getting-started CloudFormation:
    it launches, tags and terminates only what carries this cluster's ownership and a NodePool tag, passes
    only its node role, and manages only the instance profiles it tagged for this cluster."""
    partition = cluster_arn.split(":")[1] if cluster_arn.count(":") > 1 else "aws"
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    request = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    profile = f"arn:{partition}:iam::*:instance-profile/*"
    profile_request = {**request, "aws:RequestTag/topology.kubernetes.io/region": region}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                *(f"{ec2}:*:{k}/*" for k in ("security-group", "subnet", "capacity-reservation", "placement-group")),
            ],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": f"{ec2}:*:launch-template/*",
            "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Resource": launched,
            "Condition": {"StringEquals": request, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": launched,
            "Condition": {
                "StringEquals": {
                    **request,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": f"{ec2}:*:instance/*",
            "Condition": {
                "StringEquals": owned,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": node_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Action": "iam:CreateInstanceProfile",
            "Resource": profile,
            "Condition": {
                "StringEquals": profile_request,
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Action": "iam:TagInstanceProfile",
            "Resource": profile,
            "Condition": {
                "StringEquals": {
                    **owned,
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    **profile_request,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Resource": profile,
            "Condition": {
                "StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Action": "iam:GetInstanceProfile",
            "Resource": profile,
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Action": "iam:ListInstanceProfiles",
            "Resource": "*",
        },
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": cluster_arn,
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue_arn,
        },
        {
            # Karpenter avoids zones under an ARC zonal shift of the cluster.
            "Sid": "AllowZonalShiftStatusReadOnly",
            "Effect": "Allow",
            "Action": "arc-zonal-shift:GetManagedResource",
            "Resource": "*",
            "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}},
        },
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
        },
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
    ]
    return policy_document(statements)


def node_pool_spec(kp: KarpenterPool, node_class: str) -> dict[str, Any]:
    pool = kp.pool
    return {
        "template": {
            "metadata": {"labels": pool.node_labels()},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [kp.instance_type]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [kp.capacity]},
                    {"key": "kubernetes.io/arch", "operator": "In", "values": [kp.arch]},
                ],
                "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
                "expireAfter": "720h",
            },
        },
        # The pool's ceiling, as a managed node group's maxSize would be. In nodes and vCPUs, not GPUs:
        # Karpenter would count a time-sliced node's advertised GPUs, and stop after the first node.
        "limits": {"cpu": str(pool.max_nodes * kp.vcpus), "nodes": str(pool.max_nodes)},
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"},
    }


def node_class_spec(kp: KarpenterPool, cluster_name: str, node_role_name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": KARPENTER_AMI_ALIAS}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": cluster_name}}],
        "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": cluster_name}}],
        # Hop limit 1: pods (behind the CNI) cannot reach IMDS and the node role's credentials.
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "ebs": {"volumeSize": f"{kp.disk_size_gib}Gi", "volumeType": "gp3", "encrypted": True},
            }
        ],
    }
    if aws_has_local_nvme(kp.instance_type):
        # Ephemeral storage (kubelet, containerd: emptyDirs, image layers) on the NVMe instance store, RAID0: on the
        # al2023 alias Karpenter writes nodeadm's localStorage strategy RAID0 into the NodeConfig, and it counts the
        # instance store as the node's ephemeral-storage when it picks instances (karpenter.sh "NodeClasses").
        spec["instanceStorePolicy"] = "RAID0"
    return spec


def _node_class_spec_for(kp: KarpenterPool) -> Callable[[list[Any]], dict[str, Any]]:
    return lambda names: node_class_spec(kp, names[0], names[1])


class Karpenter(pulumi.ComponentResource):
    """Needs ``providers={"aws": ..., "kubernetes": ...}`` in its options."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions",
            queue_url=queue.url,
            policy=queue.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                                "Action": "sqs:SendMessage",
                                "Resource": arn,
                            }
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=child,
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}", event_pattern=json.dumps(pattern, sort_keys=True), tags=args.tags, opts=child
            )
            aws.cloudwatch.EventTarget(f"{name}-{event}", rule=rule.name, arn=queue.arn, opts=child)
        cluster_arn = pulumi.Output.from_input(args.cluster_arn)
        nodes = node_role(f"{name}-nodes", self)
        nodes_entry = aws.eks.AccessEntry(
            f"{name}-nodes",
            cluster_name=args.cluster_name,
            principal_arn=nodes.arn,
            type="EC2_LINUX",
            opts=child,
        )
        role, permissions = irsa_role(
            f"{name}-controller",
            self,
            args.oidc_provider_arn,
            args.oidc_issuer,
            NAMESPACE,
            SERVICE_ACCOUNT,
            pulumi.Output.all(cluster_arn, args.cluster_name, nodes.arn, queue.arn).apply(
                lambda v: controller_policy(v[0], v[1], v[2], v[3], args.region)
            ),
        )
        release = helm.release(
            f"{name}-controller",
            "karpenter",
            KARPENTER,
            NAMESPACE,
            {
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"name": SERVICE_ACCOUNT, "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
                # Never on a node Karpenter itself manages.
                "nodeSelector": dict(L.SYSTEM_NODES),
                "replicas": 2,
            },
            self,
            # Nodes it launches join only through the access entry of their role; on destroy the controller
            # (and its NodePools) go before its permissions, so it can still terminate what it launched.
            depends_on=[nodes_entry, permissions],
        )
        for kp in args.pools:
            node_class_name = kp.pool.name
            node_class = k8s.apiextensions.CustomResource(
                f"{name}-{kp.pool.name}-nodeclass",
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata={"name": node_class_name, "labels": {L.POOL_LABEL: kp.pool.name}},
                spec=pulumi.Output.all(args.cluster_name, nodes.name).apply(_node_class_spec_for(kp)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
            )
            k8s.apiextensions.CustomResource(
                f"{name}-{kp.pool.name}-nodepool",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata={
                    "name": kp.pool.name,
                    "labels": {L.POOL_LABEL: kp.pool.name},
                    # The quota policy reads the region from here (a NodePool has no region of its own), the
                    # capacity policies what a node advertises.
                    "annotations": {
                        REGION_ANNOTATION: args.region,
                        NODE_RESOURCES_ANNOTATION: json.dumps(dict(kp.pool.node_resources()), sort_keys=True),
                    },
                },
                spec=node_pool_spec(kp, node_class_name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[node_class]),
            )
        self.register_outputs({})
