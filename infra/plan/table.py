"""The plan's summary for people: what a reviewer needs first (the GPU pools, the quota table with headroom,
the cost, violations grouped by policy), the resource counts last. Tables by rich; long cells wrap to the
width; colours only when asked (on a terminal), so piped and CI output is plain and byte-identical."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

LEVEL_STYLE = {"mandatory": "bold red", "advisory": "yellow", "remediate": "magenta", "disabled": "dim"}


def _table(title: str, headers: list[str], rows: list[list[str]], wrap: frozenset[int] = frozenset()) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for i, header in enumerate(headers):
        if i in wrap:
            table.add_column(header, overflow="fold", min_width=12, ratio=1)
        else:
            # Folded, never cut, on a narrow terminal; at the default 120 columns nothing here needs to wrap.
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _pools(summary: dict[str, Any]) -> Table:
    rows = [
        [
            p["name"],
            str(p["gpu"]) + (" (simulated)" if p["simulated"] else ""),
            p["instanceType"] or "-",
            str(p["gpusPerNode"]),
            f"{p['minNodes']}..{p['maxNodes']}",
            p["capacity"],
            p["sharing"],
            f"{p['maxGpus']}/{p['maxSchedulableGpus']}",
            f"{p['quotaFamilyName']}: {p['maxQuotaUse']} {p['quotaUnit']}" if p["quotaFamily"] else "-",
        ]
        for p in summary["pools"]
    ]
    headers = ["pool", "gpu", "type", "gpus/node", "nodes", "capacity", "sharing", "gpus/sched"]
    return _table("GPU pools at maximum scale", [*headers, "quota family: draw"], rows, frozenset({8}))


def _quotas(summary: dict[str, Any]) -> Table:
    rows = [
        [
            q["cloud"],
            q["region"],
            q["familyName"],
            f"{q['plannedMax']} {q['unit']}",
            "unknown" if q["quota"] is None else str(q["quota"]),
            "-" if q["inUse"] is None else str(q["inUse"]),
            "-" if q["headroom"] is None else str(q["headroom"]),
            q["source"],
        ]
        for q in summary["quotas"]
    ]
    headers = ["cloud", "region", "family", "planned max", "quota", "in use", "headroom", "source"]
    title = "Cloud GPU quotas (headroom: quota - planned max - in use, where the cloud reports use)"
    return _table(title, headers, rows, frozenset({2, 7}))


def _costs(summary: dict[str, Any]) -> Table:
    costs = summary["costs"]
    budget = costs["monthlyBudget"]
    title = (
        f"GPU cost at maximum scale (on-demand): ${costs['totalMonthlyAtMax']:,.0f}/month"
        + (f" of a ${budget:,.0f} budget" if budget is not None else "")
        + (f"; not priced: {', '.join(costs['unpriced'])}" if costs["unpriced"] else "")
    )
    rows = [
        [
            c["pool"],
            c["type"],
            str(c["maxNodes"]),
            "-" if c["hourly"] is None else f"${c['hourly']:,.2f}",
            "-" if c["monthlyAtMax"] is None else f"${c['monthlyAtMax']:,.0f}",
            c["priceSource"],
        ]
        for c in costs["pools"]
    ]
    return _table(title, ["pool", "type", "max nodes", "per node-hour", "per month", "price"], rows, frozenset({5}))


def _violations(summary: dict[str, Any]) -> list[RenderableType]:
    v = summary["violations"]
    parts: list[RenderableType] = [Text(f"policy violations: {v['total']} ({v['mandatory']} mandatory)", style="bold")]
    for policy, entry in v["byPolicy"].items():
        level = entry["enforcementLevel"]
        line = Text("  ")
        line.append(f"{policy} [{level}]", style=LEVEL_STYLE.get(level, ""))
        line.append(f": {entry['count']}")
        parts.append(line)
        messages = Table.grid(padding=0)
        messages.add_column(no_wrap=True)
        messages.add_column(overflow="fold")
        for item in entry["messages"]:
            where = item["urn"].rsplit("::", 1)[-1] if item["urn"] else "stack"
            messages.add_row("    - ", f"{where}: {item['message']}")  # wrapped lines keep the indent
        parts.append(messages)
    return parts


def render(summary: dict[str, Any], color: bool = False, width: int = 120) -> str:
    access = summary["access"]
    parts: list[RenderableType] = [
        Text(
            f"stack {summary['stack']} ({summary['cloud']}): {summary['resources']} resources planned "
            f"(GPU catalog of {summary['catalogDate']})",
            style="bold",
        ),
        Text(f"API endpoint: {access.get('endpoint', '')}"),
        Text(f"pulumi up runs as: {access.get('deployer', '')}"),
        Text(""),
    ]
    if summary["pools"]:
        parts += [_pools(summary), Text("")]
    if summary["quotas"]:
        parts += [_quotas(summary), Text("")]
    if summary["costs"]["pools"]:
        parts += [_costs(summary), Text("")]
    parts += [*_violations(summary), Text("")]
    if "validation" in summary:
        parts.append(Text(f"validation: {summary['validation']['line']}"))
    if summary.get("otherConfigKeys"):
        parts.append(Text(f"provider config passed through: {', '.join(summary['otherConfigKeys'])}"))
    counts = [[t, str(n)] for t, n in summary["resourcesByType"].items()]
    parts += [Text(""), _table("Resources by type", ["resource type", "count"], counts)]
    console = Console(
        width=width,
        record=True,
        file=io.StringIO(),  # recorded, then returned: the caller prints it
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    console.print(Group(*parts))
    text = console.export_text(styles=color)
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")
