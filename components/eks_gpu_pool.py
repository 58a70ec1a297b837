"""One GPU pool on EKS: a managed node group with its own launch template.

The launch template requires IMDSv2 with a hop limit of 1, so pods behind the
CNI cannot reach the instance metadata and the node role's credentials (pods
get AWS access through IRSA), encrypts the data volume that holds the container
images, for EFA pools attaches every EFA interface the instance supports
inside a cluster placement group, and, where the instance type carries NVMe
instance store, puts the node's ephemeral storage on it (RAID0).
"""

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.catalog.aws import aws_has_local_nvme
from components.pool_spec import PoolSpec, SharingMode
from components.training_network import EFA_HUGEPAGES, EFA_RESOURCE, HUGEPAGES_RESOURCE

# Node image -> device of the volume that holds container images. A table, not an if-chain:
# Bottlerocket keeps its OS on /dev/xvda and containers on the data volume /dev/xvdb.
DATA_DEVICES: dict[str, str] = {"al2023": "/dev/xvda", "bottlerocket": "/dev/xvdb"}
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
AUTOSCALER_RESOURCE_TAG = "k8s.io/cluster-autoscaler/node-template/resources/"
"""Cluster Autoscaler reads a managed node group's labels and taints through eks:DescribeNodegroup, and the
extended resources a node will have from these node-group tags: without them it cannot know that a pool
scaled to zero offers (shared) GPUs or EFA devices, and never scales it up."""
GPU_NODE_LABEL = "k8s.amazonaws.com/accelerator"
LAUNCH_TEMPLATE_TAGGED = ("instance", "volume", "network-interface")
"""Resources the launch template tags at launch (the provider's default tags do not reach them)."""


@dataclass(frozen=True)
class EksGpuPoolArgs:
    pool: PoolSpec
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets of the zones the pool may use (one zone for EFA pools), as offered at deploy time."""
    instance_type: str
    ami_type: str
    """EKS AMI type with NVIDIA drivers (``AL2023_x86_64_NVIDIA`` ...)."""
    image: str = "al2023"
    """``al2023`` or ``bottlerocket`` (keys of ``DATA_DEVICES``)."""
    capacity: str = "on-demand"
    min_nodes: int = 0
    disk_size_gib: int = 200
    efa_interfaces: int = 0
    """EFA devices to attach (the instance type's maximum); 0 for none."""
    efa_on_primary_card: bool = True
    """Whether network card 0 takes an EFA device (not on p6-b300, whose card 0 is ENA only)."""
    security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Groups of every network interface when the template defines interfaces (EFA): the cluster security
    group, which lets nodes talk to the control plane and allows all traffic within itself, as EFA needs."""
    node_repair: bool = False
    """EKS replaces (or reboots) nodes the node monitoring agent reports unhealthy, GPU failures included."""
    tags: dict[str, str] = field(default_factory=dict)
    """Cost and ownership tags for the instances, volumes and interfaces the pool launches."""


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def efa_interfaces(
    count: int, on_primary_card: bool, security_groups: Sequence[pulumi.Input[str]]
) -> list[aws.ec2.LaunchTemplateNetworkInterfaceArgsDict]:
    """The layout the EC2 user guide prescribes ("Maximize network bandwidth ... multiple network cards"):
    an ENA primary interface on card 0, then one EFA-only interface per EFA device, on card 0 device 1
    (when card 0 takes EFA) and on device 0 of every further card. EFA-only interfaces carry no IP
    addresses, so the instance keeps one routable interface."""

    def interface(card: int, device: int, kind: str) -> aws.ec2.LaunchTemplateNetworkInterfaceArgsDict:
        return {
            "network_card_index": card,
            "device_index": device,
            "interface_type": kind,
            "security_groups": list(security_groups),
            "delete_on_termination": "true",
        }

    first = 0 if on_primary_card else 1
    cards = range(first, first + count)
    return [interface(0, 0, "interface"), *(interface(c, 1 if c == 0 else 0, "efa-only") for c in cards)]


def autoscaler_tags(pool: PoolSpec, efa_devices: int) -> dict[str, str]:
    """What one node of the pool advertises, as Cluster Autoscaler node-template tags."""
    resources: dict[str, int | str] = dict(pool.node_resources())
    if efa_devices:
        resources[EFA_RESOURCE] = efa_devices
        # EFA jobs request hugepages (libfabric's buffers): without them in the template, the autoscaler
        # judges such a pod unschedulable on a pool at zero nodes and never scales it up.
        resources[HUGEPAGES_RESOURCE] = EFA_HUGEPAGES
    return {f"{AUTOSCALER_RESOURCE_TAG}{name}": str(amount) for name, amount in sorted(resources.items())}


# AL2023: nodeadm's NodeConfig (awslabs/amazon-eks-ami nodeadm/api/v1alpha1 ``InstanceOptions.LocalStorage``)
# RAID0s every NVMe instance-store disk, mounts it at /mnt/k8s-disks/0 and puts /var/lib/kubelet,
# /var/lib/containerd and /var/log/pods on it: emptyDirs (the KServe model cache at /mnt/models, vLLM's HF cache)
# and image layers land on local NVMe. No cluster details: a managed node group whose launch template names no
# AMI merges its own NodeConfig into this MIME archive (EKS user guide "Customize managed nodes with launch
# templates"), and nodeadm merges NodeConfig parts in order. Karpenter writes the same for instanceStorePolicy.
NODEADM_LOCAL_NVME_RAID0 = """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  instance:
    localStorage:
      strategy: RAID0

--BOUNDARY--
"""

# Bottlerocket: the bootstrap command Karpenter generates for ``instanceStorePolicy: RAID0`` (aws/karpenter-provider-aws
# pkg/providers/amifamily/bootstrap/bottlerocketsettings.go). ``apiclient ephemeral-storage init`` RAIDs the
# instance-store disks (one disk: formats it), ``bind`` mounts the kubelet, containerd and pod-log directories there;
# ``always``: the instance store is blank after every stop and start. The command's name is Karpenter's too.
BOTTLEROCKET_LOCAL_NVME_RAID0 = """[settings.bootstrap-commands.000-mount-instance-storage]
commands = [
  ["apiclient", "ephemeral-storage", "init"],
  ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"],
]
essential = true
mode = "always"
"""


def al2023_user_data(pool: PoolSpec, local_nvme: bool) -> str | None:
    """AL2023 user data (MIME, nodeadm NodeConfig): RAID0 ephemeral storage on NVMe instance store, else none."""
    return NODEADM_LOCAL_NVME_RAID0 if local_nvme else None


def bottlerocket_settings(pool: PoolSpec, local_nvme: bool) -> str | None:
    """Bottlerocket user data (TOML): GPU sharing, and ephemeral storage on NVMe instance store.

    Bottlerocket NVIDIA nodes run a device plugin of their own, so sharing is a
    node setting there rather than a config of ours (only time-slicing; the
    config checks refuse MPS and MIG on Bottlerocket). EKS merges these settings
    with the ones that join the node to the cluster.
    """
    sections = [BOTTLEROCKET_LOCAL_NVME_RAID0] if local_nvme else []
    if pool.sharing.mode is SharingMode.TIME_SLICING:
        ts = pool.sharing
        sections.append(
            "[settings.kubelet-device-plugins.nvidia]\n"
            'device-sharing-strategy = "time-slicing"\n'
            "\n"
            "[settings.kubelet-device-plugins.nvidia.time-slicing]\n"
            f"replicas = {ts.replicas}\n"
            f"rename-by-default = {str(ts.rename_by_default).lower()}\n"
            f"fail-requests-greater-than-one = {str(ts.fail_requests_greater_than_one).lower()}\n"
        )
    return "\n".join(sections) or None


USER_DATA: dict[str, Callable[[PoolSpec, bool], str | None]] = {
    "al2023": al2023_user_data,
    "bottlerocket": bottlerocket_settings,
}
"""Node image -> its user data for the pool (and whether the instance type has NVMe instance store). EKS requires
MIME multi-part user data for Amazon Linux and TOML for Bottlerocket, and merges its own into either."""


def user_data(image: str, pool: PoolSpec, instance_type: str) -> str | None:
    """The launch template's user data (plain text, not yet base64) for a pool of ``instance_type``; None for none."""
    return USER_DATA[image](pool, aws_has_local_nvme(instance_type))


class EksGpuPool(pulumi.ComponentResource):
    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: EksGpuPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:EksGpuPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = args.pool
        # Nested inputs as the Args types' TypedDict forms: the same wire input, without the SDK's
        # reflection over Args classes (measurable at a hundred pools).
        placement: aws.ec2.LaunchTemplatePlacementArgsDict | None = None
        if args.efa_interfaces:
            placement_group = aws.ec2.PlacementGroup(
                f"{name}-placement", strategy="cluster", tags=args.tags, opts=child
            )
            placement = {"group_name": placement_group.name}
        node_user_data = user_data(args.image, pool, args.instance_type)
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description=f"GPU pool {pool.name}",
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
            block_device_mappings=[
                {
                    "device_name": DATA_DEVICES[args.image],
                    "ebs": {
                        "volume_size": args.disk_size_gib,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            network_interfaces=efa_interfaces(args.efa_interfaces, args.efa_on_primary_card, args.security_group_ids)
            if args.efa_interfaces
            else None,
            placement=placement,
            tag_specifications=[{"resource_type": kind, "tags": args.tags} for kind in LAUNCH_TEMPLATE_TAGGED],
            user_data=_base64(node_user_data) if node_user_data else None,
            update_default_version=True,
            tags=args.tags,
            opts=child,
        )
        group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=args.cluster_name,
            node_group_name=pool.name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            instance_types=[args.instance_type],
            ami_type=args.ami_type,
            capacity_type=CAPACITY_TYPES[args.capacity],
            scaling_config={"desired_size": args.min_nodes, "min_size": args.min_nodes, "max_size": pool.max_nodes},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            # Cluster Autoscaler's GPU marker on AWS: it then waits for the device plugin on a new GPU node
            # instead of adding more nodes for the same pods.
            labels={**pool.node_labels(), GPU_NODE_LABEL: pool.gpu},
            taints=[{"key": t.key, "value": t.value, "effect": TAINT_EFFECTS[t.effect]} for t in pool.taints],
            update_config={"max_unavailable": 1},
            # One node at a time: a repair drains the node, and Kueue requeues the jobs it ran.
            node_repair_config={"enabled": True, "max_parallel_nodes_repaired_count": 1} if args.node_repair else None,
            tags={**args.tags, **autoscaler_tags(pool, args.efa_interfaces)},
            # The cluster autoscaler (or a person) owns the desired size once the pool exists. A new
            # instance type replaces the group: delete first, since the name stays (labels, quotas
            # and queues refer to it) and GPU quota rarely fits both groups at once.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["scalingConfig.desiredSize"], delete_before_replace=True
            ),
        )
        self.node_group_name = group.node_group_name
        # One per pool or team: its outputs stay attributes (``node_group_name``). Registering them as Output values
        # makes the SDK await and serialize each one (about a tenth of an AWS plan at 100 pools, measured).
        self.register_outputs({})
