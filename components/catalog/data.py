"""The catalog's generated data file: AWS zone IDs per region and per GPU instance type, dated.

``data/aws_zones.json`` is written by ``python -m infra.catalog_refresh`` (``python3 tasks.py
catalog-refresh``) and committed; nothing reads moto or a cloud API at run time. The file is read on
first use and cached. Its shape (``CatalogData``)::

    {"generated": "YYYY-MM-DD",                   the date of the data (``CATALOG_DATE``)
     "sources": ["moto 5.2.5: ..."],              where the data came from, with versions
     "aws": {"<region>": {"zones": [zone IDs of the region],
                          "offerings": {"<instance type>": [zone IDs offering it]}}}}

Zone IDs (``use1-az1``), not zone names (``us-east-1a``): AWS maps zone names to physical zones
differently in every account, zone IDs are the same everywhere. Only catalogued GPU and system-pool instance types
are listed; every list is sorted. ``render`` is the one serializer (refresh and ``--check`` use it),
so the same data always gives the same bytes: sorted keys, one line per region and per offering.
"""

import functools
import json
from importlib import resources
from typing import TypedDict, cast

DATA_PACKAGE = "components.catalog"
DATA_PATH = ("data", "aws_zones.json")
"""The data file, relative to the ``components.catalog`` package (shipped as package data)."""


class AwsRegionData(TypedDict):
    zones: list[str]
    """Every zone ID of the region the source knows (sorted)."""
    offerings: dict[str, list[str]]
    """Catalogued instance type -> zone IDs of the region that offer it (sorted); absent: not offered."""


class CatalogData(TypedDict):
    generated: str
    """ISO date (YYYY-MM-DD) the data was generated."""
    sources: list[str]
    """Source names and versions, e.g. ``moto 5.2.5: ec2/resources/instance_type_offerings/...``."""
    aws: dict[str, AwsRegionData]
    """Region -> its zones and offerings."""


def read_text() -> str:
    """The committed data file's text."""
    return resources.files(DATA_PACKAGE).joinpath(*DATA_PATH).read_text(encoding="utf-8")


@functools.cache
def load() -> CatalogData:
    """The data file, parsed once per process."""
    return cast(CatalogData, json.loads(read_text()))


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def render(data: CatalogData) -> str:
    """The file's text for ``data``: deterministic, compact, one line per region and per offering."""
    lines = [
        "{",
        f'  "generated": {_dumps(data["generated"])},',
        f'  "sources": {_dumps(sorted(data["sources"]))},',
        '  "aws": {',
    ]
    regions = sorted(data["aws"])
    for r_index, region in enumerate(regions):
        entry = data["aws"][region]
        lines.append(f"    {_dumps(region)}: {{")
        lines.append(f'      "zones": {_dumps(sorted(entry["zones"]))},')
        types = sorted(entry["offerings"])
        if not types:
            lines.append('      "offerings": {}')
        else:
            lines.append('      "offerings": {')
            for t_index, name in enumerate(types):
                comma = "," if t_index < len(types) - 1 else ""
                lines.append(f"        {_dumps(name)}: {_dumps(sorted(entry['offerings'][name]))}{comma}")
            lines.append("      }")
        lines.append("    }" + ("," if r_index < len(regions) - 1 else ""))
    lines += ["  }", "}", ""]
    return "\n".join(lines)
