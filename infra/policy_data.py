"""Generate the policy pack's packaged data from the project's catalog and version pins.

``python tasks.py policy-data`` (or ``python -m infra.policy_data``) writes
``policies/guardrails/data/platform.json``; ``--check`` exits 1 when the committed file is stale.

The pack must be self-contained (``pulumi policy publish`` uploads only its directory), so the
facts it needs from the one GPU catalog and the one table of version pins travel with it as
this generated file. ``tests/test_policy_data.py`` keeps the two in agreement.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "policies" / "guardrails" / "data" / "platform.json"

# The charts the pack names in its checks, by the role it knows them under.
CHART_ROLES = {
    "nvidiaDevicePlugin": "NVIDIA_DEVICE_PLUGIN",
    "gpuOperator": "GPU_OPERATOR",
    "fakeGpuOperator": "FAKE_GPU_OPERATOR",
    "efaDevicePlugin": "EFA_DEVICE_PLUGIN",
    "clusterAutoscaler": "CLUSTER_AUTOSCALER",
    "karpenter": "KARPENTER",
}


def build() -> dict[str, Any]:
    from components import versions
    from components.catalog import (
        CATALOG_DATE,
        EC2_VCPU_QUOTAS,
        EKS_UNSUPPORTED_ZONE_IDS,
        GCP_ACCELERATORS,
        GCP_COMPUTE_GPU_QUOTA_METRICS,
        GCP_MACHINE_TYPES,
        GCP_METRICS_NOT_IN_COMPUTE_API,
        GCP_ZONE_REGIONS,
        GPUS,
    )
    from components.catalog.aws import AWS_INSTANCE_TYPES, aws_known_regions
    from components.catalog.prices import PRICES

    return {
        "generatedBy": "python tasks.py policy-data (from components/catalog and components/versions); do not edit",
        "catalogDate": CATALOG_DATE,
        "aws": {
            "regions": list(aws_known_regions()),
            "eksUnsupportedZoneIds": sorted(EKS_UNSUPPORTED_ZONE_IDS),
            "vcpuQuotas": {
                q.code: {"name": q.name, "purchaseOption": q.purchase_option} for q in EC2_VCPU_QUOTAS.values()
            },
            "instanceTypes": {
                t.name: {
                    "gpu": t.gpu,
                    "gpus": t.gpus,
                    "vcpus": t.vcpus,
                    "quotaOnDemand": t.quota_on_demand,
                    "quotaSpot": t.quota_spot,
                }
                for t in sorted(AWS_INSTANCE_TYPES.values(), key=lambda t: t.name)
            },
        },
        "gcp": {
            "regions": sorted(GCP_ZONE_REGIONS),
            "computeQuotaMetrics": sorted(GCP_COMPUTE_GPU_QUOTA_METRICS),
            "metricsNotInComputeApi": sorted(GCP_METRICS_NOT_IN_COMPUTE_API),
            "accelerators": {
                a.name: {"gpu": a.gpu, "quotaMetric": a.quota_metric, "spotQuotaMetric": a.spot_quota_metric}
                for a in sorted(GCP_ACCELERATORS.values(), key=lambda a: a.name)
            },
            "machineTypes": {
                m.name: {"accelerator": m.accelerator, "gpus": m.gpus, "vcpus": m.vcpus}
                for m in sorted(GCP_MACHINE_TYPES.values(), key=lambda m: m.name)
            },
        },
        "gpus": {g.name: {"migProfiles": list(g.mig_profiles)} for g in sorted(GPUS.values(), key=lambda g: g.name)},
        "charts": [
            {
                "chart": p.chart,
                "version": p.version,
                "repo": p.repo,
                "crdGroups": list(p.crd_groups),
                "apiserverPorts": list(p.apiserver_ports),
                "webhookLabels": list(p.webhook_labels),
            }
            for p in versions.CHARTS
        ],
        "chartRoles": {role: getattr(versions, const).chart for role, const in CHART_ROLES.items()},
        "eksAmiFirstRelease": dict(versions.EKS_VERSIONS),
        "prices": PRICES.as_data(),
    }


def render() -> str:
    return json.dumps(build(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.policy_data", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is not current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run python tasks.py policy-data", file=sys.stderr)
            return 1
        print(f"{OUT.relative_to(ROOT)} is current")
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
