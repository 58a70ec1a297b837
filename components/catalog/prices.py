"""On-demand GPU prices: the shipped defaults of the ``gpu-cost-ceiling`` policy and the plan's cost table.

Prices move; these are a dated snapshot with their source, for an order-of-magnitude ceiling
("this stack at maximum scale costs about $X a month"), not a bill. Organisations override
them (negotiated rates, other regions) in the policy config (``gpu-cost-ceiling.prices``).
One region per cloud: other regions differ by a few to a few tens of percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HOURS_PER_MONTH = 730
"""The month both clouds bill by (365 x 24 / 12)."""


@dataclass(frozen=True)
class CloudPrices:
    region: str
    """The region the prices are for."""
    date: str
    """When the prices were recorded at the source (YYYY-MM-DD)."""
    source: str
    """Where they come from."""
    hourly: Mapping[str, float]
    """USD per hour on demand, by instance or machine type (accelerator-optimized GCP types include their GPUs)."""
    gpu_hourly: Mapping[str, float] = field(default_factory=dict)
    """USD per GPU-hour of accelerators billed apart from their machine (GCP N1 + T4)."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """Why a row (or a family, by prefix) is missing or deviates from the source."""

    def as_data(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "date": self.date,
            "source": self.source,
            "hourly": dict(sorted(self.hourly.items())),
            "gpuHourly": dict(sorted(self.gpu_hourly.items())),
            "notes": dict(sorted(self.notes.items())),
        }


@dataclass(frozen=True)
class PriceTable:
    clouds: Mapping[str, CloudPrices]

    def as_data(self) -> dict[str, Any]:
        return {"hoursPerMonth": HOURS_PER_MONTH, **{c: p.as_data() for c, p in sorted(self.clouds.items())}}


_SKYPILOT = "github.com/skypilot-org/skypilot-catalog"

AWS_PRICES = CloudPrices(
    region="us-east-1",
    date="2026-11-30",
    source=(
        f"{_SKYPILOT} catalogs/v8/aws/vms.csv @ 00148f2af3672e2229b4f7bf8157d5a3f36e3c35 (P family and g7e, after "
        "AWS's June 2025 P4/P5 price cut) and catalogs/v7/aws/vms.csv @ 27f67dd4e1bc0d35fa0ec075180ad54b230882c4 "
        "(other G sizes; every size read in both had the same on-demand price); Linux on-demand"
    ),
    hourly={
        "g4dn.xlarge": 0.526,
        "g4dn.2xlarge": 0.752,
        "g4dn.4xlarge": 1.204,
        "g4dn.8xlarge": 2.176,
        "g4dn.12xlarge": 3.912,
        "g4dn.16xlarge": 4.352,
        "g4dn.metal": 7.824,
        "g5.xlarge": 1.006,
        "g5.2xlarge": 1.212,
        "g5.4xlarge": 1.624,
        "g5.8xlarge": 2.448,
        "g5.12xlarge": 5.672,
        "g5.16xlarge": 4.096,
        "g5.24xlarge": 8.144,
        "g5.48xlarge": 16.288,
        "g5g.xlarge": 0.42,
        "g5g.2xlarge": 0.556,
        "g5g.4xlarge": 0.828,
        "g5g.8xlarge": 1.372,
        "g5g.16xlarge": 2.744,
        "g5g.metal": 2.744,
        "g6.xlarge": 0.8048,
        "g6.2xlarge": 0.9776,
        "g6.4xlarge": 1.3232,
        "g6.8xlarge": 2.0144,
        "g6.12xlarge": 4.6016,
        "g6.16xlarge": 3.3968,
        "g6.24xlarge": 6.6752,
        "g6.48xlarge": 13.3504,
        "g6e.xlarge": 1.861,
        "g6e.2xlarge": 2.24208,
        "g6e.4xlarge": 3.00424,
        "g6e.8xlarge": 4.52856,
        "g6e.12xlarge": 10.49264,
        "g6e.16xlarge": 7.57719,
        "g6e.24xlarge": 15.06559,
        "g6e.48xlarge": 30.13118,
        "g7e.2xlarge": 3.36312,
        "g7e.4xlarge": 3.99816,
        "g7e.8xlarge": 5.26824,
        "g7e.12xlarge": 8.28608,
        "g7e.24xlarge": 16.57216,
        "g7e.48xlarge": 33.14432,
        "gr6.4xlarge": 1.5392,
        "gr6.8xlarge": 2.4464,
        "p4d.24xlarge": 21.957642,
        "p4de.24xlarge": 27.44705,
        "p5.4xlarge": 6.88,
        "p5.48xlarge": 55.04,
        "p5en.48xlarge": 63.296,
        "p6-b200.48xlarge": 113.9328,
    },
    notes={
        "p5e.48xlarge": "no us-east-1 price in the source",
        "p6-b300.48xlarge": "the source lists it only in us-west-2",
        "g7": "no g7 rows in the source",
    },
)
"""AWS on-demand prices, us-east-1."""

GCP_PRICES = CloudPrices(
    region="us-central1",
    date="2026-11-30",
    source=(
        f"{_SKYPILOT} catalogs/v8/gcp/vms.csv @ 006059e0f18acb1341e22a27751e9f80df6ba92f: machine part + GPU part "
        "(SkyPilot lists them apart; GCP bills accelerator-optimized types with their GPUs), on-demand"
    ),
    hourly={
        "a2-highgpu-1g": 3.67339,
        "a2-highgpu-2g": 7.34677,
        "a2-highgpu-4g": 14.69354,
        "a2-highgpu-8g": 29.38708,
        "a2-megagpu-16g": 55.73951,
        "a3-highgpu-1g": 10.97906,
        "a3-highgpu-2g": 21.95812,
        "a3-highgpu-4g": 43.91623,
        "a3-highgpu-8g": 87.83246,
        "a3-megagpu-8g": 92.21427,
        "a3-ultragpu-8g": 86.75992,
        "g2-standard-4": 0.70683,
        "g2-standard-8": 0.85362,
        "g2-standard-12": 1.00042,
        "g2-standard-16": 1.14721,
        "g2-standard-24": 2.00083,
        "g2-standard-32": 1.73438,
        "g2-standard-48": 4.00166,
        "g2-standard-96": 8.00333,
        "n1-standard-4": 0.19,
        "n1-standard-8": 0.38,
        "n1-standard-16": 0.76,
        "n1-standard-32": 1.51999,
    },
    gpu_hourly={"nvidia-tesla-t4": 0.35},
    notes={
        "a3-highgpu": "GPU part at the us-east4 H100 price (9.79655/GPU-h): the source's us-central1 H100 price "
        "(4.20076) is 43% of every other region's, so a ceiling from it would be too low",
        "a2-ultragpu": "no default: the source's A100 80GB GPU part is below its own spot price in us-central1 and "
        "about 40% under list price by a reviewer's check; set prices.gcp.hourly.<type> to your price",
        "a4-highgpu-8g": "the source prices only its GPUs (its machine row is a 0.0 placeholder)",
    },
)
"""GCP on-demand prices, us-central1 (N1 machine types without their T4s, which ``gpu_hourly`` prices)."""

PRICES = PriceTable(clouds={"aws": AWS_PRICES, "gcp": GCP_PRICES})
