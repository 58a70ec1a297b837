"""Resolve each configured GPU pool to a catalog offering and the zones it can use.

One function for the config checks, the program and the plan summary, so they
cannot disagree about what ``gpu: l4, gpusPerNode: 1`` means on a cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog import CatalogError, Offering, aws_zones, gcp_zones, lookup, resolve
from stacks.model import Cloud, NodePool, PlatformConfig


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
    """Every pool resolved; call only on a config that passed the checks (cloud aws or gcp)."""
    out = []
    for pool in config.node_pools:
        offering = offering_for(config.cloud, pool)
        out.append(ResolvedPool(pool, offering, pool_zones(config, pool, offering)))
    return out
