"""The ``gcp`` benchmark stack: a GKE cluster with N GPU node pools, each with its own service account.

``make_raw`` generates the stack config; the bare side is the generic replay of
whatever ours registers (``benchmarks/replay.py``).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import make_teams

CLUSTER = "bench"
REGION = "us-central1"
PROJECT = "bench-project"
GPU_CYCLE = (("l4", 1), ("a100-40gb", 1), ("h100", 8))
"""(portable GPU, GPUs per node): g2-standard-4, a2-highgpu-1g, a3-highgpu-8g, all offered in REGION."""
ENDPOINT_CIDR = "11.0.0.0/24"
"""A public range that is not a documentation range (those are refused: no machine running Pulumi has them)."""
TEAMS = 4
"""A few teams, half of them borrowing: the queues grow with N x TEAMS."""


def make_raw(size: int) -> dict[str, Any]:
    """A GKE stack config with ``size`` GPU pools.

    Pool i: (GPU, count) cycling over ``GPU_CYCLE``, spot when i is even,
    on-demand when odd, 0..1+i%3 nodes, driver LATEST when i % 4 >= 2 (else
    DEFAULT), time-slicing x4 when i % 3 == 0. No stack zones: every pool uses
    the region's zones that offer its accelerator. ``TEAMS`` teams; DCGM metrics
    on (GKE's managed DCGM).
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
            "driverVersion": "LATEST" if i % 4 >= 2 else "DEFAULT",
            "diskSizeGiB": 200,
        }
        if i % 3 == 0:
            pool["sharing"] = {"mode": "time-slicing", "replicas": 4}
        pools.append(pool)
    return {
        "cloud": "gcp",
        "region": REGION,
        "project": PROJECT,
        "cluster": {
            "name": CLUSTER,
            "kubernetesVersion": "1.35",
            "releaseChannel": "REGULAR",
            # GKE gives every node a /24 of pod addresses from half the network: a /12 holds the
            # ~2,000 nodes a 1000-pool stack may grow to (a /16 only 128).
            "networkCidr": "10.0.0.0/12",
            "publicEndpointCidrs": [ENDPOINT_CIDR],
            "systemPool": {"machineType": "e2-standard-4", "minNodes": 2, "maxNodes": 4},
        },
        "nodePools": pools,
        "gpuSoftware": {"namespace": "gpu-operator", "dcgm": {"enabled": True, "serviceMonitor": False}},
        "teams": make_teams(pools, TEAMS),
        "queues": {"enabled": True, "cohort": "gpu-platform", "allowOvercommit": False},
    }
