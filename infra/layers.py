"""Compose the platform's layers from the typed stack config.

cluster and GPU pools (existing | EKS | GKE) -> GPU software -> team spaces -> queues.
Each cloud's builder lives in ``infra/clouds/`` and imports its SDK only when a
stack uses that cloud; what differs per cloud is asked of its backend.
"""

from typing import Any

import pulumi

from components.gpu_queues import GpuQueues, GpuQueuesArgs, TeamQueue, namespace_gpu_limits
from components.gpu_software import GpuSoftware, GpuSoftwareArgs
from components.kueue_config import lendable_pools
from components.pool_spec import PoolSpec
from components.team import TeamSpace, TeamSpaceArgs
from infra.clouds import build_cluster
from stacks.clouds import backend
from stacks.model import PlatformConfig
from stacks.resolve import pool_specs, resolve_pools


def gpu_software_args(config: PlatformConfig, specs: list[PoolSpec]) -> GpuSoftwareArgs:
    software = config.gpu_software
    cloud = backend(config.cloud)
    defaults = cloud.software_defaults(config)
    return GpuSoftwareArgs(
        namespace=software.namespace,
        pools=specs,
        stack=cloud.gpu_stack(config),
        gpu_feature_discovery=software.device_plugin.gpu_feature_discovery,
        dcgm=software.dcgm.enabled,
        service_monitor=software.dcgm.service_monitor,
        operator_driver=software.gpu_operator.driver,
        operator_toolkit=software.gpu_operator.toolkit,
        fake_gpus=software.fake_gpus.enabled,
        mig_reboot=defaults.mig_reboot,
        mofed=defaults.mofed,
    )


def build(config: PlatformConfig) -> dict[str, Any]:
    """Register every resource of the platform; return the stack outputs."""
    resolved = resolve_pools(config)
    cluster = build_cluster(config, resolved)
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    specs = pool_specs(config, resolved)
    gpu = GpuSoftware("gpu-software", gpu_software_args(config, specs), k8s_opts)
    team_queues = [
        TeamQueue(team.name, team.namespace_name, dict(team.gpu_quota), team.can_borrow) for team in config.teams
    ]
    queues = config.queues.enabled and bool(team_queues)
    lendable = lendable_pools(tq.quota for tq in team_queues)
    teams = {
        tq.team: TeamSpace(
            f"team-{tq.team}",
            TeamSpaceArgs(
                team=tq.team,
                namespace=tq.namespace,
                gpu_limits=namespace_gpu_limits(tq, specs, lendable) if queues else {},
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
