"""What GPU components need to know about a node pool: a small, cloud-neutral spec.

The stack config model maps onto these types (``stacks/resolve.py``); components
never see the config model itself. Pure data, no Pulumi. Capacity after sharing
and the resource names a pool advertises are computed here, once, for the
program, the config checks, the queues and the plan summary.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

from components import labels as L
from components.catalog import GPUS, Gpu
from components.catalog.gpus import mig_max_instances


class SharingMode(StrEnum):
    NONE = "none"
    TIME_SLICING = "time-slicing"
    MPS = "mps"


@dataclass(frozen=True)
class MigSpec:
    strategy: str
    """``single`` or ``mixed``."""
    layout: tuple[tuple[str, int], ...]
    """Per GPU: (profile, count), sorted by profile."""


def mig_layout(gpu: str, profile: str | None, layout: Mapping[str, int] | None) -> tuple[tuple[str, int], ...]:
    """A uniform profile becomes ``{profile: as many as fit}``; a layout is taken as given."""
    if profile is not None:
        return ((profile, mig_max_instances(GPUS[gpu], profile)),)
    return tuple(sorted((layout or {}).items()))


@dataclass(frozen=True)
class SharingSpec:
    mode: SharingMode = SharingMode.NONE
    replicas: int = 1
    """Pods per physical GPU (or per MIG slice) (1 when not shared)."""
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = True
    mig: MigSpec | None = None


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
    external_device_plugin: bool = False
    """The node image ships its own device plugin (Bottlerocket NVIDIA): ours must not run there."""
    cpus_per_node: int = 0
    """vCPUs per node (catalog on clouds, config or a per-GPU default on existing clusters)."""
    memory_gib_per_node: int = 0
    topology_levels: tuple[str, ...] = ()
    """Node labels of the nodes' network topology, outermost first (empty: the nodes report none)."""

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

    @property
    def mig_config(self) -> str:
        """Name of this pool's entry in the MIG manager ConfigMap."""
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
        elif self.external_device_plugin:
            out[L.EXTERNAL_DEVICE_PLUGIN_LABEL] = "true"
        elif device_plugin:
            out[L.DEVICE_PLUGIN_CONFIG_LABEL] = self.device_plugin_config
            if self.sharing.mig is not None:
                out[L.MIG_CONFIG_LABEL] = self.mig_config
        return out

    @property
    def max_gpus(self) -> int:
        """Physical GPUs at maximum scale."""
        return self.max_nodes * self.gpus_per_node

    def node_resources(self) -> Mapping[str, int]:
        """Extended resources one node advertises, after MIG and sharing (read-only)."""
        return MappingProxyType(self._node_resources)

    def resources(self) -> Mapping[str, int]:
        """Extended resources the pool advertises at maximum scale, after MIG and sharing (read-only)."""
        return MappingProxyType(self._resources)

    # Computed once per spec: the queues ask every pool for its resources once per team.
    @cached_property
    def _node_resources(self) -> dict[str, int]:
        shared = ".shared" if self.sharing.mode is not SharingMode.NONE and self.sharing.rename_by_default else ""
        mig = self.sharing.mig
        per_gpu: list[tuple[str, int]] = [(L.GPU_RESOURCE, 1)]
        if mig is not None and mig.strategy == "mixed":
            per_gpu = [(f"nvidia.com/mig-{profile}", n) for profile, n in mig.layout]
        elif mig is not None:
            per_gpu = [(L.GPU_RESOURCE, sum(n for _, n in mig.layout))]
        return {f"{name}{shared}": self.gpus_per_node * n * self.sharing.replicas for name, n in per_gpu}

    @cached_property
    def _resources(self) -> dict[str, int]:
        return {name: amount * self.max_nodes for name, amount in self._node_resources.items()}

    @property
    def max_schedulable_gpus(self) -> int:
        """All GPU units (GPUs, MIG slices, shared replicas) the pool advertises at maximum scale."""
        return sum(self.resources().values())
