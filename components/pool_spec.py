"""What GPU components need to know about a node pool: a small, cloud-neutral spec.

The stack config model maps onto these types (``infra/layers.py``); components
never see the config model itself. Pure data, no Pulumi.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from components import labels as L
from components.catalog import GPUS, Gpu


class SharingMode(StrEnum):
    NONE = "none"
    TIME_SLICING = "time-slicing"
    MPS = "mps"


@dataclass(frozen=True)
class SharingSpec:
    mode: SharingMode = SharingMode.NONE
    replicas: int = 1
    """Pods per physical GPU (1 when not shared)."""
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = True


@dataclass(frozen=True)
class TaintSpec:
    key: str
    value: str
    effect: str


GPU_TAINT = TaintSpec(L.GPU_TAINT_KEY, L.GPU_TAINT_VALUE, L.GPU_TAINT_EFFECT)


@dataclass(frozen=True)
class PoolSpec:
    name: str
    gpu: str
    """Portable GPU name (a key of ``catalog.GPUS``)."""
    gpus_per_node: int
    max_nodes: int
    sharing: SharingSpec = SharingSpec()
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra node labels from config."""
    extra_taints: tuple[TaintSpec, ...] = ()
    simulated: bool = False

    @property
    def gpu_info(self) -> Gpu:
        return GPUS[self.gpu]

    @property
    def taints(self) -> tuple[TaintSpec, ...]:
        """The GPU taint first, then the pool's own."""
        return (GPU_TAINT, *(t for t in self.extra_taints if t != GPU_TAINT))

    @property
    def device_plugin_config(self) -> str:
        """Name of this pool's entry in the device-plugin ConfigMap."""
        return self.name

    def node_labels(self, device_plugin: bool = True) -> dict[str, str]:
        """Labels every node of the pool carries (config labels cannot override the platform's).

        ``device_plugin``: whether our NVIDIA device plugin serves the node (not on GKE,
        which runs its own), so the node selects its sharing config by label.
        """
        out = dict(self.labels)
        out.update(
            {
                L.POOL_LABEL: self.name,
                L.GPU_LABEL: self.gpu,
                L.GPU_PRODUCT_LABEL: self.gpu_info.product,
            }
        )
        if self.simulated:
            out[L.SIMULATED_POOL_LABEL] = self.name
        elif device_plugin:
            out[L.DEVICE_PLUGIN_CONFIG_LABEL] = self.device_plugin_config
        return out

    @property
    def max_gpus(self) -> int:
        return self.max_nodes * self.gpus_per_node

    @property
    def max_schedulable_gpus(self) -> int:
        return self.max_gpus * self.sharing.replicas
