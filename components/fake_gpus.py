"""fake-gpu-operator values: simulated GPU pools for clusters without GPUs. Pure data.

The operator's status-updater labels nodes that carry
``run.ai/simulated-gpu-node-pool=<pool>`` and its device plugin advertises the
topology's GPUs there (chart values ``topology.nodePools``).
"""

from collections.abc import Sequence
from typing import Any

from components import labels as L
from components.pool_spec import PoolSpec


def helm_values(pools: Sequence[PoolSpec]) -> dict[str, Any]:
    node_pools = {
        pool.name: {
            "gpuProduct": pool.gpu_info.product,
            "gpuCount": pool.gpus_per_node,
            "gpuMemory": pool.gpu_info.memory_mib,
        }
        for pool in sorted(pools, key=lambda p: p.name)
        if pool.simulated
    }
    return {
        "topology": {
            "nodePools": node_pools,
            "nodePoolLabelKey": L.SIMULATED_POOL_LABEL,
            # No MIG on simulated pools; the chart's default is "mixed".
            "migStrategy": "none",
        },
    }
