"""The plan's summary (JSON) and its readable table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.catalog import CATALOG_DATE
from components.pool_spec import PoolSpec
from policies.guardrails.prices import PoolCost, pool_cost
from policies.guardrails.quota import QuotaDraw, QuotaRow, family_name, gcp_global_draws, tally
from stacks.clouds import backend
from stacks.model import PlatformConfig
from stacks.resolve import ResolvedPool, pool_specs, resolve_pools

if TYPE_CHECKING:  # the CLI imports this module before the Pulumi runtime loads
    from infra.plan.engine import Capture
    from infra.plan.policy_runner import PolicyRun

ROOT = Path(__file__).resolve().parents[2]


def _rel(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _draw(config: PlatformConfig, rp: ResolvedPool) -> QuotaDraw:
    o = rp.offering
    per_node = f"{o.quota_per_node} {o.quota_unit}"
    detail = f"{rp.pool.max_nodes} x {o.instance_type} x {per_node}"
    return QuotaDraw(config.cloud.value, config.region, rp.quota_family, rp.pool.name, rp.max_quota_use, detail)


def sharing_text(spec: PoolSpec) -> str:
    """``none``, ``time-slicing x4``, ``mig 7x1g.10gb``, ``mig 2x3g.40gb + time-slicing x2`` ..."""
    parts = []
    if spec.sharing.mig is not None:
        parts.append(f"mig {spec.sharing.mig.strategy} " + "+".join(f"{n}x{p}" for p, n in spec.sharing.mig.layout))
    if spec.sharing.mode.value != "none":
        parts.append(f"{spec.sharing.mode.value} x{spec.sharing.replicas}")
    return " + ".join(parts) or "none"


def pool_rows(config: PlatformConfig, resolved_pools: list[ResolvedPool]) -> list[dict[str, Any]]:
    resolved = {rp.pool.name: rp for rp in resolved_pools}
    specs = {spec.name: spec for spec in pool_specs(config, resolved_pools)}
    rows = []
    for p in config.node_pools:
        rp, spec = resolved.get(p.name), specs[p.name]
        rows.append(
            {
                "name": p.name,
                "gpu": spec.gpu,
                "instanceType": rp.offering.instance_type if rp else "",
                "gpusPerNode": spec.gpus_per_node,
                "minNodes": p.min_nodes,
                "maxNodes": p.max_nodes,
                "capacity": p.capacity.value,
                "maxGpus": spec.max_gpus,
                "sharing": sharing_text(spec),
                "maxSchedulableGpus": spec.max_schedulable_gpus,
                "resources": dict(spec.resources()),
                "simulated": p.simulated,
                "zones": list(rp.zones) if rp else [],
                "quotaFamily": rp.quota_family if rp else "",
                "quotaFamilyName": family_name(rp.offering.cloud, rp.quota_family) if rp else "",
                "maxQuotaUse": rp.max_quota_use if rp else 0,
                "quotaUnit": rp.offering.quota_unit if rp else "",
            }
        )
    return rows


def quota_rows(config: PlatformConfig, resolved: list[ResolvedPool], quota_config: dict[str, Any]) -> list[QuotaRow]:
    """The quota table as ``gpu-cloud-quota`` judges it: configured quotas, and with ``liveLookup`` what the clouds
    say (the same lookup and merge the policy runs)."""
    from policies.guardrails.cloud_quota import merge

    draws = [_draw(config, rp) for rp in resolved]
    rows = tally(draws + gcp_global_draws(draws), quota_config.get("quotas") or {})
    return merge(rows, quota_config, config.project)


def cost_rows(config: PlatformConfig, resolved: list[ResolvedPool], cost_config: dict[str, Any]) -> list[PoolCost]:
    """Each cloud pool's monthly ceiling, priced as ``gpu-cost-ceiling`` prices it (the same function)."""
    rows = []
    for rp in resolved:
        o = rp.offering
        # GCP N1 machines bill their attached GPUs apart; accelerator-optimized types include them.
        gpus = (o.accelerator, o.gpus_per_node) if o.instance_type.startswith("n1-") else ("", 0)
        prices = cost_config.get("prices") or {}
        rows.append(pool_cost(o.cloud, rp.pool.name, o.instance_type, rp.pool.max_nodes, prices, gpus=gpus))
    return sorted(rows, key=lambda c: c.pool)


def _cost_table(config: PlatformConfig, resolved: list[ResolvedPool], cost_config: dict[str, Any]) -> dict[str, Any]:
    rows = cost_rows(config, resolved, cost_config)
    return {
        "pools": [
            {
                "pool": c.pool,
                "type": c.machine,
                "maxNodes": c.max_nodes,
                "hourly": None if c.hourly is None else round(c.hourly, 5),
                "monthlyAtMax": None if c.monthly is None else round(c.monthly, 2),
                "priceSource": c.source or "no price known",
            }
            for c in rows
        ],
        "totalMonthlyAtMax": round(sum(c.monthly or 0.0 for c in rows), 2),
        "unpriced": [c.pool for c in rows if c.monthly is None],
        "monthlyBudget": cost_config.get("monthlyBudget"),
    }


def build_summary(
    stack: str,
    config_path: Path,
    config: PlatformConfig,
    capture: Capture,
    policy_run: PolicyRun,
    policy_config_path: Path | None,
) -> dict[str, Any]:
    by_type = Counter(r.type for r in capture.registrations)
    resolved = resolve_pools(config)
    quota_table = [
        {
            "cloud": r.cloud,
            "region": r.region,
            "family": r.family,
            "familyName": family_name(r.cloud, r.family),
            "unit": r.unit,
            "plannedMax": r.total,
            "quota": r.quota,
            "source": r.source if r.quota is not None else (r.unknown_reason or "not configured"),
            "inUse": r.usage,
            "inUseSource": r.usage_note,
            "headroom": r.headroom,
            "pools": {d.pool: d.amount for d in r.draws},
        }
        for r in quota_rows(config, resolved, policy_run.config.get("gpu-cloud-quota") or {})
    ]
    by_policy: dict[str, dict[str, Any]] = {}
    for v in policy_run.violations:
        entry = by_policy.setdefault(v.policy, {"enforcementLevel": v.enforcement_level, "count": 0, "messages": []})
        entry["count"] += 1
        entry["messages"].append({"urn": v.urn, "message": v.message})
    return {
        "stack": stack,
        "config": _rel(config_path),
        "cloud": config.cloud.value,
        "catalogDate": CATALOG_DATE,
        "access": backend(config.cloud).access(config),
        "resources": len(capture.registrations),
        "resourcesByType": dict(sorted(by_type.items())),
        "pools": pool_rows(config, resolved),
        "quotas": quota_table,
        "costs": _cost_table(config, resolved, policy_run.config.get("gpu-cost-ceiling") or {}),
        "outputs": capture.outputs,
        "secretOutputs": capture.secret_outputs,
        "policyConfig": _rel(policy_config_path),
        "policies": dict(sorted(policy_run.policies.items())),
        "violations": {
            "total": len(policy_run.violations),
            "mandatory": len(policy_run.mandatory),
            "byPolicy": dict(sorted(by_policy.items())),
        },
    }


def render_table(summary: dict[str, Any], color: bool = False, width: int = 120) -> str:
    """The summary as a reviewer reads it (``infra.plan.table``): pools, quotas, cost, violations, then counts."""
    from infra.plan.table import render

    return render(summary, color=color, width=width)
