"""Resolve each configured GPU pool to a catalog offering and the zones it can use.

One function for the config checks, the program and the plan summary, so they
cannot disagree about what ``gpu: l4, gpusPerNode: 1`` means on a cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog import CatalogError, Offering, aws_zones, gcp_zones, lookup, resolve
from components.pool_spec import MigSpec, PoolSpec, SharingSpec, TaintSpec, mig_layout
from stacks.model import AmiType, Cloud, NodePool, PlatformConfig

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


def offering_for(cloud: Cloud, pool: NodePool) -> Offering:
    """The catalog offering a pool asks for, or ``CatalogError`` saying what exists."""
    explicit = pool.instance_type if cloud is Cloud.AWS else pool.machine_type
    if explicit:
        offering = lookup(cloud.value, explicit)
        if pool.gpu is not None and pool.gpu != offering.gpu:
            raise CatalogError(f"{explicit} carries {offering.gpu}, not {pool.gpu}; drop gpu or make them agree")
        if "gpus_per_node" in pool.model_fields_set and pool.gpus_per_node != offering.gpus_per_node:
            raise CatalogError(
                f"{explicit} has {offering.gpus_per_node} GPU(s) per node, not {pool.gpus_per_node}; "
                "drop gpusPerNode or make them agree"
            )
        return offering
    if pool.gpu is None:
        field = "instanceType" if cloud is Cloud.AWS else "machineType"
        raise CatalogError(f"set gpu (with gpusPerNode) or {field}")
    return resolve(cloud.value, pool.gpu, pool.gpus_per_node)


def offering_zones(config: PlatformConfig, offering: Offering) -> tuple[str, ...]:
    if config.cloud is Cloud.AWS:
        return aws_zones(offering.instance_type, config.region)
    return gcp_zones(offering.accelerator, config.region)


def pool_zones(config: PlatformConfig, pool: NodePool, offering: Offering) -> tuple[str, ...]:
    wanted = pool.zones or config.zones
    offered = offering_zones(config, offering)
    return tuple(z for z in offered if not wanted or z in wanted)


def resolve_pools(config: PlatformConfig) -> list[ResolvedPool]:
    """Every pool resolved (none on existing clusters); call only on a config that passed the checks."""
    if config.cloud is Cloud.EXISTING:
        return []
    out = []
    for pool in config.node_pools:
        offering = offering_for(config.cloud, pool)
        out.append(ResolvedPool(pool, offering, pool_zones(config, pool, offering)))
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


def resolved_spec(rp: ResolvedPool) -> PoolSpec:
    o = rp.offering
    return pool_spec(rp.pool, o.gpu, o.gpus_per_node, o.vcpus, int(o.memory_gib))


def pool_specs(config: PlatformConfig, resolved: list[ResolvedPool]) -> list[PoolSpec]:
    """Every pool as a spec, from ``resolve_pools(config)``; call only on a config that passed the checks."""
    if config.cloud is Cloud.EXISTING:
        return [pool_spec(p, p.gpu or "", p.gpus_per_node) for p in config.node_pools]
    return [resolved_spec(rp) for rp in resolved]
