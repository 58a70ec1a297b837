"""An existing cluster: an explicit provider from a kubeconfig, and labels (and, if asked, taints) on listed nodes."""

import pulumi

from components.cluster import ExistingCluster, ExistingClusterArgs
from components.existing_pool import ExistingNodes, ExistingNodesArgs, ExistingPool
from infra.clouds import Cluster
from stacks.model import PlatformConfig
from stacks.resolve import ResolvedPool, pool_spec


def build(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    c = config.cluster
    cluster = ExistingCluster(
        c.name,
        ExistingClusterArgs(name=c.name, context=c.context, kubeconfig_path=c.kubeconfig_path, kubeconfig=c.kubeconfig),
    )
    listed = [
        ExistingPool(pool_spec(p, p.gpu or "", p.gpus_per_node), tuple(p.nodes), p.taint_nodes)
        for p in config.node_pools
        if p.nodes
    ]
    if listed:
        k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
        ExistingNodes("gpu-nodes", ExistingNodesArgs(pools=listed), k8s_opts)
    return Cluster(cluster.provider, cluster.cluster_name, None, cluster.kubeconfig)
