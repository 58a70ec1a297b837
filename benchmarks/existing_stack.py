"""The ``existing`` benchmark stack: N GPU pools of named nodes on a cluster the platform does not create.

``make_raw`` generates the stack config; the bare side is the generic replay of
whatever ours registers (``benchmarks/replay.py``).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import make_teams

CLUSTER = "bench"
CONTEXT = "kind-bench"
GPU_NAMESPACE = "gpu-operator"
GPU_CYCLE = ("l4", "t4", "a10g", "h100")


def make_raw(size: int) -> dict[str, Any]:
    """A stack config (the ``gpu-platform:`` keys, prefix removed) with ``size`` GPU node pools.

    Pool i: GPU cycling over ``GPU_CYCLE``, 1..8 GPUs per node (12 vCPUs and
    96 GiB per GPU), one named node, time-slicing x4 when i % 3 == 0, simulated
    (fake GPUs) when i % 3 == 1, so both Helm releases' values and the
    device-plugin ConfigMap grow with N. min(60, max(1, N/10)) teams, half of them
    borrowing, so the queues grow with N x teams.
    """
    pools: list[dict[str, Any]] = []
    for i in range(size):
        pool: dict[str, Any] = {
            "name": f"pool-{i:04d}",
            "gpu": GPU_CYCLE[i % len(GPU_CYCLE)],
            "gpusPerNode": i % 8 + 1,
            "maxNodes": 1 + i % 3,
            "nodes": [f"node-{i:04d}"],
            "cpusPerNode": 12 * (i % 8 + 1),
            "memoryGiBPerNode": 96 * (i % 8 + 1),
        }
        if i % 3 == 0:
            pool["sharing"] = {"mode": "time-slicing", "replicas": 4}
        elif i % 3 == 1:
            pool["simulated"] = True
        pools.append(pool)
    return {
        "cloud": "existing",
        "cluster": {"name": CLUSTER, "context": CONTEXT},
        "nodePools": pools,
        "gpuSoftware": {
            "namespace": GPU_NAMESPACE,
            "stack": "device-plugin",
            "devicePlugin": {"enabled": True, "gpuFeatureDiscovery": False},
            "dcgm": {"enabled": True, "serviceMonitor": False},
            "fakeGpus": {"enabled": True},
        },
        # At most 60 teams: every borrowing team's queue holds a flavor per pool with quota, and Kueue
        # allows 64 (the config check refuses more).
        "teams": make_teams(pools, min(60, max(1, size // 10))),
        "queues": {"enabled": True, "cohort": "gpu-platform", "allowOvercommit": False},
    }
