"""``python -m infra.catalog``: list the GPU offerings the platform knows, per cloud.

    python -m infra.catalog                          every offering, as an aligned table
    python -m infra.catalog --cloud aws --gpu l4     L4 instance types on AWS
    python -m infra.catalog --min-gpus 8 --json      8+ GPU nodes, as JSON
    python -m infra.catalog --region us-east-1       with the zones of that region offering each type

The table's first line gives the catalog date (``CATALOG_DATE``); ``--json`` prints
``{"catalogDate": ..., "offerings": [...]}``. With ``--region``, each offering gets the zones of
that region that offer it: AWS zone IDs (``use1-az1``; zone names differ per account), GCP zone names.
Reads only the pure-data catalog (no Pulumi, no cloud SDK), so it is fast and offline.
Exit codes: 0 listed (possibly nothing); 2 invalid arguments (argparse names the allowed values).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import components.catalog as catalog
from components.catalog import CLOUDS, GPU_NAMES, Offering, aws_zone_ids, cloud_gpus, gcp_zones, offerings

COLUMNS: tuple[tuple[str, str], ...] = (
    ("CLOUD", "cloud"),
    ("GPU", "gpu"),
    ("TYPE", "instanceType"),
    ("ARCH", "arch"),
    ("GPUS", "gpusPerNode"),
    ("VCPUS", "vcpus"),
    ("MEM GiB", "memoryGiB"),
    ("GPU MEM GiB", "gpuMemoryGiB"),
    ("QUOTA", "quota"),
    ("SPOT QUOTA", "spotQuota"),
    ("PER NODE", "quotaPerNode"),
    ("EFA", "maxEfaInterfaces"),
    ("ACCELERATOR", "accelerator"),
)
ZONES_COLUMN = ("ZONES", "zones")
"""Shown with ``--region``: AWS zone IDs or GCP zone names of that region offering the type."""
_NUMERIC = {"gpusPerNode", "vcpus", "memoryGiB", "gpuMemoryGiB", "quotaPerNode", "maxEfaInterfaces"}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m infra.catalog",
        description="List the GPU offerings (AWS instance types, GCP machine types) the platform can build pools from.",
    )
    p.add_argument("--cloud", choices=CLOUDS, help="only this cloud")
    p.add_argument("--gpu", choices=GPU_NAMES, metavar="NAME", help=f"only this GPU ({', '.join(GPU_NAMES)})")
    p.add_argument("--min-gpus", type=_positive, metavar="N", help="only nodes with at least N GPUs")
    p.add_argument(
        "--region", metavar="REGION", help="add the zones of REGION offering each type (AWS: zone IDs; GCP: zones)"
    )
    p.add_argument("--json", action="store_true", help="print JSON ({catalogDate, offerings}) instead of a table")
    return p


def offering_zones(o: Offering, region: str) -> list[str]:
    """Zones of ``region`` offering ``o``: AWS zone IDs, GCP zone names; empty when none (or unknown)."""
    return list(aws_zone_ids(o.instance_type, region) if o.cloud == "aws" else gcp_zones(o.accelerator, region))


def as_record(o: Offering, region: str | None = None) -> dict[str, Any]:
    """The JSON shape of one offering (camelCase keys, like the stack config); ``region`` adds its zones."""
    record: dict[str, Any] = {
        "cloud": o.cloud,
        "gpu": o.gpu,
        "instanceType": o.instance_type,
        "arch": o.arch,
        "gpusPerNode": o.gpus_per_node,
        "vcpus": o.vcpus,
        "memoryGiB": o.memory_gib,
        "gpuMemoryGiB": o.gpu_memory_gib,
        "quota": o.quota,
        "spotQuota": o.spot_quota,
        "quotaUnit": o.quota_unit,
        "quotaPerNode": o.quota_per_node,
        "maxEfaInterfaces": o.max_efa_interfaces,
        "accelerator": o.accelerator,
    }
    if region is not None:
        record["region"] = region
        record["zones"] = offering_zones(o, region)
    return record


def _cell(key: str, record: dict[str, Any]) -> str:
    value = record[key]
    if isinstance(value, float):
        return f"{value:.1f}"
    if key == "quotaPerNode":
        return f"{value} {record['quotaUnit']}"
    if isinstance(value, list):
        return ",".join(value) if value else "-"
    return str(value) if value != "" else "-"


def render_table(records: list[dict[str, Any]]) -> str:
    columns = COLUMNS + ((ZONES_COLUMN,) if records and "zones" in records[0] else ())
    rows = [[title for title, _ in columns]] + [[_cell(key, r) for _, key in columns] for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if key in _NUMERIC else cell.ljust(width)
            for cell, width, (_, key) in zip(row, widths, columns, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def heading(region: str | None) -> str:
    """The line above the table: the catalog date, and the region whose zones are shown."""
    where = f"; zones in {region} (AWS: zone IDs)" if region else ""
    return f"GPU catalog of {catalog.CATALOG_DATE}{where}"


def _nothing(args: argparse.Namespace) -> str:
    if args.cloud and args.gpu and args.gpu not in cloud_gpus(args.cloud):
        return f"no {args.cloud} offering for {args.gpu}; {args.cloud} offers: {', '.join(cloud_gpus(args.cloud))}"
    return "no offering matches these filters"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    records = [as_record(o, args.region) for o in offerings(args.cloud, args.gpu, args.min_gpus)]
    if args.json:
        print(json.dumps({"catalogDate": catalog.CATALOG_DATE, "offerings": records}, indent=2))
    elif records:
        print(heading(args.region))
        print(render_table(records))
    else:
        print(_nothing(args), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
