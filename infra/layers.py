"""Compose the platform's layers from the typed stack config.

cluster (existing | EKS | GKE) -> GPU node pools -> GPU software -> team spaces.
Cloud layers live in ``infra/clusters.py`` and import their SDK only when a
stack uses that cloud.
"""

from typing import Any

import pulumi

from components.existing_pool import ExistingNodePool, ExistingNodePoolArgs
from components.gpu_queues import GpuQueues, GpuQueuesArgs, TeamQueue, namespace_gpu_limits
from components.gpu_software import NONE, GpuSoftware, GpuSoftwareArgs
from components.pool_spec import PoolSpec
from components.team import TeamSpace, TeamSpaceArgs
from infra.clusters import BUILDERS
from stacks.model import Cloud, GpuStack, PlatformConfig
from stacks.resolve import pool_specs, resolve_pools


# What runs where: GKE brings its own device plugin and driver; elsewhere the config chooses.
def gpu_stack(config: PlatformConfig) -> str:
    stack = config.gpu_software.stack
    if config.cloud is Cloud.GCP or (stack is GpuStack.DEVICE_PLUGIN and not config.gpu_software.device_plugin.enabled):
        return NONE
    return stack.value


def gpu_software_args(config: PlatformConfig, specs: list[PoolSpec]) -> GpuSoftwareArgs:
    software = config.gpu_software
    return GpuSoftwareArgs(
        namespace=software.namespace,
        pools=specs,
        stack=gpu_stack(config),
        gpu_feature_discovery=software.device_plugin.gpu_feature_discovery,
        dcgm=software.dcgm.enabled,
        service_monitor=software.dcgm.service_monitor,
        operator_driver=software.gpu_operator.driver,
        operator_toolkit=software.gpu_operator.toolkit,
        fake_gpus=software.fake_gpus.enabled,
    )


def build(config: PlatformConfig) -> dict[str, Any]:
    """Register every resource of the platform; return the stack outputs."""
    resolved = resolve_pools(config)
    cluster = BUILDERS[config.cloud](config, resolved)
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    specs = pool_specs(config, resolved)
    for spec, pool in zip(specs, config.node_pools, strict=True):
        if pool.nodes:
            ExistingNodePool(f"pool-{spec.name}", ExistingNodePoolArgs(pool=spec, nodes=tuple(pool.nodes)), k8s_opts)
    gpu = GpuSoftware("gpu-software", gpu_software_args(config, specs), k8s_opts)
    team_queues = [
        TeamQueue(team.name, team.namespace_name, dict(team.gpu_quota), team.can_borrow) for team in config.teams
    ]
    queues = config.queues.enabled and bool(team_queues)
    teams = {
        tq.team: TeamSpace(
            f"team-{tq.team}",
            TeamSpaceArgs(
                team=tq.team, namespace=tq.namespace, gpu_limits=namespace_gpu_limits(tq, specs) if queues else {}
            ),
            k8s_opts,
        )
        for tq in team_queues
    }
    if queues:
        GpuQueues(
            "gpu-queues",
            GpuQueuesArgs(
                pools=specs,
                teams=team_queues,
                cohort=config.queues.cohort,
                prometheus=config.gpu_software.dcgm.service_monitor,
                team_spaces=teams,
            ),
            k8s_opts,
        )
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
