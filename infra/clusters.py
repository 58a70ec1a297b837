"""The cluster layer per cloud: one function each, imported only for the cloud a stack uses.

Each returns a ``Cluster``: the explicit Kubernetes provider every Kubernetes
resource of the platform uses, and the outputs users need. ``pulumi_aws`` and
``pulumi_gcp`` are imported inside the functions, so an ``existing`` stack
never loads them (and a GCP stack never loads AWS).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import ExistingCluster, ExistingClusterArgs
from stacks.model import Cloud, PlatformConfig, Provisioner
from stacks.resolve import ResolvedPool, resolved_spec

MANAGED_BY = {"managed-by": "pulumi", "platform": "gpu-platform"}


@dataclass
class Cluster:
    provider: k8s.Provider
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str] | None
    kubeconfig: pulumi.Output[str] | None
    """Secret."""


def existing(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    c = config.cluster
    cluster = ExistingCluster(
        c.name,
        ExistingClusterArgs(name=c.name, context=c.context, kubeconfig_path=c.kubeconfig_path, kubeconfig=c.kubeconfig),
    )
    return Cluster(cluster.provider, cluster.cluster_name, None, cluster.kubeconfig)


def _provider_from_kubeconfig(name: str, kubeconfig: pulumi.Output[str], parent: pulumi.Resource) -> k8s.Provider:
    return k8s.Provider(
        f"{name}-k8s",
        k8s.ProviderArgs(kubeconfig=kubeconfig, enable_server_side_apply=True),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def aws(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    import pulumi_aws

    from components.aws_network import AwsNetwork, AwsNetworkArgs
    from components.eks_cluster import EksCluster, EksClusterArgs
    from components.eks_gpu_pool import EksGpuPool, EksGpuPoolArgs

    c = config.cluster
    tags = {**MANAGED_BY, "gpu-platform.io/cluster": c.name}
    provider = pulumi_aws.Provider(
        "aws", region=config.region, default_tags=pulumi_aws.ProviderDefaultTagsArgs(tags=tags)
    )
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    zones = _network_zones(config, pools)
    network = AwsNetwork(
        f"{c.name}-network",
        AwsNetworkArgs(cluster_name=c.name, cidr=c.network_cidr, zones=zones, single_nat_gateway=c.single_nat_gateway),
        opts,
    )
    eks = EksCluster(
        c.name,
        EksClusterArgs(
            name=c.name,
            region=config.region,
            kubernetes_version=c.kubernetes_version,
            private_subnet_ids=[network.private_subnet_ids[z] for z in zones],
            public_endpoint_cidrs=tuple(c.public_endpoint_cidrs),
            admins=tuple(c.admins),
            system_instance_type=c.system_pool.instance_type,
            system_min_nodes=c.system_pool.min_nodes,
            system_max_nodes=c.system_pool.max_nodes,
        ),
        opts,
    )
    managed = [rp for rp in pools if rp.pool.provisioner is Provisioner.MANAGED]
    for rp in managed:
        pool = rp.pool
        # A cluster placement group lives in one zone: EFA pools use the first zone that offers the type.
        pool_zones = rp.zones[:1] if pool.efa else rp.zones
        EksGpuPool(
            f"pool-{pool.name}",
            EksGpuPoolArgs(
                pool=resolved_spec(rp),
                cluster_name=eks.cluster_name,
                node_role_arn=eks.node_role_arn,
                subnet_ids=[network.private_subnet_ids[z] for z in pool_zones],
                instance_type=rp.offering.instance_type,
                ami=pool.ami_type.value,
                capacity=pool.capacity.value,
                min_nodes=pool.min_nodes,
                disk_size_gib=pool.disk_size_gib,
                efa_interfaces=rp.offering.max_efa_interfaces if pool.efa else 0,
            ),
            opts,
        )
    k8s_provider = _provider_from_kubeconfig(c.name, eks.kubeconfig, eks)
    if c.karpenter:
        _karpenter(config, pools, eks, pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": k8s_provider}))
    return Cluster(k8s_provider, eks.cluster_name, eks.endpoint, eks.kubeconfig)


def _karpenter(config: PlatformConfig, pools: list[ResolvedPool], eks: Any, opts: pulumi.ResourceOptions) -> None:
    from components.karpenter import Karpenter, KarpenterArgs, KarpenterPool

    Karpenter(
        "karpenter",
        KarpenterArgs(
            cluster_name=eks.cluster_name,
            region=config.region,
            oidc_provider_arn=eks.oidc_provider_arn,
            oidc_issuer=eks.oidc_issuer,
            node_role_arn=eks.node_role_arn,
            node_role_name=eks.node_role_name,
            pools=[
                KarpenterPool(
                    pool=resolved_spec(rp),
                    instance_type=rp.offering.instance_type,
                    vcpus=rp.offering.vcpus,
                    capacity=rp.pool.capacity.value,
                    disk_size_gib=rp.pool.disk_size_gib,
                )
                for rp in pools
                if rp.pool.provisioner is Provisioner.KARPENTER
            ],
        ),
        opts,
    )


def _network_zones(config: PlatformConfig, pools: list[ResolvedPool]) -> tuple[str, ...]:
    """The stack's zones, or every zone some pool can use (sorted, deterministic)."""
    if config.zones:
        return tuple(config.zones)
    return tuple(sorted({z for rp in pools for z in rp.zones}))


def gcp(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    import pulumi_gcp

    from components.gke_cluster import GkeCluster, GkeClusterArgs
    from components.gke_gpu_pool import GkeGpuPool, GkeGpuPoolArgs

    c = config.cluster
    labels = {"managed-by": "pulumi", "platform": "gpu-platform", "cluster": c.name}
    provider = pulumi_gcp.Provider("gcp", project=config.project, region=config.region, default_labels=labels)
    opts = pulumi.ResourceOptions(providers={"gcp": provider})
    gke = GkeCluster(
        c.name,
        GkeClusterArgs(
            name=c.name,
            project=config.project,
            region=config.region,
            kubernetes_version=c.kubernetes_version,
            release_channel=c.release_channel.value,
            network_cidr=c.network_cidr,
            public_endpoint_cidrs=tuple(c.public_endpoint_cidrs),
            system_machine_type=c.system_pool.machine_type,
            dcgm_metrics=config.gpu_software.dcgm.enabled,
            system_min_nodes=c.system_pool.min_nodes,
            system_max_nodes=c.system_pool.max_nodes,
        ),
        opts,
    )
    for rp in pools:
        pool = rp.pool
        GkeGpuPool(
            f"pool-{pool.name}",
            GkeGpuPoolArgs(
                pool=resolved_spec(rp),
                project=config.project,
                region=config.region,
                cluster_id=gke.cluster_id,
                cluster_name=c.name,
                machine_type=rp.offering.instance_type,
                accelerator=rp.offering.accelerator,
                zones=rp.zones,
                spot=rp.spot,
                min_nodes=pool.min_nodes,
                disk_size_gib=pool.disk_size_gib,
                driver_version=pool.driver_version.value,
            ),
            opts,
        )
    return Cluster(
        _provider_from_kubeconfig(c.name, gke.kubeconfig, gke), gke.cluster_name, gke.endpoint, gke.kubeconfig
    )


BUILDERS: dict[Cloud, Callable[[PlatformConfig, list[ResolvedPool]], Cluster]] = {
    Cloud.EXISTING: existing,
    Cloud.AWS: aws,
    Cloud.GCP: gcp,
}
