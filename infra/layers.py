"""Compose the platform's layers from the typed stack config.

cluster (existing | EKS | GKE) -> GPU node pools -> GPU software -> team spaces.
Cloud layers live in ``infra/clusters.py`` and import their SDK only when a
stack uses that cloud.
"""

from typing import Any

import pulumi

from components.existing_pool import ExistingNodePool, ExistingNodePoolArgs
from components.gpu_software import GpuSoftware, GpuSoftwareArgs
from components.pool_spec import PoolSpec
from components.team import TeamSpace, TeamSpaceArgs
from infra.clusters import BUILDERS
from infra.pool_specs import pool_spec
from stacks.model import Cloud, PlatformConfig
from stacks.resolve import ResolvedPool, resolve_pools


def _specs(config: PlatformConfig, resolved: list[ResolvedPool]) -> list[PoolSpec]:
    if config.cloud is Cloud.EXISTING:
        return [pool_spec(p, p.gpu or "", p.gpus_per_node) for p in config.node_pools]
    return [pool_spec(rp.pool, rp.offering.gpu, rp.offering.gpus_per_node) for rp in resolved]


def build(config: PlatformConfig) -> dict[str, Any]:
    """Register every resource of the platform; return the stack outputs."""
    resolved = resolve_pools(config) if config.cloud is not Cloud.EXISTING else []
    cluster = BUILDERS[config.cloud](config, resolved)
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    specs = _specs(config, resolved)
    for spec, pool in zip(specs, config.node_pools, strict=True):
        if pool.nodes:
            ExistingNodePool(f"pool-{spec.name}", ExistingNodePoolArgs(pool=spec, nodes=tuple(pool.nodes)), k8s_opts)
    software = config.gpu_software
    gpu = GpuSoftware(
        "gpu-software",
        GpuSoftwareArgs(
            namespace=software.namespace,
            pools=specs,
            # GKE installs drivers and runs its own device plugin.
            device_plugin=software.device_plugin.enabled and config.cloud is not Cloud.GCP,
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
    offerings = {rp.pool.name: rp for rp in resolved}
    capacity: dict[str, Any] = {}
    for spec in specs:
        row: dict[str, Any] = {
            "gpu": spec.gpu,
            "gpusPerNode": spec.gpus_per_node,
            "maxGpus": spec.max_gpus,
            "maxSchedulableGpus": spec.max_schedulable_gpus,
        }
        if spec.name in offerings:
            row["instanceType"] = offerings[spec.name].offering.instance_type
        capacity[spec.name] = row
    outputs: dict[str, Any] = {
        "cloud": config.cloud.value,
        "clusterName": cluster.name,
        "gpuNamespace": gpu.namespace,
        "teamNamespaces": {name: team.namespace for name, team in teams.items()},
        "gpuCapacity": capacity,
    }
    if cluster.endpoint is not None:
        outputs["endpoint"] = cluster.endpoint
    if cluster.kubeconfig is not None:
        outputs["kubeconfig"] = cluster.kubeconfig
    return outputs
