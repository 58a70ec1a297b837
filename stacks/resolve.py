"""Resolve each configured GPU pool to a catalog offering and the zones it can use.

One function for the config checks, the program and the plan summary, so they
cannot disagree about what ``gpu: l4, gpusPerNode: 1`` means on a cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from components.catalog import Offering
from components.pool_spec import MigSpec, PoolSpec, SharingSpec, TaintSpec, mig_layout
from components.training_network import topology_levels
from stacks.clouds import backend
from stacks.model import AmiType, NodePool, PlatformConfig

# Queue quotas for existing clusters, whose node sizes the catalog does not know.
DEFAULT_CPUS_PER_GPU = 8
DEFAULT_MEMORY_GIB_PER_GPU = 32


@dataclass(frozen=True)
class ResolvedPool:
    pool: NodePool
    offering: Offering
    zones: tuple[str, ...]
    """Zones of the region that offer the pool's type, limited to the pool's (or the stack's) zones."""

    @property
    def spot(self) -> bool:
        return self.pool.capacity.value == "spot"

    @property
    def quota_family(self) -> str:
        return self.offering.spot_quota if self.spot else self.offering.quota

    @property
    def max_quota_use(self) -> int:
        """What the pool can draw from its quota family at maximum scale (vCPUs on AWS, GPUs on GCP)."""
        return self.pool.max_nodes * self.offering.quota_per_node


def resolve_pools(config: PlatformConfig) -> list[ResolvedPool]:
    """Every pool resolved through its cloud's backend (none where pools are existing nodes).

    Call only on a config that passed the checks.
    """
    cloud = backend(config.cloud)
    out = []
    for pool in config.node_pools:
        offering = cloud.offering(pool)
        if offering is None:
            continue
        out.append(ResolvedPool(pool, offering, cloud.pool_zones(config, pool, offering)))
    return out


def pool_spec(
    pool: NodePool, gpu: str, gpus_per_node: int, cpus_per_node: int = 0, memory_gib_per_node: int = 0
) -> PoolSpec:
    """Map one configured pool onto the components' cloud-neutral spec.

    ``gpu``/``gpus_per_node`` and node sizes come from the catalog offering on
    clouds, from config (or per-GPU defaults) on existing clusters.
    """
    sharing = pool.sharing
    mig = None
    if sharing.mig is not None:
        mig = MigSpec(sharing.mig.strategy.value, mig_layout(gpu, sharing.mig.profile, sharing.mig.layout))
    return PoolSpec(
        name=pool.name,
        gpu=gpu,
        gpus_per_node=gpus_per_node,
        max_nodes=pool.max_nodes,
        sharing=SharingSpec(
            mode=sharing.mode,
            replicas=sharing.replicas or 1,
            rename_by_default=sharing.rename_by_default,
            fail_requests_greater_than_one=sharing.fail_requests_greater_than_one,
            mig=mig,
        ),
        labels=dict(pool.labels),
        extra_taints=tuple(TaintSpec(t.key, t.value, t.effect.value) for t in pool.taints),
        simulated=pool.simulated,
        external_device_plugin=pool.ami_type is AmiType.BOTTLEROCKET,
        cpus_per_node=cpus_per_node or pool.cpus_per_node or DEFAULT_CPUS_PER_GPU * gpus_per_node,
        memory_gib_per_node=memory_gib_per_node
        or pool.memory_gib_per_node
        or DEFAULT_MEMORY_GIB_PER_GPU * gpus_per_node,
    )


def resolved_spec(rp: ResolvedPool, topology_aware: bool = True) -> PoolSpec:
    o = rp.offering
    spec = pool_spec(rp.pool, o.gpu, o.gpus_per_node, o.vcpus, int(o.memory_gib))
    return replace(
        spec, topology_levels=topology_levels(o.cloud, o.instance_type) if topology_placed(rp, topology_aware) else ()
    )


def topology_placed(rp: ResolvedPool, topology_aware: bool = True) -> bool:
    """Whether Kueue places jobs on the pool by network topology. Only on fixed-size pools (minNodes =
    maxNodes, as reserved GPU capacity is): Kueue's topology-aware scheduling counts only nodes that exist,
    so on a pool scaled from fewer nodes it never admits a job that needs more, and a job never admitted
    has no pods that would make the autoscaler add them (Kueue's TAS docs: autoscaling needs a
    ProvisioningRequest admission check, which the platform does not set up)."""
    return topology_aware and rp.pool.min_nodes == rp.pool.max_nodes


def pool_specs(config: PlatformConfig, resolved: list[ResolvedPool]) -> list[PoolSpec]:
    """Every pool as a spec, from ``resolve_pools(config)``; call only on a config that passed the checks."""
    by_name = {rp.pool.name: rp for rp in resolved}
    return [
        resolved_spec(by_name[p.name], config.queues.topology_aware)
        if p.name in by_name
        else pool_spec(p, p.gpu or "", p.gpus_per_node)
        for p in config.node_pools
    ]
