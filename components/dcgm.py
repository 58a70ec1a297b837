"""NVIDIA DCGM exporter (device-plugin stack): GPU metrics on every real GPU node. Pure data.

The chart creates the DaemonSet and its Service; a ServiceMonitor is added only
when the Prometheus operator's CRDs exist (config says so), since the chart
would otherwise fail on an unknown kind.
"""

from collections.abc import Sequence
from typing import Any

from components.device_plugin import affinity, tolerations
from components.pool_spec import PoolSpec


def helm_values(pools: Sequence[PoolSpec], service_monitor: bool) -> dict[str, Any]:
    return {
        "service": {"enable": True},
        "serviceMonitor": {"enabled": service_monitor},
        "tolerations": tolerations(pools),
        # Same nodes as the device plugin: real NVIDIA GPUs, not simulated ones.
        "affinity": affinity(),
        "priorityClassName": "system-node-critical",
    }
