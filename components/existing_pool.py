"""A GPU node pool made of nodes that already exist in the cluster.

The platform cannot create nodes on an existing cluster, but it owns their GPU
labels: each listed node gets a server-side-apply ``NodePatch`` (field manager
``pulumi-kubernetes``) that sets only those keys, so labels others manage stay
untouched. Taints are different: ``Node.spec.taints`` has no list-map keys, so
server-side apply treats the list as one atomic value and whoever applies it
owns all of it. The patch therefore sets taints only when the pool asks
(``taint_nodes``), and then replaces every taint others set on those nodes.
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
    taint_nodes: bool = False
    """Also own the nodes' taint list (the pool's taints, GPU taint first)."""


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
                spec=k8s.core.v1.NodeSpecPatchArgs(taints=taints) if args.taint_nodes else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.max_gpus = pulumi.Output.from_input(pool.max_gpus)
        self.max_schedulable_gpus = pulumi.Output.from_input(pool.max_schedulable_gpus)
        self.register_outputs({"maxGpus": self.max_gpus, "maxSchedulableGpus": self.max_schedulable_gpus})
