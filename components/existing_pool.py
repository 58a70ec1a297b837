"""The GPU pools of a cluster that exists already: labels (and, if asked, taints) on the nodes that form them.

The platform cannot create nodes on an existing cluster, but it owns their GPU
labels: each listed node gets a server-side-apply ``NodePatch`` (its own field
manager, ``pulumi-kubernetes-<suffix>`` per resource) that sets only those keys, so labels others manage stay
untouched. Taints are different: ``Node.spec.taints`` has no list-map keys, so
server-side apply treats the list as one atomic value and whoever applies it
owns all of it. A patch therefore sets taints only when its pool asks
(``taint_nodes``), and then replaces every taint others set on that node.

One component holds every pool's patches: a component per pool added a
registration per pool for nothing but grouping (the patch names carry the pool).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.pool_spec import PoolSpec

LEGACY_POOL_TYPE = "gpu-platform:index:ExistingNodePool"
"""The per-pool component the patches were parented to before; their aliases point there."""


@dataclass(frozen=True)
class ExistingPool:
    pool: PoolSpec
    nodes: tuple[str, ...]
    """Names of the nodes that form the pool."""
    taint_nodes: bool = False
    """Also own the nodes' taint list (the pool's taints, GPU taint first)."""


@dataclass(frozen=True)
class ExistingNodesArgs:
    pools: Sequence[ExistingPool]


class ExistingNodes(pulumi.ComponentResource):
    def __init__(self, name: str, args: ExistingNodesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:ExistingNodes", name, None, opts)
        stack, project = pulumi.get_stack(), pulumi.get_project()
        for existing in args.pools:
            pool = existing.pool
            labels = pool.node_labels()
            taints: list[k8s.core.v1.TaintPatchArgsDict] = [
                {"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints
            ]
            # The full old URN, not Alias(parent=...): the SDK sends a URN as it is, but resolves an alias
            # spec per resource (a fifth of the plan's time at a hundred nodes, measured).
            old_prefix = f"urn:pulumi:{stack}::{project}::{LEGACY_POOL_TYPE}$kubernetes:core/v1:NodePatch::"
            for node in existing.nodes:
                k8s.core.v1.NodePatch(
                    f"pool-{pool.name}-{node}",
                    # Plain dicts (the Args types' TypedDict form): the same wire input, without the SDK's
                    # reflection over typed Args classes, per node.
                    metadata={"name": node, "labels": labels},
                    spec={"taints": taints} if existing.taint_nodes else None,
                    opts=pulumi.ResourceOptions(parent=self, aliases=[f"{old_prefix}pool-{pool.name}-{node}"]),
                )
        self.register_outputs({})
