"""Map configured pools onto the components' cloud-neutral ``PoolSpec``."""

from components.pool_spec import PoolSpec, SharingSpec, TaintSpec
from stacks.model import NodePool


def pool_spec(pool: NodePool, gpu: str, gpus_per_node: int) -> PoolSpec:
    """``gpu``/``gpus_per_node`` come from the catalog offering on clouds, from config on existing clusters."""
    sharing = pool.sharing
    return PoolSpec(
        name=pool.name,
        gpu=gpu,
        gpus_per_node=gpus_per_node,
        max_nodes=pool.max_nodes,
        sharing=SharingSpec(
            mode=sharing.mode,
            replicas=sharing.factor,
            rename_by_default=sharing.rename_by_default,
            fail_requests_greater_than_one=sharing.fail_requests_greater_than_one,
        ),
        labels=dict(pool.labels),
        extra_taints=tuple(TaintSpec(t.key, t.value, t.effect.value) for t in pool.taints),
        simulated=pool.simulated,
    )
