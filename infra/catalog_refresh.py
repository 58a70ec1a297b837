"""``python -m infra.catalog_refresh``: regenerate the catalog's AWS zone data file.

    python -m infra.catalog_refresh                   from the installed moto's data, dated today
    python -m infra.catalog_refresh --date 2026-11-29 dated as given
    python -m infra.catalog_refresh --check           exit 1, saying what, if the committed file differs
    python -m infra.catalog_refresh --source aws      from EC2 itself (needs AWS credentials)
    python -m infra.catalog_refresh --source auto     EC2 when boto3 finds credentials, else moto

Writes ``components/catalog/data/aws_zones.json`` (format: ``components.catalog.data``): per region
every zone ID and, per catalogued GPU instance type and system-pool type, the zone IDs offering it. The default source is
moto's bundled ``DescribeInstanceTypeOfferings`` snapshot (``ec2/resources/instance_type_offerings``,
``availability-zone-id`` for the zones, ``region`` as a cross-check), found without importing moto;
``tests/test_catalog.py`` checks the committed file regenerates from it byte for byte, so commit what
``--source moto`` writes. ``--source aws`` (EC2 ``DescribeInstanceTypeOfferings`` by zone ID, per enabled
region) is for seeing what the snapshot misses: run it with ``--check``. Output is deterministic: sorted,
no timestamps but the date; ``--check`` keeps the committed file's date unless ``--date`` is given.

Exit codes: 0 written or up to date; 1 ``--check`` found differences; 2 bad arguments, or no usable
source (neither moto installed nor AWS credentials), with a message.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import importlib.metadata
import importlib.util
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from components.catalog import AWS_INSTANCE_TYPES
from components.catalog.aws import AWS_SYSTEM_INSTANCE_TYPES
from components.catalog.data import DATA_PACKAGE, DATA_PATH, AwsRegionData, CatalogData, render

SOURCES = ("moto", "aws", "auto")
_FILTER_CHUNK = 100
"""Instance type names per ``instance-type`` filter in one EC2 request."""
_SHOWN = 20
"""How many differences ``--check`` prints before ``... and N more``."""


def instance_types() -> list[str]:
    """What the zone table covers: the catalogued GPU instance types and the system-pool types."""
    return sorted({*AWS_INSTANCE_TYPES, *AWS_SYSTEM_INSTANCE_TYPES})


class SourceUnavailable(RuntimeError):
    """No usable source for the data; the message says what is missing and what to do."""


def data_file() -> Path:
    """Where the data file lives in this checkout (the package directory of ``components.catalog``)."""
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SourceUnavailable(f"cannot locate the {DATA_PACKAGE} package")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*DATA_PATH)


# ---------------------------------------------------------------- moto's bundled snapshot


def moto_offerings_dir() -> Path | None:
    """moto's ``ec2/resources/instance_type_offerings`` directory, found without importing moto."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources" / "instance_type_offerings"
    return path if path.is_dir() else None


def _read_rows(path: Path) -> list[dict[str, str]]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    rows: list[dict[str, str]] = json.loads(data)
    return rows


def _region_files(directory: Path) -> dict[str, Path]:
    return {p.name.split(".json", 1)[0]: p for p in sorted(directory.glob("*.json*"))}


def from_moto(types: Iterable[str], date: str) -> CatalogData:
    """The data from the installed moto's offerings snapshot."""
    base = moto_offerings_dir()
    if base is None:
        raise SourceUnavailable(
            "moto is not installed (it ships the offerings snapshot): pip install -r requirements-dev.txt, "
            "or use --source aws with AWS credentials"
        )
    wanted = set(types)
    by_zone_id, by_region = _region_files(base / "availability-zone-id"), _region_files(base / "region")
    if not by_zone_id:
        raise SourceUnavailable(f"no offerings by zone ID under {base}; this moto version is not supported")
    aws: dict[str, AwsRegionData] = {}
    for region, path in by_zone_id.items():
        rows = _read_rows(path)
        offered: dict[str, set[str]] = {}
        for row in rows:
            if row["InstanceType"] in wanted:
                offered.setdefault(row["InstanceType"], set()).add(row["Location"])
        # moto's per-region list must agree with its per-zone lists: a type in a region is in some zone there.
        in_region = (
            {r["InstanceType"] for r in _read_rows(by_region[region])} & wanted if region in by_region else set()
        )
        if in_region != set(offered):
            odd = ", ".join(sorted(in_region ^ set(offered)))
            raise SourceUnavailable(f"moto's region and zone-ID offerings disagree for {region}: {odd}")
        aws[region] = {
            "zones": sorted({row["Location"] for row in rows}),
            "offerings": {name: sorted(zones) for name, zones in sorted(offered.items())},
        }
    version = importlib.metadata.version("moto")
    source = f"moto {version}: ec2/resources/instance_type_offerings/availability-zone-id (region/ cross-checked)"
    return {"generated": date, "sources": [source], "aws": aws}


# ---------------------------------------------------------------- EC2 itself (optional)


def aws_session() -> Any | None:
    """A boto3 session that has credentials, or ``None`` (boto3 missing or no credentials)."""
    try:
        import boto3
    except ImportError:
        return None
    session = boto3.Session()
    return session if session.get_credentials() is not None else None


def from_aws(types: Iterable[str], date: str, session: Any, regions: Sequence[str] | None = None) -> CatalogData:
    """The data from EC2: zone IDs per enabled region (or ``regions``) and the catalogued types' offerings."""
    from botocore.exceptions import BotoCoreError, ClientError

    names = sorted(set(types))
    aws: dict[str, AwsRegionData] = {}
    try:
        if regions is None:
            home = session.client("ec2", region_name=session.region_name or "us-east-1")
            regions = sorted(r["RegionName"] for r in home.describe_regions()["Regions"])
        for region in regions:
            ec2 = session.client("ec2", region_name=region)
            zones = ec2.describe_availability_zones(Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}])
            offered: dict[str, set[str]] = {}
            pages = ec2.get_paginator("describe_instance_type_offerings")
            for start in range(0, len(names), _FILTER_CHUNK):
                chunk = names[start : start + _FILTER_CHUNK]
                filters = [{"Name": "instance-type", "Values": chunk}]
                for page in pages.paginate(LocationType="availability-zone-id", Filters=filters):
                    for o in page["InstanceTypeOfferings"]:
                        offered.setdefault(o["InstanceType"], set()).add(o["Location"])
            aws[region] = {
                "zones": sorted(z["ZoneId"] for z in zones["AvailabilityZones"]),
                "offerings": {name: sorted(zones_) for name, zones_ in sorted(offered.items())},
            }
    except (BotoCoreError, ClientError) as err:
        raise SourceUnavailable(f"reading EC2 failed: {err}") from err
    version = importlib.metadata.version("botocore")
    source = f"aws ec2 API (botocore {version}): DescribeInstanceTypeOfferings by availability-zone-id"
    return {"generated": date, "sources": [source], "aws": aws}


def generate(source: str, date: str) -> CatalogData:
    """The data from ``source`` (``moto``, ``aws`` or ``auto``) for the catalogued instance types."""
    types = instance_types()
    if source in ("aws", "auto"):
        session = aws_session()
        if session is not None:
            return from_aws(types, date, session)
        if source == "aws":
            raise SourceUnavailable("no AWS credentials (boto3 found none); use --source moto")
    return from_moto(types, date)


# ---------------------------------------------------------------- comparing


def _zones_delta(old: Sequence[str], new: Sequence[str]) -> str:
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    return " ".join([*(f"+{z}" for z in added), *(f"-{z}" for z in removed)])


def differences(old: CatalogData, new: CatalogData) -> list[str]:
    """What changed from ``old`` to ``new``, one short line per fact (empty: the same data)."""
    out = []
    for key in ("generated", "sources"):
        if old.get(key) != new.get(key):
            out.append(f"{key}: {json.dumps(old.get(key))} -> {json.dumps(new.get(key))}")
    old_aws, new_aws = old.get("aws", {}), new.get("aws", {})
    for region in sorted(set(old_aws) | set(new_aws)):
        if region not in new_aws:
            out.append(f"{region}: region removed")
            continue
        if region not in old_aws:
            out.append(f"{region}: region added ({len(new_aws[region]['offerings'])} offerings)")
            continue
        before, after = old_aws[region], new_aws[region]
        if before["zones"] != after["zones"]:
            out.append(f"{region} zones: {_zones_delta(before['zones'], after['zones'])}")
        for name in sorted(set(before["offerings"]) | set(after["offerings"])):
            was, now = before["offerings"].get(name, []), after["offerings"].get(name, [])
            if was != now:
                out.append(f"{region} {name}: {_zones_delta(was, now)}")
    return out


def committed() -> tuple[str, CatalogData | None]:
    """The committed file's text and data (``""``, ``None`` when missing or not JSON)."""
    path = data_file()
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        return text, json.loads(text) if text else None
    except json.JSONDecodeError:
        return text, None


def check(source: str = "moto", date: str | None = None) -> list[str]:
    """Regenerate in memory; what differs from the committed file (empty: byte-identical)."""
    text, old = committed()
    if date is None:
        date = (old.get("generated") if old is not None else None) or datetime.date.today().isoformat()
    new = generate(source, date)
    if render(new) == text:
        return []
    if old is None:
        return [f"{data_file()}: missing or not JSON"]
    return differences(old, new) or ["same data, different formatting"]


# ---------------------------------------------------------------- command line


def _date(text: str) -> str:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if day > datetime.date.today():
        raise argparse.ArgumentTypeError(f"{text} is in the future")
    return day.isoformat()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m infra.catalog_refresh",
        description="Regenerate the GPU catalog's AWS zone data (components/catalog/data/aws_zones.json).",
    )
    p.add_argument("--date", type=_date, help="date of the data, YYYY-MM-DD (default: today; --check: the file's)")
    p.add_argument("--source", choices=SOURCES, default="moto", help="where to read offerings (default: moto)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the committed file differs")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.check:
            found = check(args.source, args.date)
            if not found:
                print(f"{data_file()} is up to date")
                return 0
            print(f"{data_file()} differs from what --source {args.source} generates:")
            for line in found[:_SHOWN]:
                print(f"  {line}")
            if len(found) > _SHOWN:
                print(f"  ... and {len(found) - _SHOWN} more")
            print("regenerate it with: python3 tasks.py catalog-refresh")
            return 1
        data = generate(args.source, args.date or datetime.date.today().isoformat())
        path = data_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(data), encoding="utf-8")
    except SourceUnavailable as err:
        print(f"catalog-refresh: {err}", file=sys.stderr)
        return 2
    offered = sum(len(r["offerings"]) for r in data["aws"].values())
    print(f"wrote {path}: {len(data['aws'])} regions, {offered} (region, instance type) offerings, {data['generated']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
