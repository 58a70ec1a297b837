"""Cloud GPU quota arithmetic: who draws how much on which quota family. Pure functions.

Used by the ``gpu-cloud-quota`` policy (from the resources of a stack) and by
the plan summary (from the config), so both report the same numbers.
AWS counts vCPUs per region and EC2 quota code; GCP counts GPUs per region
and quota metric, plus the global ``GPUS_ALL_REGIONS``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GLOBAL = "global"
GCP_ALL_REGIONS = "GPUS_ALL_REGIONS"
UNITS = {"aws": "vCPUs", "gcp": "GPUs"}


@dataclass(frozen=True)
class QuotaDraw:
    """What one pool can consume from one quota family at maximum scale."""

    cloud: str
    region: str
    """Region, or ``global`` for GCP's all-regions GPU quota."""
    family: str
    """AWS quota code (``L-DB2E81BA``) or GCP metric (``NVIDIA_L4_GPUS``)."""
    pool: str
    amount: int
    detail: str
    """How the amount comes about, e.g. ``8 x g6.xlarge x 4 vCPUs``."""


@dataclass(frozen=True)
class QuotaRow:
    cloud: str
    region: str
    family: str
    draws: tuple[QuotaDraw, ...]
    quota: int | None
    """The configured quota, ``None`` when unknown."""

    @property
    def total(self) -> int:
        return sum(d.amount for d in self.draws)

    @property
    def unit(self) -> str:
        return UNITS[self.cloud]

    @property
    def headroom(self) -> int | None:
        return None if self.quota is None else self.quota - self.total

    @property
    def over(self) -> bool:
        return self.quota is not None and self.total > self.quota

    def describe(self) -> str:
        pools = ", ".join(f"{d.pool} {d.amount} ({d.detail})" for d in self.draws)
        return f"{self.cloud} {self.region} {self.family}: pools {pools} draw up to {self.total} {self.unit}"


def gcp_global_draws(draws: Iterable[QuotaDraw]) -> list[QuotaDraw]:
    """Every GCP GPU also counts against the project's ``GPUS_ALL_REGIONS``."""
    return [
        QuotaDraw("gcp", GLOBAL, GCP_ALL_REGIONS, d.pool, d.amount, d.detail)
        for d in draws
        if d.cloud == "gcp" and d.region != GLOBAL
    ]


def tally(draws: Iterable[QuotaDraw], quotas: Mapping[str, Mapping[str, Mapping[str, int]]]) -> list[QuotaRow]:
    """One row per (cloud, region, family) drawn on, with its configured quota, sorted."""
    grouped: dict[tuple[str, str, str], list[QuotaDraw]] = {}
    for d in draws:
        grouped.setdefault((d.cloud, d.region, d.family), []).append(d)
    rows = []
    for (cloud, region, family), group in sorted(grouped.items()):
        configured = quotas.get(cloud, {}).get(region, {}).get(family)
        rows.append(QuotaRow(cloud, region, family, tuple(sorted(group, key=lambda d: d.pool)), configured))
    return rows
