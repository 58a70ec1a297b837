"""The GPU software layer of a cluster: namespace, NVIDIA device plugin, fake GPUs."""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import device_plugin, fake_gpus
from components import labels as L
from components.pool_spec import PoolSpec
from components.versions import FAKE_GPU_OPERATOR, NVIDIA_DEVICE_PLUGIN, ChartPin


@dataclass(frozen=True)
class GpuSoftwareArgs:
    namespace: str
    """Namespace of the GPU system components."""
    pools: Sequence[PoolSpec]
    """Every GPU pool of the cluster (sharing configs, tolerations, fake topology)."""
    device_plugin: bool = True
    """Install the NVIDIA device plugin."""
    gpu_feature_discovery: bool = False
    """Also run GPU feature discovery with the device plugin."""
    fake_gpus: bool = False
    """Install fake-gpu-operator for the pools marked simulated."""


class GpuSoftware(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: GpuSoftwareArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:GpuSoftware", name, None, opts)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                # Device plugins mount host paths and run privileged.
                labels={L.MANAGED_BY_LABEL: L.MANAGED_BY, "pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = ns.metadata.name
        if args.device_plugin:
            self._create_device_plugin(name, args, ns)
        if args.fake_gpus:
            self._release(
                f"{name}-fake-gpus", "fake-gpu-operator", FAKE_GPU_OPERATOR, fake_gpus.helm_values(args.pools), ns
            )
        self.register_outputs({"namespace": self.namespace})

    def _create_device_plugin(self, name: str, args: GpuSoftwareArgs, ns: k8s.core.v1.Namespace) -> None:
        # The sharing configs are a typed ConfigMap of ours rather than the
        # chart's `config.map`, so they render and validate offline and show
        # up in diffs as data, not as an opaque Helm value.
        config_map_name = "nvidia-device-plugin-configs"
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-device-plugin-configs",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=config_map_name, namespace=ns.metadata.name, labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}
            ),
            data=device_plugin.config_map_data(args.pools),
            opts=pulumi.ResourceOptions(parent=self),
        )
        values = device_plugin.helm_values(config_map_name, args.pools, args.gpu_feature_discovery)
        self._release(
            f"{name}-device-plugin", "nvidia-device-plugin", NVIDIA_DEVICE_PLUGIN, dict(values), ns, [config_map]
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
        return k8s.helm.v3.Release(
            resource_name,
            k8s.helm.v3.ReleaseArgs(
                name=release_name,
                chart=pin.chart,
                version=pin.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo) if pin.repo else None,
                namespace=ns.metadata.name,
                values=values,
                # Roll back a failed upgrade instead of leaving a half-applied release.
                atomic=True,
                cleanup_on_fail=True,
                max_history=5,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
