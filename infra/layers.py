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
from components.pvc_storage import PvcModelStorage, PvcModelStorageArgs
from components.serving import Keda, ServingStack, ServingStackArgs
from components.team import TeamSpace, TeamSpaceArgs
from components.training import TrainingOperator, TrainingOperatorArgs
from components.warm_capacity import WarmCapacity, WarmCapacityArgs
from infra.clouds import build_cluster
from infra.serving import build_endpoints, external_urls, window
from infra.training import build_jobs
from stacks.clouds import Capability, backend
from stacks.contract import platform_contract
from stacks.model import PlatformConfig, ServingMode
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


RBAC_KINDS = {"user": "User", "serviceAccount": "User"}
"""IAM member prefix -> the RBAC subject kind GKE authenticates it as (``group:`` members are refused: GKE maps
them only with Google Groups for RBAC, which the platform does not set up)."""


def deployer_subjects(members: list[str]) -> list[dict[str, str]]:
    return [{"kind": RBAC_KINDS[kind], "name": email} for kind, _, email in (m.partition(":") for m in members)]


def build(config: PlatformConfig) -> dict[str, Any]:
    """Register every resource of the stack (a platform stack, or a team stack); return its outputs."""
    if config.platform is not None:
        from infra.team_stack import build_team_stack

        return build_team_stack(config)
    return build_platform(config)


def build_platform(config: PlatformConfig) -> dict[str, Any]:
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
    # GKE signs people in as their Google identity: bind the team's members directly (EKS maps IAM principals
    # onto the team's group through access entries instead).
    gcp_members = config.cloud.value == "gcp"
    training = None
    if config.training.enabled:
        training = TrainingOperator(
            "training",
            TrainingOperatorArgs(
                runtimes=[r.value for r in config.training.runtimes],
                max_restarts=config.training.max_restarts,
                ttl_seconds=config.training.ttl_seconds_after_finished,
            ),
            k8s_opts,
        )
    lendable = lendable_pools(tq.quota for tq in team_queues)
    teams = {
        tq.team: TeamSpace(
            f"team-{tq.team}",
            TeamSpaceArgs(
                team=tq.team,
                namespace=tq.namespace,
                gpu_limits=namespace_gpu_limits(tq, specs, lendable) if queues else {},
                service_accounts=cluster.service_accounts.get(tq.team, {}),
                deployer_subjects=deployer_subjects(config.team(tq.team).deployers) if gcp_members else (),
            ),
            k8s_opts,
        )
        for tq in team_queues
    }
    gpu_queues = None
    if queues:
        gpu_queues = GpuQueues(
            "gpu-queues",
            GpuQueuesArgs(
                pools=specs,
                teams=team_queues,
                cohort=config.queues.cohort,
                prometheus=config.gpu_software.dcgm.service_monitor,
                team_spaces=teams,
                # Kueue sets up its TrainJob and JobSet integrations for the CRDs it finds when it starts.
                after=[training.release] if training else [],
            ),
            k8s_opts,
        )
    storage: list[pulumi.Resource] = []
    if config.storage.enabled and backend(config.cloud).has(Capability.IN_CLUSTER_STORAGE):
        storage.append(
            PvcModelStorage(
                "storage",
                PvcModelStorageArgs(
                    size_gib=config.storage.size_gib,
                    teams=tuple((name, config.team(name).namespace_name) for name in teams),
                    storage_class=config.storage.storage_class,
                ),
                pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=list(teams.values()))),
            )
        )
    serving = None
    # After the queues: Kueue's webhook admits pods of every namespace, these included.
    after_queues: list[pulumi.Resource] = [gpu_queues] if gpu_queues else []
    warm = {
        spec.name: (spec, [window(w, w.nodes) for w in config.pool(spec.name).warm])
        for spec in specs
        if config.pool(spec.name).warm
    }
    kserve = config.serving.enabled and config.serving.mode is ServingMode.KSERVE
    scaling = config.serving.enabled and any(e.scaling or e.schedule for e in config.serving.endpoints)
    keda = Keda("keda", after_queues, k8s_opts) if kserve or scaling or warm else None
    if warm and keda is not None:
        WarmCapacity("warm-capacity", WarmCapacityArgs(gpu.namespace, warm, keda.release), k8s_opts)
    serving_ready: list[pulumi.Resource] = [keda.release] if keda else []
    if kserve and keda is not None:
        serving = ServingStack("serving", ServingStackArgs(keda=keda.release, after=after_queues), k8s_opts)
        serving_ready = [serving.runtime]
    contract = platform_contract(config)
    if config.serving.endpoints and config.serving.enabled:
        build_endpoints(
            config.serving.endpoints,
            contract,
            {name: [team, *serving_ready, *storage] for name, team in teams.items()},
            k8s_opts,
            cluster.exposure_ready,
        )
    if config.training.jobs and training is not None:
        ready: list[pulumi.Resource] = [*training.runtimes, *([gpu_queues] if gpu_queues else [])]
        build_jobs(
            config.training.jobs,
            contract,
            {name: [team, *ready, *storage] for name, team in teams.items()},
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
        # What team stacks build on (a StackReference reads it); equal to stacks.contract.platform_contract.
        "platform": contract.to_json(),
    }
    if urls := external_urls(config.serving.endpoints, contract):
        outputs["externalEndpoints"] = urls
    if cluster.external_address is not None:
        outputs["externalAddress"] = cluster.external_address
    if cluster.endpoint is not None:
        outputs["endpoint"] = cluster.endpoint
    if cluster.kubeconfig is not None:
        outputs["kubeconfig"] = cluster.kubeconfig
    return outputs
