"""Kueue GPU queues derived from the teams: one ResourceFlavor per pool, one ClusterQueue per team
(all in one cohort), one LocalQueue per team namespace.

Quotas are in the units a pool advertises after sharing (GPUs, MIG slices or
time-sliced replicas); cpu and memory quotas follow from the pool's node size
per GPU unit, so a job that fits its GPU quota is not refused for its CPUs.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import helm, kueue_config
from components import labels as L
from components.kueue_config import LOCAL_QUEUE, lendable_pools
from components.pool_spec import PoolSpec
from components.training_network import topology_name
from components.versions import KUEUE

API_VERSION = "kueue.x-k8s.io/v1beta2"


@dataclass(frozen=True)
class TeamQueue:
    team: str
    namespace: str
    quota: Mapping[str, int]
    """Pool name -> nominal quota in the pool's units."""
    can_borrow: bool = False


@dataclass(frozen=True)
class GpuQueuesArgs:
    pools: Sequence[PoolSpec]
    teams: Sequence[TeamQueue]
    cohort: str
    namespace: str = L.KUEUE_NAMESPACE
    prometheus: bool = False
    team_spaces: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """Team name -> what creates its namespace: the team's LocalQueue waits for it."""
    after: Sequence[pulumi.Resource] = ()
    """Installed before Kueue: operators whose CRDs Kueue's integrations watch (Trainer, JobSet)."""


def gpu_resource(pool: PoolSpec) -> str:
    """The one extended resource a queue-managed pool advertises (mixed MIG pools have several)."""
    (name,) = pool.resources()
    return name


def queued_pools(pools: Sequence[PoolSpec]) -> list[PoolSpec]:
    """Pools the queues can account for: one GPU resource each (not mixed-strategy MIG)."""
    return [p for p in pools if len(p.resources()) == 1]


def resource_flavor_spec(pool: PoolSpec) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeLabels": {L.POOL_LABEL: pool.name},
        # Admitted pods get these tolerations, so jobs need not repeat the GPU taint.
        "tolerations": [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints],
    }
    if pool.topology_levels:
        # Topology-aware scheduling: Kueue places a job's pods by the nodes' network position.
        spec["topologyName"] = topology_name(pool.topology_levels)
    return spec


def topologies(pools: Sequence[PoolSpec]) -> dict[str, tuple[str, ...]]:
    """Kueue Topology name -> levels, one per distinct level list of the queued pools."""
    return {topology_name(p.topology_levels): p.topology_levels for p in queued_pools(pools) if p.topology_levels}


def _per_unit(pool: PoolSpec) -> tuple[float, float]:
    units_per_node = pool.max_schedulable_gpus // max(1, pool.max_nodes) or 1
    return pool.cpus_per_node / units_per_node, pool.memory_gib_per_node / units_per_node


def reachable(team: TeamQueue, pool: PoolSpec, lendable: frozenset[str]) -> bool:
    """A team's queue needs a flavor for its own pools, and (borrowing) for the pools others can lend."""
    return pool.name in team.quota or (team.can_borrow and pool.name in lendable)


def cluster_queue_spec(
    team: TeamQueue, pools: Sequence[PoolSpec], cohort: str, lendable: frozenset[str]
) -> dict[str, Any]:
    included = [p for p in queued_pools(pools) if reachable(team, p, lendable)]
    gpu_names = sorted({gpu_resource(p) for p in included})
    covered = ["cpu", "memory", *gpu_names]
    flavors = []
    for pool in included:
        units = team.quota.get(pool.name, 0)
        cpu, memory = _per_unit(pool)
        quotas: dict[str, int | str] = {"cpu": int(units * cpu), "memory": f"{int(units * memory)}Gi"}
        quotas |= {name: units if name == gpu_resource(pool) else 0 for name in gpu_names}
        resources = []
        for name in covered:
            resource: dict[str, Any] = {"name": name, "nominalQuota": quotas[name]}
            if not team.can_borrow:
                resource["borrowingLimit"] = 0
            resources.append(resource)
        flavors.append({"name": pool.name, "resources": resources})
    spec: dict[str, Any] = {
        "cohortName": cohort,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.namespace}},
        "queueingStrategy": "BestEffortFIFO",
        # Lent quota comes back: a team's own jobs preempt borrowers from its nominal share.
        "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
        "resourceGroups": [{"coveredResources": covered, "flavors": flavors}] if flavors else [],
    }
    return spec


def namespace_gpu_limits(team: TeamQueue, pools: Sequence[PoolSpec], lendable: frozenset[str]) -> dict[str, str]:
    """ResourceQuota hard limits: nominal quota, or (borrowing teams) every unit of the pools they can reach."""
    limits: dict[str, int] = {}
    for pool in pools:
        if not reachable(team, pool, lendable):
            continue
        for name, total in pool.resources().items():
            amount = total if team.can_borrow else (team.quota.get(pool.name, 0) if len(pool.resources()) == 1 else 0)
            if amount:
                limits[f"requests.{name}"] = limits.get(f"requests.{name}", 0) + amount
    return {k: str(v) for k, v in sorted(limits.items())}


class GpuQueues(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuQueuesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:GpuQueues", name, None, opts)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        release = helm.release(
            f"{name}-kueue",
            "kueue",
            KUEUE,
            ns.metadata.name,
            kueue_config.helm_values(args.prometheus),
            self,
            depends_on=args.after,
        )
        # The CRDs come with the chart: every queue object waits for it.
        after_kueue = pulumi.ResourceOptions(parent=self, depends_on=[release])
        for topology, levels in sorted(topologies(args.pools).items()):
            k8s.apiextensions.CustomResource(
                f"{name}-topology-{topology}",
                api_version=API_VERSION,
                kind="Topology",
                metadata={"name": topology},
                spec={"levels": [{"nodeLabel": level} for level in levels]},
                opts=after_kueue,
            )
        for pool in queued_pools(args.pools):
            k8s.apiextensions.CustomResource(
                f"{name}-flavor-{pool.name}",
                api_version=API_VERSION,
                kind="ResourceFlavor",
                metadata={"name": pool.name, "labels": {L.POOL_LABEL: pool.name}},
                spec=resource_flavor_spec(pool),
                opts=after_kueue,
            )
        lendable = lendable_pools(t.quota for t in args.teams)
        for team in args.teams:
            queue = k8s.apiextensions.CustomResource(
                f"{name}-cq-{team.team}",
                api_version=API_VERSION,
                kind="ClusterQueue",
                metadata={"name": team.team, "labels": {"gpu-platform.io/team": team.team}},
                spec=cluster_queue_spec(team, args.pools, args.cohort, lendable),
                # A ClusterQueue names its flavors; Kueue keeps it inactive until they exist,
                # so it waits only for the CRDs (depending on every flavor made the graph pools x teams).
                opts=after_kueue,
            )
            k8s.apiextensions.CustomResource(
                f"{name}-lq-{team.team}",
                api_version=API_VERSION,
                kind="LocalQueue",
                metadata={"name": LOCAL_QUEUE, "namespace": team.namespace},
                spec={"clusterQueue": team.team},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[queue, *([args.team_spaces[team.team]] if team.team in args.team_spaces else [])],
                ),
            )
        self.register_outputs({})
