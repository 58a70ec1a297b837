"""The plan's summary (JSON) and its readable table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.model import PlatformConfig

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


def pool_rows(config: PlatformConfig) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "gpu": p.gpu,
            "gpusPerNode": p.gpus_per_node,
            "minNodes": p.min_nodes,
            "maxNodes": p.max_nodes,
            "capacity": p.capacity.value,
            "maxGpus": p.max_gpus,
            "sharing": p.sharing.mode.value,
            "sharingFactor": p.sharing.factor,
            "maxSchedulableGpus": p.max_schedulable_gpus,
            "simulated": p.simulated,
        }
        for p in config.node_pools
    ]


def build_summary(
    stack: str,
    config_path: Path,
    config: PlatformConfig,
    capture: Capture,
    policy_run: PolicyRun,
    policy_config_path: Path | None,
) -> dict[str, Any]:
    by_type = Counter(r.type for r in capture.registrations)
    by_policy: dict[str, dict[str, Any]] = {}
    for v in policy_run.violations:
        entry = by_policy.setdefault(v.policy, {"enforcementLevel": v.enforcement_level, "count": 0, "messages": []})
        entry["count"] += 1
        entry["messages"].append({"urn": v.urn, "message": v.message})
    return {
        "stack": stack,
        "config": _rel(config_path),
        "cloud": config.cloud.value,
        "resources": len(capture.registrations),
        "resourcesByType": dict(sorted(by_type.items())),
        "pools": pool_rows(config),
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


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def render_table(summary: dict[str, Any]) -> str:
    lines = [f"stack {summary['stack']} ({summary['cloud']}): {summary['resources']} resources planned", ""]
    lines += _table(["resource type", "count"], [[t, str(n)] for t, n in summary["resourcesByType"].items()])
    lines.append("")
    rows = [
        [
            p["name"],
            str(p["gpu"]),
            str(p["gpusPerNode"]),
            f"{p['minNodes']}..{p['maxNodes']}",
            p["capacity"],
            str(p["maxGpus"]),
            p["sharing"] + (f" x{p['sharingFactor']}" if p["sharingFactor"] > 1 else ""),
            str(p["maxSchedulableGpus"]),
            "yes" if p["simulated"] else "",
        ]
        for p in summary["pools"]
    ]
    lines.append("GPU capacity per pool")
    lines += _table(
        ["pool", "gpu", "gpus/node", "nodes", "capacity", "max gpus", "sharing", "schedulable", "simulated"], rows
    )
    lines.append("")
    v = summary["violations"]
    lines.append(f"policy violations: {v['total']} ({v['mandatory']} mandatory)")
    for policy, entry in v["byPolicy"].items():
        lines.append(f"  {policy} [{entry['enforcementLevel']}]: {entry['count']}")
        for item in entry["messages"]:
            where = item["urn"].rsplit("::", 1)[-1] if item["urn"] else "stack"
            lines.append(f"    - {where}: {item['message']}")
    return "\n".join(lines)
