"""The ``aws`` benchmark stack: an EKS cluster with N managed GPU node groups.

``make_raw`` generates the stack config; ``bare_resources`` registers the same
AWS and Kubernetes resources with the plain ``pulumi_aws`` and
``pulumi_kubernetes`` SDKs, straight from the raw dict: no ComponentResource, no
config model. To keep inputs identical it reuses only pure functions and data
of the platform: ``split_cidr``, the EKS ``kubeconfig`` text, the policy/AMI
tables, and the catalog (``resolve``, ``aws_zones``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from benchmarks.common import NodeSize, gpu_software, make_teams, node_labels, teams_and_queues
from components import labels as L
from components.aws_network import split_cidr
from components.catalog import aws_zones, resolve
from components.eks_cluster import ADMIN_POLICY, LOG_TYPES, NODE_POLICIES, kubeconfig
from components.eks_gpu_pool import AMI_TYPES, CAPACITY_TYPES, TAINT_EFFECTS

CLUSTER = "bench"
REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
GPU_CYCLE = (("l4", 1), ("a10g", 1), ("l40s", 1), ("h100", 8))
"""(portable GPU, GPUs per node): g6.xlarge, g5.xlarge, g6e.xlarge, p5.48xlarge, all offered in ZONES."""
ADMIN = "arn:aws:iam::123456789012:role/platform-admins"
ENDPOINT_CIDR = "203.0.113.0/24"
TEAMS = 4
"""A few teams, half of them borrowing: the queues grow with N x TEAMS."""


def make_raw(size: int) -> dict[str, Any]:
    """An EKS stack config with ``size`` managed GPU pools.

    Pool i: (GPU, count) cycling over ``GPU_CYCLE``, spot when i is even,
    on-demand when odd, 0..1+i%3 nodes, Bottlerocket when i % 4 == 3 (else
    AL2023), time-slicing x4 when i % 3 == 0 (Bottlerocket pools then get
    their sharing as user data). No EFA, no Karpenter. ``TEAMS`` teams.
    """
    pools: list[dict[str, Any]] = []
    for i in range(size):
        gpu, count = GPU_CYCLE[i % len(GPU_CYCLE)]
        pool: dict[str, Any] = {
            "name": f"pool-{i:04d}",
            "gpu": gpu,
            "gpusPerNode": count,
            "capacity": "spot" if i % 2 == 0 else "on-demand",
            "minNodes": 0,
            "maxNodes": 1 + i % 3,
            "amiType": "bottlerocket" if i % 4 == 3 else "al2023",
            "provisioner": "managed",
            "efa": False,
            "diskSizeGiB": 200,
        }
        if i % 3 == 0:
            pool["sharing"] = {"mode": "time-slicing", "replicas": 4}
        pools.append(pool)
    return {
        "cloud": "aws",
        "region": REGION,
        "zones": list(ZONES),
        "cluster": {
            "name": CLUSTER,
            "kubernetesVersion": "1.33",
            "networkCidr": "10.0.0.0/16",
            "publicEndpointCidrs": [ENDPOINT_CIDR],
            "admins": [ADMIN],
            "singleNatGateway": True,
            "systemPool": {"instanceType": "m6i.large", "minNodes": 2, "maxNodes": 4},
            "karpenter": False,
        },
        "nodePools": pools,
        "gpuSoftware": {
            "namespace": "gpu-operator",
            "stack": "device-plugin",
            "devicePlugin": {"enabled": True, "gpuFeatureDiscovery": False},
            "dcgm": {"enabled": True, "serviceMonitor": False},
        },
        "teams": make_teams(pools, TEAMS),
        "queues": {"enabled": True, "cohort": "gpu-platform", "allowOvercommit": False},
    }


def _assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def _bottlerocket_user_data(pool: Mapping[str, Any]) -> str | None:
    """Bottlerocket runs its own device plugin: time-slicing is a node setting (TOML user data) there."""
    sharing = pool.get("sharing", {})
    if pool["amiType"] != "bottlerocket" or sharing.get("mode") != "time-slicing":
        return None
    toml = (
        "[settings.kubelet-device-plugins.nvidia]\n"
        'device-sharing-strategy = "time-slicing"\n'
        "\n"
        "[settings.kubelet-device-plugins.nvidia.time-slicing]\n"
        f"replicas = {sharing['replicas']}\n"
        f"rename-by-default = {str(sharing.get('renameByDefault', False)).lower()}\n"
        f"fail-requests-greater-than-one = {str(sharing.get('failRequestsGreaterThanOne', True)).lower()}\n"
    )
    return base64.b64encode(toml.encode()).decode()


def _network(raw: Mapping[str, Any], opts: pulumi.ResourceOptions) -> dict[str, pulumi.Output[str]]:
    """VPC, gateways, one public and one private subnet per stack zone; returns private subnet id per zone."""
    cluster, cidr, zones = raw["cluster"]["name"], raw["cluster"]["networkCidr"], raw["zones"]
    prefix = f"{cluster}-network"
    vpc = aws.ec2.Vpc(
        f"{prefix}-vpc",
        cidr_block=cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={"Name": cluster},
        opts=opts,
    )
    igw = aws.ec2.InternetGateway(f"{prefix}-igw", vpc_id=vpc.id, tags={"Name": cluster}, opts=opts)
    public_routes = aws.ec2.RouteTable(
        f"{prefix}-public",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
        tags={"Name": f"{cluster}-public"},
        opts=opts,
    )
    private_cidrs, public_cidrs = split_cidr(cidr, len(zones))
    shared = {f"kubernetes.io/cluster/{cluster}": "shared"}
    private_ids: dict[str, pulumi.Output[str]] = {}
    nat_id: pulumi.Output[str] | None = None
    for i, zone in enumerate(zones):
        public = aws.ec2.Subnet(
            f"{prefix}-public-{zone}",
            vpc_id=vpc.id,
            cidr_block=public_cidrs[i],
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={"Name": f"{cluster}-public-{zone}", "kubernetes.io/role/elb": "1", **shared},
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(
            f"{prefix}-public-{zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=opts
        )
        if nat_id is None or not raw["cluster"]["singleNatGateway"]:
            eip = aws.ec2.Eip(f"{prefix}-nat-{zone}", domain="vpc", tags={"Name": f"{cluster}-nat-{zone}"}, opts=opts)
            nat_id = aws.ec2.NatGateway(
                f"{prefix}-nat-{zone}",
                allocation_id=eip.id,
                subnet_id=public.id,
                tags={"Name": f"{cluster}-{zone}"},
                opts=pulumi.ResourceOptions(provider=opts.provider, depends_on=[igw]),
            ).id
        private = aws.ec2.Subnet(
            f"{prefix}-private-{zone}",
            vpc_id=vpc.id,
            cidr_block=private_cidrs[i],
            availability_zone=zone,
            tags={
                "Name": f"{cluster}-private-{zone}",
                "kubernetes.io/role/internal-elb": "1",
                "karpenter.sh/discovery": cluster,
                **shared,
            },
            opts=opts,
        )
        private_routes = aws.ec2.RouteTable(
            f"{prefix}-private-{zone}",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)],
            tags={"Name": f"{cluster}-private-{zone}"},
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(
            f"{prefix}-private-{zone}", subnet_id=private.id, route_table_id=private_routes.id, opts=opts
        )
        private_ids[zone] = private.id
    return private_ids


def bare_resources(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The AWS provider, the VPC, the EKS control plane and system node group, one launch template and
    managed node group per pool, then the Kubernetes provider, GPU software, teams and queues."""
    c = raw["cluster"]
    name, region, zones = c["name"], raw["region"], raw["zones"]
    provider = aws.Provider(
        "aws",
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={"managed-by": "pulumi", "platform": "gpu-platform", "gpu-platform.io/cluster": name}
        ),
    )
    opts = pulumi.ResourceOptions(provider=provider)

    def with_opts(**kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=provider, **kwargs)

    private_ids = _network(raw, opts)
    subnet_ids = [private_ids[z] for z in zones]

    # EKS control plane: role, KMS key for secrets, cluster, OIDC provider.
    cluster_role = aws.iam.Role(f"{name}-cluster", assume_role_policy=_assume_role("eks.amazonaws.com"), opts=opts)
    attachment = aws.iam.RolePolicyAttachment(
        f"{name}-cluster",
        role=cluster_role.name,
        policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        opts=opts,
    )
    key = aws.kms.Key(
        f"{name}-secrets",
        description=f"EKS secrets encryption for {name}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=with_opts(protect=True),
    )
    aws.kms.Alias(f"{name}-secrets", name=f"alias/{name}-eks-secrets", target_key_id=key.key_id, opts=opts)
    endpoint_cidrs: list[str] = c["publicEndpointCidrs"]
    admins: list[str] = c["admins"]
    cluster = aws.eks.Cluster(
        f"{name}-cluster",
        name=name,
        version=c["kubernetesVersion"],
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=bool(endpoint_cidrs),
            public_access_cidrs=endpoint_cidrs or None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=not admins
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
        ),
        enabled_cluster_log_types=list(LOG_TYPES),
        tags={},
        opts=with_opts(depends_on=[attachment]),
    )
    aws.iam.OpenIdConnectProvider(
        f"{name}-oidc",
        url=cluster.identities[0].oidcs[0].issuer,
        client_id_lists=["sts.amazonaws.com"],
        tags={},
        opts=opts,
    )
    for i, principal in enumerate(admins):
        entry = aws.eks.AccessEntry(
            f"{name}-admin-{i}", cluster_name=cluster.name, principal_arn=principal, type="STANDARD", opts=opts
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-admin-{i}",
            cluster_name=cluster.name,
            principal_arn=principal,
            policy_arn=ADMIN_POLICY,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=with_opts(depends_on=[entry]),
        )
    node_role = aws.iam.Role(f"{name}-nodes", assume_role_policy=_assume_role("ec2.amazonaws.com"), opts=opts)
    for policy in NODE_POLICIES:
        aws.iam.RolePolicyAttachment(
            f"{name}-nodes-{policy.rsplit('/', 1)[-1]}", role=node_role.name, policy_arn=policy, opts=opts
        )
    system = c["systemPool"]
    aws.eks.NodeGroup(
        f"{name}-system",
        cluster_name=cluster.name,
        node_group_name="system",
        node_role_arn=node_role.arn,
        subnet_ids=subnet_ids,
        ami_type="AL2023_x86_64_STANDARD",
        instance_types=[system["instanceType"]],
        capacity_type="ON_DEMAND",
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            desired_size=system["minNodes"], min_size=system["minNodes"], max_size=system["maxNodes"]
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        labels={"gpu-platform.io/role": "system"},
        tags={},
        opts=with_opts(ignore_changes=["scalingConfig.desiredSize"]),
    )
    kubeconfig_text: pulumi.Output[str] = pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda v: kubeconfig(v[0], v[1], v[2], region)
        )
    )

    # One launch template and managed node group per GPU pool.
    gpu_taint = aws.eks.NodeGroupTaintArgs(
        key=L.GPU_TAINT_KEY, value=L.GPU_TAINT_VALUE, effect=TAINT_EFFECTS[L.GPU_TAINT_EFFECT]
    )
    sizes: dict[str, NodeSize] = {}
    for pool in raw["nodePools"]:
        pool_name = pool["name"]
        offering = resolve("aws", pool["gpu"], pool["gpusPerNode"])
        sizes[pool_name] = NodeSize(offering.gpus_per_node, offering.vcpus, int(offering.memory_gib))
        pool_zones = [z for z in aws_zones(offering.instance_type, region) if z in zones]
        ami_type, data_device = AMI_TYPES[pool["amiType"]]
        template = aws.ec2.LaunchTemplate(
            f"pool-{pool_name}-template",
            description=f"GPU pool {pool_name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=2
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=data_device,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool["diskSizeGiB"],
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={}),
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume", tags={}),
            ],
            user_data=_bottlerocket_user_data(pool),
            update_default_version=True,
            tags={},
            opts=opts,
        )
        aws.eks.NodeGroup(
            f"pool-{pool_name}-nodes",
            cluster_name=cluster.name,
            node_group_name=pool_name,
            node_role_arn=node_role.arn,
            subnet_ids=[private_ids[z] for z in pool_zones],
            instance_types=[offering.instance_type],
            ami_type=ami_type,
            capacity_type=CAPACITY_TYPES[pool["capacity"]],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=pool["minNodes"], min_size=pool["minNodes"], max_size=pool["maxNodes"]
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels=node_labels(pool),
            taints=[gpu_taint],
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            tags={"gpu-platform.io/pool": pool_name},
            opts=with_opts(ignore_changes=["scalingConfig.desiredSize"]),
        )

    k8s_provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig_text, enable_server_side_apply=True)
    return {
        "clusterName": cluster.name,
        "endpoint": cluster.endpoint,
        "kubeconfig": kubeconfig_text,
        "gpuNamespace": gpu_software(raw, k8s_provider, device_plugin=True),
        "teamNamespaces": teams_and_queues(raw, k8s_provider, sizes),
    }
