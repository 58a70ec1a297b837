"""Any cluster that exists already (kind, k3d, on-prem, a managed cluster made elsewhere)."""

from __future__ import annotations

from collections.abc import Iterable

from components.catalog import Offering
from stacks.clouds.base import Capability, CloudBackend, Issue, key
from stacks.model import Cloud, NodePool, PlatformConfig


class Existing(CloudBackend):
    cloud = Cloud.EXISTING
    capabilities = frozenset(
        {
            Capability.IN_CLUSTER_STORAGE,
            Capability.KUBECONFIG,
            Capability.EXISTING_NODES,
            Capability.SIMULATED_GPUS,
            Capability.GPU_SOFTWARE_CHOICE,
        }
    )
    builder = "infra.clouds.existing"

    def offering(self, pool: NodePool) -> None:
        return None  # the nodes exist; the config says which GPU they carry

    def pool_zones(self, config: PlatformConfig, pool: NodePool, offering: Offering) -> tuple[str, ...]:
        return ()

    def access(self, config: PlatformConfig) -> dict[str, str]:
        c = config.cluster
        source = "the inline kubeconfig" if c.kubeconfig else (c.kubeconfig_path or "$KUBECONFIG or ~/.kube/config")
        context = f"context {c.context}" if c.context else "its current context"
        return {
            "endpoint": f"the cluster of {source}, {context}: wherever `pulumi up` runs must reach it",
            "deployer": "the kubeconfig's user, allowed to create namespaces, cluster-scoped objects (Kueue's "
            "queues, Helm charts' CRDs) and to patch the pools' nodes",
        }

    def check(self, config: PlatformConfig) -> Iterable[Issue]:
        for i, pool in enumerate(config.node_pools):
            if pool.gpu is None:
                yield key(f"nodePools[{i}].gpu"), "required on cloud existing (which GPU the pool's nodes have)"


EXISTING = Existing()
