"""One GPU pool on EKS: a managed node group with its own launch template.

The launch template requires IMDSv2 (hop limit 2 so pods behind the CNI can
reach it only with a token), encrypts the data volume that holds the container
images, and, for EFA pools, attaches every EFA interface the instance supports
inside a cluster placement group.
"""

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.pool_spec import PoolSpec, SharingMode

# Node image -> (EKS AMI type, device of the volume that holds images). A table, not an if-chain:
# Bottlerocket keeps its OS on /dev/xvda and containers on the data volume /dev/xvdb.
AMI_TYPES: dict[str, tuple[str, str]] = {
    "al2023": ("AL2023_x86_64_NVIDIA", "/dev/xvda"),
    "bottlerocket": ("BOTTLEROCKET_x86_64_NVIDIA", "/dev/xvdb"),
}
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass(frozen=True)
class EksGpuPoolArgs:
    pool: PoolSpec
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets of the zones the pool may use (one zone for EFA pools)."""
    instance_type: str
    ami: str = "al2023"
    """``al2023`` or ``bottlerocket`` (keys of ``AMI_TYPES``)."""
    capacity: str = "on-demand"
    min_nodes: int = 0
    disk_size_gib: int = 200
    efa_interfaces: int = 0
    """EFA interfaces to attach (the instance type's maximum); 0 for none."""
    tags: dict[str, str] = field(default_factory=dict)


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def efa_interfaces(count: int) -> list[aws.ec2.LaunchTemplateNetworkInterfaceArgs]:
    """One EFA interface per network card; the first is the primary (device index 0)."""
    return [
        aws.ec2.LaunchTemplateNetworkInterfaceArgs(
            device_index=0 if card == 0 else 1,
            network_card_index=card,
            interface_type="efa",
            delete_on_termination="true",
        )
        for card in range(count)
    ]


def bottlerocket_settings(pool: PoolSpec) -> str | None:
    """Bottlerocket user data (TOML) for GPU sharing: its own NVIDIA device plugin reads these settings.

    Bottlerocket NVIDIA nodes run a device plugin of their own, so sharing is a
    node setting there rather than a config of ours (only time-slicing; the
    config checks refuse MPS and MIG on Bottlerocket).
    """
    if pool.sharing.mode is not SharingMode.TIME_SLICING:
        return None
    ts = pool.sharing
    return (
        "[settings.kubelet-device-plugins.nvidia]\n"
        'device-sharing-strategy = "time-slicing"\n'
        "\n"
        "[settings.kubelet-device-plugins.nvidia.time-slicing]\n"
        f"replicas = {ts.replicas}\n"
        f"rename-by-default = {str(ts.rename_by_default).lower()}\n"
        f"fail-requests-greater-than-one = {str(ts.fail_requests_greater_than_one).lower()}\n"
    )


class EksGpuPool(pulumi.ComponentResource):
    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: EksGpuPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:EksGpuPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = args.pool
        ami_type, data_device = AMI_TYPES[args.ami]
        placement = None
        if args.efa_interfaces:
            placement_group = aws.ec2.PlacementGroup(
                f"{name}-placement", strategy="cluster", tags=args.tags, opts=child
            )
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=placement_group.name)
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description=f"GPU pool {pool.name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=2
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=data_device,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            network_interfaces=efa_interfaces(args.efa_interfaces) or None,
            placement=placement,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags=args.tags),
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume", tags=args.tags),
            ],
            user_data=_base64(settings)
            if args.ami == "bottlerocket" and (settings := bottlerocket_settings(pool))
            else None,
            update_default_version=True,
            tags=args.tags,
            opts=child,
        )
        group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=args.cluster_name,
            node_group_name=pool.name,
            node_role_arn=args.node_role_arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=[args.instance_type],
            ami_type=ami_type,
            capacity_type=CAPACITY_TYPES[args.capacity],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=args.min_nodes, min_size=args.min_nodes, max_size=pool.max_nodes
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels=pool.node_labels(),
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=TAINT_EFFECTS[t.effect])
                for t in pool.taints
            ],
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            tags={**args.tags, "gpu-platform.io/pool": pool.name},
            # The cluster autoscaler (or a person) owns the desired size once the pool exists.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.node_group_name = group.node_group_name
        self.register_outputs({"nodeGroupName": self.node_group_name})
