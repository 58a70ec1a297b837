"""Compose the platform's layers from the typed stack config.

cluster -> GPU node pools -> GPU software -> team spaces. Cloud layers (EKS,
GKE) are imported only when a stack uses them, so an ``existing`` stack never
loads ``pulumi_aws`` or ``pulumi_gcp``.
"""

from typing import Any

import pulumi

from components.cluster import ExistingCluster, ExistingClusterArgs
from components.existing_pool import ExistingNodePool, ExistingNodePoolArgs
from components.gpu_software import GpuSoftware, GpuSoftwareArgs
from components.pool_spec import PoolSpec, SharingSpec, TaintSpec
from components.team import TeamSpace, TeamSpaceArgs
from stacks.model import Cloud, NodePool, PlatformConfig


def pool_spec(pool: NodePool) -> PoolSpec:
    """Map one configured pool onto the components' cloud-neutral spec."""
    assert pool.gpu is not None, "validated by stacks.checks"
    sharing = pool.sharing
    return PoolSpec(
        name=pool.name,
        gpu=pool.gpu,
        gpus_per_node=pool.gpus_per_node,
        max_nodes=pool.max_nodes,
        sharing=SharingSpec(
            mode=sharing.mode,
            replicas=sharing.factor,
            rename_by_default=sharing.rename_by_default,
            fail_requests_greater_than_one=sharing.fail_requests_greater_than_one,
        ),
        labels=dict(pool.labels),
        extra_taints=tuple(TaintSpec(t.key, t.value, t.effect.value) for t in pool.taints),
        simulated=pool.simulated,
    )


def build(config: PlatformConfig) -> dict[str, Any]:
    """Register every resource of the platform; return the stack outputs."""
    if config.cloud is not Cloud.EXISTING:  # pragma: no cover - rejected by stacks.checks
        raise NotImplementedError(f"cloud {config.cloud.value}")
    c = config.cluster
    cluster = ExistingCluster(
        c.name,
        ExistingClusterArgs(name=c.name, context=c.context, kubeconfig_path=c.kubeconfig_path, kubeconfig=c.kubeconfig),
    )
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    pools = [pool_spec(p) for p in config.node_pools]
    for spec, pool in zip(pools, config.node_pools, strict=True):
        if pool.nodes:
            ExistingNodePool(f"pool-{spec.name}", ExistingNodePoolArgs(pool=spec, nodes=tuple(pool.nodes)), k8s_opts)
    software = config.gpu_software
    gpu = GpuSoftware(
        "gpu-software",
        GpuSoftwareArgs(
            namespace=software.namespace,
            pools=pools,
            device_plugin=software.device_plugin.enabled,
            gpu_feature_discovery=software.device_plugin.gpu_feature_discovery,
            fake_gpus=software.fake_gpus.enabled,
        ),
        k8s_opts,
    )
    teams = {
        team.name: TeamSpace(
            f"team-{team.name}", TeamSpaceArgs(team=team.name, namespace=team.namespace_name), k8s_opts
        )
        for team in config.teams
    }
    outputs: dict[str, Any] = {
        "cloud": config.cloud.value,
        "clusterName": cluster.cluster_name,
        "gpuNamespace": gpu.namespace,
        "teamNamespaces": {name: team.namespace for name, team in teams.items()},
        "gpuCapacity": {
            p.name: {"gpu": p.gpu, "maxGpus": p.max_gpus, "maxSchedulableGpus": p.max_schedulable_gpus} for p in pools
        },
    }
    if cluster.kubeconfig is not None:
        outputs["kubeconfig"] = cluster.kubeconfig
    return outputs
