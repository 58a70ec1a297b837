"""Cloud GPU quota arithmetic: who draws how much on which quota family. Pure functions.

Used by the ``gpu-cloud-quota`` policy (from the resources of a stack) and by
the plan summary (from the config), so both report the same numbers. It lives in
the pack because the pack must be self-contained; the project imports it from here.
AWS counts vCPUs per region and EC2 quota code; GCP counts GPUs per region
and quota metric, plus the global ``GPUS_ALL_REGIONS``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import aws_quota_name, data

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
    """The quota in force (configured, or looked up), ``None`` when unknown."""
    source: str = "policy config"
    """Where ``quota`` comes from; when both were read, the configured value wins and the source says so."""
    usage: int | None = None
    """Already in use in the account or project (from the cloud), ``None`` when unknown or not looked up."""
    usage_note: str = ""
    """Where ``usage`` comes from, or why it is unknown."""
    unknown_reason: str = ""
    """Why a live lookup found no quota (no credentials, throttled ...), when it failed."""

    @property
    def total(self) -> int:
        return sum(d.amount for d in self.draws)

    @property
    def unit(self) -> str:
        return UNITS[self.cloud]

    @property
    def headroom(self) -> int | None:
        """What stays free with every pool at maximum scale, after what is already in use where that is known."""
        return None if self.quota is None else self.quota - self.total - (self.usage or 0)

    @property
    def over(self) -> bool:
        """The pools alone need more than the quota: certain to fail, whatever else runs."""
        return self.quota is not None and self.total > self.quota

    @property
    def at_risk(self) -> bool:
        """Within the quota alone, but not with what is already in use (which includes this stack's own running
        nodes on an update, so it is a warning, not a refusal)."""
        return not self.over and self.headroom is not None and self.headroom < 0

    def describe(self) -> str:
        pools = ", ".join(f"{d.pool} {d.amount} ({d.detail})" for d in self.draws)
        return f"{self.cloud} {self.region} {self.family}: pools {pools} draw up to {self.total} {self.unit}"


def family_name(cloud: str, family: str) -> str:
    """``L-DB2E81BA (Running On-Demand G and VT instances)``; GCP metrics name themselves."""
    name = aws_quota_name(family) if cloud == "aws" else family
    return family if name == family else f"{family} ({name})"


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


def quota_families() -> dict[str, frozenset[str]]:
    """Every quota family a policy config may name, per cloud (AWS EC2 vCPU codes; GCP GPU metrics)."""
    gcp = data()["gcp"]
    metrics = {m for a in gcp["accelerators"].values() for m in (a["quotaMetric"], a["spotQuotaMetric"])}
    return {
        "aws": frozenset(data()["aws"]["vcpuQuotas"]),
        "gcp": frozenset({*gcp["computeQuotaMetrics"], *metrics, GCP_ALL_REGIONS}),
    }


def quota_regions() -> dict[str, tuple[str, ...]]:
    """Regions a policy config may name, per cloud (GCP's project-wide quota sits under ``global``)."""
    return {"aws": tuple(data()["aws"]["regions"]), "gcp": (*data()["gcp"]["regions"], GLOBAL)}


_SHOWN = 8
"""How many allowed families an error message lists."""


def _guess(word: str, known: Iterable[str]) -> str:
    import difflib

    hint = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {hint[0]}?)" if hint else ""


def quota_config_problems(quotas: Any, at: str = "quotas") -> list[str]:
    """Why a ``quotas`` policy config is wrong (unknown cloud, region or family; not a count), all at once.

    A typo must never switch the quota gate off silently: a family spelled wrong would otherwise just be
    "quota unknown".
    """
    if not isinstance(quotas, Mapping):
        return [f"{at}: expected an object keyed by cloud ({', '.join(sorted(UNITS))})"]
    families, regions = quota_families(), quota_regions()
    problems: list[str] = []
    for cloud, by_region in quotas.items():
        if cloud not in UNITS:
            problems.append(
                f"{at}.{cloud}: unknown cloud{_guess(str(cloud), UNITS)}; allowed: {', '.join(sorted(UNITS))}"
            )
            continue
        if not isinstance(by_region, Mapping):
            problems.append(f"{at}.{cloud}: expected an object keyed by region")
            continue
        for region, by_family in by_region.items():
            where = f"{at}.{cloud}.{region}"
            if region not in regions[cloud]:
                problems.append(f"{where}: unknown {cloud} region{_guess(str(region), regions[cloud])}")
                continue
            if not isinstance(by_family, Mapping):
                problems.append(f"{where}: expected an object keyed by quota family")
                continue
            # GCP's project-wide GPU quota lives under "global", and only there.
            known = {GCP_ALL_REGIONS} if region == GLOBAL else families[cloud] - {GCP_ALL_REGIONS}
            for family, amount in by_family.items():
                if family not in known:
                    shown = sorted(known)
                    allowed = ", ".join(shown[:_SHOWN]) + (
                        f", ... ({len(shown)} in all)" if len(shown) > _SHOWN else ""
                    )
                    problems.append(
                        f"{where}.{family}: not one of {cloud}'s GPU quota families here{_guess(str(family), known)}; "
                        f"allowed: {allowed}"
                    )
                elif (
                    isinstance(amount, bool)
                    or not isinstance(amount, int | float)
                    or amount < 0
                    or amount != int(amount)
                ):
                    problems.append(f"{where}.{family}: {amount!r} is not a quota; allowed: a whole number >= 0")
    return problems
