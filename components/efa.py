"""The AWS EFA device plugin: without it no pod can request ``vpc.amazonaws.com/efa`` (EKS AMIs lack it).

The chart pins its own node affinity to EFA-capable instance types; it must
tolerate the GPU pools' taints to reach them.
"""

from collections.abc import Sequence
from typing import Any

import pulumi

from components import helm
from components.device_plugin import tolerations
from components.pool_spec import PoolSpec
from components.versions import EFA_DEVICE_PLUGIN

NAMESPACE = "kube-system"


def helm_values(pools: Sequence[PoolSpec]) -> dict[str, Any]:
    """The subset of the chart's values the platform sets (paths checked against the chart's values.yaml)."""
    return {"tolerations": tolerations(pools)}


class EfaDevicePlugin(pulumi.ComponentResource):
    def __init__(self, name: str, pools: Sequence[PoolSpec], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:EfaDevicePlugin", name, None, opts)
        helm.release(
            f"{name}-release", "aws-efa-k8s-device-plugin", EFA_DEVICE_PLUGIN, NAMESPACE, helm_values(pools), self
        )
        self.register_outputs({})
