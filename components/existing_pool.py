"""A GPU node pool made of nodes that already exist in the cluster.

The platform cannot create nodes on an existing cluster, but it owns their GPU
labels and taints: each listed node gets a server-side-apply ``NodePatch``
(field manager ``pulumi-kubernetes``) that sets only the fields below, so other
labels and taints managed by others stay untouched.
"""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.pool_spec import PoolSpec


@dataclass(frozen=True)
class ExistingNodePoolArgs:
    pool: PoolSpec
    nodes: tuple[str, ...]
    """Names of the nodes that form the pool."""


class ExistingNodePool(pulumi.ComponentResource):
    max_gpus: pulumi.Output[int]
    max_schedulable_gpus: pulumi.Output[int]

    def __init__(self, name: str, args: ExistingNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:ExistingNodePool", name, None, opts)
        pool = args.pool
        taints = [k8s.core.v1.TaintPatchArgs(key=t.key, value=t.value, effect=t.effect) for t in pool.taints]
        for node in args.nodes:
            k8s.core.v1.NodePatch(
                f"{name}-{node}",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node, labels=pool.node_labels()),
                spec=k8s.core.v1.NodeSpecPatchArgs(taints=taints),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.max_gpus = pulumi.Output.from_input(pool.max_gpus)
        self.max_schedulable_gpus = pulumi.Output.from_input(pool.max_schedulable_gpus)
        self.register_outputs({"maxGpus": self.max_gpus, "maxSchedulableGpus": self.max_schedulable_gpus})
