"""The GPU software layer of a cluster: namespace, device plugin or GPU Operator, DCGM, fake GPUs.

Which pieces run depends on the cluster: the NVIDIA device plugin (with DCGM
exporter) or the NVIDIA GPU Operator on EKS AL2023 nodes and existing clusters;
nothing on GKE (it installs drivers and runs its own device plugin). Per-pool
sharing configs are typed ConfigMaps of ours rather than chart values, so they
render and validate offline and show up in diffs as data.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import dcgm, device_plugin, fake_gpus, gpu_operator, helm
from components import labels as L
from components.pool_spec import PoolSpec
from components.versions import DCGM_EXPORTER, FAKE_GPU_OPERATOR, GPU_OPERATOR, NVIDIA_DEVICE_PLUGIN, ChartPin

DEVICE_PLUGIN = "device-plugin"
OPERATOR = "gpu-operator"
NONE = "none"
DEVICE_PLUGIN_CONFIGS = "nvidia-device-plugin-configs"
MIG_CONFIGS = "nvidia-mig-configs"


@dataclass(frozen=True)
class GpuSoftwareArgs:
    namespace: str
    """Namespace of the GPU system components."""
    pools: Sequence[PoolSpec]
    """Every GPU pool of the cluster (sharing configs, tolerations, fake topology)."""
    stack: str = DEVICE_PLUGIN
    """``device-plugin``, ``gpu-operator`` or ``none`` (the cluster runs its own, e.g. GKE)."""
    gpu_feature_discovery: bool = False
    """device-plugin stack: also run GPU feature discovery."""
    dcgm: bool = True
    """Export GPU metrics (DCGM exporter chart, or the operator's exporter)."""
    service_monitor: bool = False
    """Add a Prometheus ServiceMonitor for the exporter."""
    operator_driver: bool = False
    """gpu-operator stack: install the NVIDIA driver."""
    operator_toolkit: bool = False
    """gpu-operator stack: install the NVIDIA container toolkit."""
    fake_gpus: bool = False
    """Install fake-gpu-operator for the pools marked simulated."""
    mig_reboot: bool = False
    """gpu-operator stack: the MIG manager reboots nodes to change MIG mode (cloud VMs)."""
    mofed: bool | None = None
    """The device plugin's MOFED support; ``None`` keeps the chart's default."""


class GpuSoftware(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: GpuSoftwareArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:GpuSoftware", name, None, opts)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                # Device plugins and operator operands mount host paths and run privileged.
                labels={L.MANAGED_BY_LABEL: L.MANAGED_BY, "pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = ns.metadata.name
        if args.stack == DEVICE_PLUGIN:
            configs = self._config_map(
                f"{name}-device-plugin-configs", DEVICE_PLUGIN_CONFIGS, ns, device_plugin.config_map_data(args.pools)
            )
            plugin_values = device_plugin.helm_values(
                DEVICE_PLUGIN_CONFIGS, args.pools, args.gpu_feature_discovery, args.mofed
            )
            self._release(
                f"{name}-device-plugin",
                "nvidia-device-plugin",
                NVIDIA_DEVICE_PLUGIN,
                dict(plugin_values),
                ns,
                [configs],
            )
            if args.dcgm:
                self._release(
                    f"{name}-dcgm",
                    "dcgm-exporter",
                    DCGM_EXPORTER,
                    dcgm.helm_values(args.pools, args.service_monitor),
                    ns,
                )
        elif args.stack == OPERATOR:
            configs = self._config_map(
                f"{name}-device-plugin-configs", DEVICE_PLUGIN_CONFIGS, ns, device_plugin.config_map_data(args.pools)
            )
            migs = self._config_map(
                f"{name}-mig-configs", MIG_CONFIGS, ns, gpu_operator.mig_config_map_data(args.pools)
            )
            values = gpu_operator.helm_values(
                args.pools,
                DEVICE_PLUGIN_CONFIGS,
                MIG_CONFIGS,
                driver=args.operator_driver,
                toolkit=args.operator_toolkit,
                dcgm=args.dcgm,
                service_monitor=args.service_monitor,
                mig_reboot=args.mig_reboot,
                mofed=args.mofed,
            )
            self._release(f"{name}-operator", "gpu-operator", GPU_OPERATOR, values, ns, [configs, migs])
        if args.fake_gpus:
            self._release(
                f"{name}-fake-gpus", "fake-gpu-operator", FAKE_GPU_OPERATOR, fake_gpus.helm_values(args.pools), ns
            )
        self.register_outputs({"namespace": self.namespace})

    def _config_map(
        self, resource_name: str, name: str, ns: k8s.core.v1.Namespace, data: dict[str, str]
    ) -> k8s.core.v1.ConfigMap:
        return k8s.core.v1.ConfigMap(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=ns.metadata.name, labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}
            ),
            data=data,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _release(
        self,
        resource_name: str,
        release_name: str,
        pin: ChartPin,
        values: dict[str, object],
        ns: k8s.core.v1.Namespace,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.helm.v3.Release:
        return helm.release(resource_name, release_name, pin, ns.metadata.name, values, self, depends_on)
