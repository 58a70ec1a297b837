"""What a GPU pool costs a month at maximum scale: the packaged on-demand prices (or overrides) x nodes x 730 h.
Pure functions, shared by ``gpu-cost-ceiling`` and the plan summary's cost table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import data


@dataclass(frozen=True)
class PoolCost:
    pool: str
    urn: str
    cloud: str
    machine: str
    """Instance or machine type."""
    max_nodes: int
    hourly: float | None
    """USD per node-hour, ``None`` when no price is known."""
    source: str
    """``default (<date>)`` or ``policy config``."""
    gpus: tuple[str, int] = ("", 0)
    """Accelerator billed apart from the machine (GCP N1) and how many per node."""

    @property
    def monthly(self) -> float | None:
        return None if self.hourly is None else self.hourly * self.max_nodes * hours_per_month()

    def describe(self) -> str:
        if self.hourly is None:
            return f"pool {self.pool}: {self.max_nodes} x {self.machine}, no price known"
        return (
            f"pool {self.pool}: {self.max_nodes} x {self.machine} at ${self.hourly:,.2f}/h on demand ({self.source}) "
            f"= ${self.monthly:,.0f}/month"
        )


def hours_per_month() -> int:
    return int(data()["prices"]["hoursPerMonth"])


def default_prices(cloud: str) -> Mapping[str, Any]:
    return data()["prices"].get(cloud) or {}


def _price(cloud: str, kind: str, name: str, overrides: Mapping[str, Any]) -> tuple[float | None, str]:
    override = ((overrides.get(cloud) or {}).get(kind) or {}).get(name)
    if override is not None:
        return float(override), "policy config"
    defaults = default_prices(cloud)
    value = (defaults.get(kind) or {}).get(name)
    where = f"{defaults.get('region')} default of {defaults.get('date')}"
    return (None, "") if value is None else (float(value), where)


def pool_cost(
    cloud: str,
    pool: str,
    machine: str,
    max_nodes: int,
    overrides: Mapping[str, Any],
    urn: str = "",
    gpus: tuple[str, int] = ("", 0),
) -> PoolCost:
    """One pool's ceiling; the plan summary prices the pools of its config with this too."""
    hourly, source = _price(cloud, "hourly", machine, overrides)
    accelerator, per_node = gpus
    if hourly is not None and per_node:
        gpu_price, gpu_source = _price(cloud, "gpuHourly", accelerator, overrides)
        hourly = None if gpu_price is None else hourly + gpu_price * per_node
        source = source if gpu_source == source else f"{source}; GPUs {gpu_source}"
    return PoolCost(pool, urn, cloud, machine, max_nodes, hourly, source, gpus)
