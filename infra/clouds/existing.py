"""An existing cluster: an explicit provider from a kubeconfig, and labels (and, if asked, taints) on listed nodes."""

import pulumi

from components.cluster import ExistingCluster, ExistingClusterArgs
from components.existing_pool import ExistingNodePool, ExistingNodePoolArgs
from infra.clouds import Cluster
from stacks.model import PlatformConfig
from stacks.resolve import ResolvedPool, pool_spec


def build(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    c = config.cluster
    cluster = ExistingCluster(
        c.name,
        ExistingClusterArgs(name=c.name, context=c.context, kubeconfig_path=c.kubeconfig_path, kubeconfig=c.kubeconfig),
    )
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    for pool in config.node_pools:
        if pool.nodes:
            ExistingNodePool(
                f"pool-{pool.name}",
                ExistingNodePoolArgs(
                    pool=pool_spec(pool, pool.gpu or "", pool.gpus_per_node),
                    nodes=tuple(pool.nodes),
                    taint_nodes=pool.taint_nodes,
                ),
                k8s_opts,
            )
    return Cluster(cluster.provider, cluster.cluster_name, None, cluster.kubeconfig)
