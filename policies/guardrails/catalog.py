"""The catalog facts the pack checks against, read from its packaged data file.

``data/platform.json`` is generated from the project's GPU catalog and version pins
(``python tasks.py policy-data``; a test keeps them in agreement), so the pack needs
nothing outside its own directory: ``pulumi policy publish`` uploads only that.
Read-only data, loaded once; no policy writes to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "platform.json"


@cache
def data() -> Mapping[str, Any]:
    loaded: Mapping[str, Any] = json.loads(DATA.read_text())
    return loaded


@dataclass(frozen=True)
class AwsInstance:
    name: str
    gpu: str
    gpus: int
    vcpus: int
    quota_on_demand: str
    quota_spot: str


@dataclass(frozen=True)
class GcpAccelerator:
    name: str
    gpu: str
    quota_metric: str
    spot_quota_metric: str


@dataclass(frozen=True)
class ChartPin:
    chart: str
    version: str
    repo: str | None
    crd_groups: tuple[str, ...]
    apiserver_ports: tuple[int, ...]
    webhook_labels: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.chart.rsplit("/", 1)[-1]


def aws_instance(instance_type: str) -> AwsInstance | None:
    row = data()["aws"]["instanceTypes"].get(instance_type)
    if row is None:
        return None
    return AwsInstance(instance_type, row["gpu"], row["gpus"], row["vcpus"], row["quotaOnDemand"], row["quotaSpot"])


def gcp_accelerator(accelerator: str) -> GcpAccelerator | None:
    row = data()["gcp"]["accelerators"].get(accelerator)
    if row is None:
        return None
    return GcpAccelerator(accelerator, row["gpu"], row["quotaMetric"], row["spotQuotaMetric"])


def gcp_accelerators() -> list[GcpAccelerator]:
    return [a for name in sorted(data()["gcp"]["accelerators"]) if (a := gcp_accelerator(name))]


def aws_quota_name(code: str) -> str:
    """``Running On-Demand G and VT instances`` for ``L-DB2E81BA``; the code itself when unknown."""
    return str((data()["aws"]["vcpuQuotas"].get(code) or {}).get("name") or code)


def mig_profiles() -> list[str]:
    return sorted({p for gpu in data()["gpus"].values() for p in gpu["migProfiles"]})


def eks_unsupported_zone_ids() -> frozenset[str]:
    return frozenset(data()["aws"]["eksUnsupportedZoneIds"])


@cache
def charts() -> tuple[ChartPin, ...]:
    return tuple(
        ChartPin(
            c["chart"],
            c["version"],
            c["repo"],
            tuple(c["crdGroups"]),
            tuple(c["apiserverPorts"]),
            tuple(c["webhookLabels"]),
        )
        for c in data()["charts"]
    )


def chart_pin(chart: str) -> ChartPin | None:
    """The pin of a chart reference as a Helm release names it (full reference or bare name)."""
    name = chart.rsplit("/", 1)[-1]
    return next((p for p in charts() if p.chart == chart or p.name == name), None)


def chart_for(role: str) -> ChartPin:
    """The pinned chart the pack knows under ``role`` (``nvidiaDevicePlugin``, ``karpenter`` ...)."""
    pin = chart_pin(data()["chartRoles"][role])
    assert pin is not None, role  # the generator writes roles from the same pins
    return pin


def ami_release_problem(
    alias: str, kubernetes_version: str, first_releases: Mapping[str, str] | None = None
) -> str | None:
    """Why a Karpenter ``al2023@vYYYYMMDD`` alias has no AMI for ``kubernetes_version``, or ``None``.

    ``first_releases`` maps an EKS version to its first AL2023 AMI release (default: the packaged table)."""
    table = data()["eksAmiFirstRelease"] if first_releases is None else first_releases
    family, _, release = alias.partition("@")
    first = table.get(kubernetes_version)
    if family != "al2023" or not release.startswith("v") or first is None:
        return None
    if release < first:
        return (
            f"the pinned Karpenter AMI {alias!r} predates EKS {kubernetes_version} (its first AL2023 AMI release is "
            f"{first}): Karpenter would find no AMI and launch nothing; pin a release from {first} on in "
            "components/versions.py (KARPENTER_AMI_ALIAS) or use an older Kubernetes version"
        )
    return None
