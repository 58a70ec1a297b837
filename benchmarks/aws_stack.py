"""The ``aws`` benchmark stack: an EKS cluster with N managed GPU node groups.

``make_raw`` generates the stack config; the bare side is the generic replay of
whatever ours registers (``benchmarks/replay.py``).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import make_teams

CLUSTER = "bench"
REGION = "us-east-1"
ZONES = ("use1-az1", "use1-az2", "use1-az4")
"""Zones by ID (names map to different zones in every account)."""
GPU_CYCLE = (("l4", 1), ("a10g", 1), ("l40s", 1), ("h100", 8))
"""(portable GPU, GPUs per node): g6.xlarge, g5.xlarge, g6e.xlarge, p5.48xlarge, all offered in ZONES."""
ADMIN = "arn:aws:iam::123456789012:role/platform-admins"
ENDPOINT_CIDR = "11.0.0.0/24"
"""A public range that is not a documentation range (those are refused: no machine running Pulumi has them)."""
TEAMS = 4
"""A few teams, half of them borrowing: the queues grow with N x TEAMS."""


def make_raw(size: int) -> dict[str, Any]:
    """An EKS stack config with ``size`` managed GPU pools.

    Pool i: (GPU, count) cycling over ``GPU_CYCLE``, spot when i is even,
    on-demand when odd, 0..1+i%3 nodes, Bottlerocket when i % 4 == 3 (else
    AL2023), time-slicing x4 when i % 3 == 0 (Bottlerocket pools then get
    their sharing as user data). No EFA, no Karpenter. ``TEAMS`` teams.
    """
    pools: list[dict[str, Any]] = []
    for i in range(size):
        gpu, count = GPU_CYCLE[i % len(GPU_CYCLE)]
        pool: dict[str, Any] = {
            "name": f"pool-{i:04d}",
            "gpu": gpu,
            "gpusPerNode": count,
            "capacity": "spot" if i % 2 == 0 else "on-demand",
            "minNodes": 0,
            "maxNodes": 1 + i % 3,
            "amiType": "bottlerocket" if i % 4 == 3 else "al2023",
            "provisioner": "managed",
            "efa": False,
            "diskSizeGiB": 200,
        }
        if i % 3 == 0:
            pool["sharing"] = {"mode": "time-slicing", "replicas": 4}
        pools.append(pool)
    return {
        "cloud": "aws",
        "region": REGION,
        "zones": list(ZONES),
        "cluster": {
            "name": CLUSTER,
            "kubernetesVersion": "1.33",
            "networkCidr": "10.0.0.0/16",
            "publicEndpointCidrs": [ENDPOINT_CIDR],
            "admins": [ADMIN],
            "singleNatGateway": True,
            "systemPool": {"instanceType": "m6i.large", "minNodes": 2, "maxNodes": 4},
            "karpenter": False,
        },
        "nodePools": pools,
        "gpuSoftware": {
            "namespace": "gpu-operator",
            "stack": "device-plugin",
            "devicePlugin": {"enabled": True, "gpuFeatureDiscovery": False},
            "dcgm": {"enabled": True, "serviceMonitor": False},
        },
        "teams": make_teams(pools, TEAMS),
        "queues": {"enabled": True, "cohort": "gpu-platform", "allowOvercommit": False},
    }
