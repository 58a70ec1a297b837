"""gpu-pool-capacity and gpu-workload-fit: the GPUs promised and asked for fit the pools that exist.

A queue quota above what its pool can hold admits work that then sits Pending; a pod asking for more
GPUs than one node of its pool has never schedules; a training job larger than its team's quota is
never admitted. All of it is visible in the plan, before anything is applied. Both read the resource
graph only (``policies/capacity.py``): they protect programs built from the platform's components
without its config model too.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .capacity import POOL_LABEL, PoolCapacity, is_gpu_resource, number, pool_capacities
from .graph import Graph, Node, get, short
from .resource_types import KARPENTER_NODE_POOL
from .stack_policy import Finding, stack_policy

CAPACITY = "gpu-pool-capacity"
FIT = "gpu-workload-fit"
RESOURCE_FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


def _flavor_pools(graph: Graph) -> dict[str, str]:
    """ResourceFlavor name -> the pool its nodes carry."""
    return {
        str(get(n.props, "metadata", "name")): str(pool)
        for n in graph.of_type(RESOURCE_FLAVOR)
        if isinstance(pool := get(n.props, "spec", "nodeLabels", POOL_LABEL), str)
    }


def _quotas(queue: Node) -> Iterator[tuple[str, str, int, Any]]:
    """(flavor, GPU resource, nominal quota, borrowing limit) of a ClusterQueue."""
    for group in get(queue.props, "spec", "resourceGroups") or []:
        for flavor in get(group, "flavors") or []:
            for resource in get(flavor, "resources") or []:
                name = str(get(resource, "name") or "")
                nominal = number(get(resource, "nominalQuota"))
                if is_gpu_resource(name) and nominal is not None:
                    yield str(get(flavor, "name")), name, nominal, get(resource, "borrowingLimit")


def check_capacity(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    if config.get("allowOvercommit"):
        return []
    pools = pool_capacities(graph)
    flavors = _flavor_pools(graph)
    promised: dict[tuple[str, str], list[tuple[Node, int]]] = {}
    for queue in graph.of_type(CLUSTER_QUEUE):
        for flavor, resource, nominal, _ in _quotas(queue):
            pool = flavors.get(flavor)
            if pool in pools and nominal:
                promised.setdefault((pool, resource), []).append((queue, nominal))
    findings: list[Finding] = []
    for (pool, resource), unsorted in sorted(promised.items()):
        queues = sorted(unsorted, key=lambda q: str(get(q[0].props, "metadata", "name")))
        capacity = pools[pool]
        total = sum(n for _, n in queues)
        if total > capacity.total(resource):
            who = ", ".join(f"{get(q.props, 'metadata', 'name')}: {n}" for q, n in queues)
            findings.append(
                (
                    queues[0][0].urn,
                    f"ClusterQueues promise {total} {resource} on pool {pool} ({who}), but it holds at most "
                    f"{capacity.total(resource)} ({capacity.describe(resource)}): admitted work would sit Pending; "
                    "lower the quotas, raise the pool's maximum, or set allowOvercommit",
                )
            )
    if set(flavors.values()) | _unstated_pools(graph) <= set(pools):
        findings += _namespace_quotas(graph, pools)
    return findings


def _unstated_pools(graph: Graph) -> set[str]:
    """Pools the graph makes without stating their capacity (Karpenter's)."""
    return {
        str(pool)
        for n in graph.of_type(KARPENTER_NODE_POOL)
        if (pool := get(n.props, "spec", "template", "metadata", "labels", POOL_LABEL)) is not None
    }


def _namespace_quotas(graph: Graph, pools: Mapping[str, PoolCapacity]) -> list[Finding]:
    """A namespace's GPU ResourceQuota above every pool's capacity together can never be used (checked only when
    the capacity of every pool is known)."""
    findings: list[Finding] = []
    for quota in graph.of_type(RESOURCE_QUOTA):
        for key, value in (get(quota.props, "spec", "hard") or {}).items():
            resource = str(key).removeprefix("requests.").removeprefix("limits.")
            amount = number(value)
            everywhere = sum(p.total(resource) for p in pools.values())
            if is_gpu_resource(resource) and amount is not None and everywhere and amount > everywhere:
                findings.append(
                    (
                        quota.urn,
                        f"ResourceQuota {short(quota.urn)} allows {amount} {resource}, more than every pool holds "
                        f"together ({everywhere}); lower it to at most {everywhere}",
                    )
                )
    return findings


# ---------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Demand:
    node: Node
    what: str
    pool: str
    per_pod: Mapping[str, int]
    pods: int
    """Pods at most (replicas, or nodes of a training job)."""


def _gpus(resources: Any) -> dict[str, int]:
    limits = get(resources, "limits") or {}
    requests = get(resources, "requests") or {}
    merged = {**requests, **limits}
    return {k: n for k, v in merged.items() if is_gpu_resource(k) and (n := number(v)) is not None}


def _pod_gpus(pod: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for container in get(pod, "containers") or []:
        for resource, amount in _gpus(get(container, "resources")).items():
            total[resource] = total.get(resource, 0) + amount
    return total


def _deployment(node: Node) -> Demand | None:
    pod = get(node.props, "spec", "template", "spec")
    pool = get(pod, "nodeSelector", POOL_LABEL)
    replicas = number(get(node.props, "spec", "replicas")) or 1
    return Demand(node, "Deployment", pool, _pod_gpus(pod), replicas) if isinstance(pool, str) else None


def _inference_service(node: Node) -> Demand | None:
    predictor = get(node.props, "spec", "predictor")
    pool = get(predictor, "nodeSelector", POOL_LABEL)
    replicas = number(get(predictor, "maxReplicas")) or number(get(predictor, "minReplicas")) or 1
    per_pod = _gpus(get(predictor, "model", "resources"))
    return Demand(node, "InferenceService", pool, per_pod, replicas) if isinstance(pool, str) else None


def _train_job(node: Node) -> Demand | None:
    pools = {
        pool
        for patch in get(node.props, "spec", "runtimePatches") or []
        for job in get(patch, "trainingRuntimeSpec", "template", "spec", "replicatedJobs") or []
        if isinstance(pool := get(job, "template", "spec", "template", "spec", "nodeSelector", POOL_LABEL), str)
    }
    if len(pools) != 1:
        return None
    trainer = get(node.props, "spec", "trainer")
    nodes = number(get(trainer, "numNodes")) or 1
    return Demand(node, "TrainJob", pools.pop(), _gpus(get(trainer, "resourcesPerNode")), nodes)


WORKLOADS = {
    "kubernetes:apps/v1:Deployment": _deployment,
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": _inference_service,
    "kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob": _train_job,
}
"""Workload type -> the pool it selects, its GPUs per pod, its pods at most."""


def demands(graph: Graph) -> list[Demand]:
    return [d for n in graph.of_type(*WORKLOADS) if (d := WORKLOADS[n.type](n)) is not None and d.per_pod]


def _queue_of(graph: Graph, job: Node) -> Node | None:
    """The ClusterQueue a job's LocalQueue feeds."""
    namespace = get(job.props, "metadata", "namespace")
    local = get(job.props, "metadata", "labels", QUEUE_LABEL)
    for queue in graph.of_type(LOCAL_QUEUE):
        if get(queue.props, "metadata", "name") == local and get(queue.props, "metadata", "namespace") == namespace:
            target = get(queue.props, "spec", "clusterQueue")
            return next((c for c in graph.of_type(CLUSTER_QUEUE) if get(c.props, "metadata", "name") == target), None)
    return None


def _team_quota(graph: Graph, demand: Demand, flavors: Mapping[str, str]) -> Finding | None:
    queue = _queue_of(graph, demand.node)
    if queue is None:
        return None
    borrows = bool(get(queue.props, "spec", "cohortName"))
    for flavor, resource, nominal, limit in _quotas(queue):
        if flavors.get(flavor) != demand.pool or resource not in demand.per_pod:
            continue
        total = demand.per_pod[resource] * demand.pods
        if total > nominal and not (borrows and number(limit) != 0):
            return (
                demand.node.urn,
                f"{demand.what} {short(demand.node.urn)} needs {total} {resource} at once on pool {demand.pool} "
                f"({demand.pods} x {demand.per_pod[resource]}), but its ClusterQueue "
                f"{get(queue.props, 'metadata', 'name')} holds {nominal} there and may not borrow: Kueue never "
                "admits it; fewer nodes, or more quota",
            )
    return None


def _one_per_node(pod: Any) -> bool:
    """Pods that repel each other on a host (warm-capacity placeholders): each replica is a node."""
    terms = get(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") or []
    return any(get(t, "topologyKey") == "kubernetes.io/hostname" for t in terms)


def _warm(graph: Graph, pools: Mapping[str, PoolCapacity]) -> list[Finding]:
    """Scaled one-per-node pods (warm placeholders, KEDA cron) never ask for more nodes than the pool has."""
    deployments = {
        (get(n.props, "metadata", "namespace"), get(n.props, "metadata", "name")): n
        for n in graph.of_type("kubernetes:apps/v1:Deployment")
    }
    findings: list[Finding] = []
    for scaled in graph.of_type(SCALED_OBJECT):
        target = deployments.get(
            (get(scaled.props, "metadata", "namespace"), get(scaled.props, "spec", "scaleTargetRef", "name"))
        )
        pod = get(target.props, "spec", "template", "spec") if target else None
        pool = get(pod, "nodeSelector", POOL_LABEL)
        if pool not in pools or not _one_per_node(pod):
            continue
        most = max(
            (number(get(t, "metadata", "desiredReplicas")) or 0 for t in get(scaled.props, "spec", "triggers") or []),
            default=0,
        )
        if most > pools[pool].max_nodes:
            findings.append(
                (
                    scaled.urn,
                    f"warm capacity {short(scaled.urn)} keeps {most} nodes of pool {pool} up, but the pool grows to "
                    f"{pools[pool].max_nodes}; at most {pools[pool].max_nodes}",
                )
            )
    return findings


def check_fit(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    pools = pool_capacities(graph)
    flavors = _flavor_pools(graph)
    findings: list[Finding] = []
    for demand in demands(graph):
        capacity = pools.get(demand.pool)
        if capacity is None:
            continue
        for resource, amount in sorted(demand.per_pod.items()):
            per_node = capacity.per_node.get(resource, 0)
            if amount > per_node:
                findings.append(
                    (
                        demand.node.urn,
                        f"{demand.what} {short(demand.node.urn)} asks {amount} {resource} per pod, but a node of pool "
                        f"{demand.pool} advertises {per_node}: it never schedules; at most {per_node}, or another pool",
                    )
                )
        if demand.what == "TrainJob" and (problem := _team_quota(graph, demand, flavors)) is not None:
            findings.append(problem)
    return findings + _warm(graph, pools)


capacity_policy = stack_policy(
    CAPACITY,
    "Kueue quotas and namespace GPU quotas stay within what the GPU pools can hold.",
    check_capacity,
    {
        "allowOvercommit": {
            "type": "boolean",
            "default": False,
            "description": "Let queue quotas promise more than the pools hold (the stack's queues.allowOvercommit).",
        }
    },
)
fit_policy = stack_policy(
    FIT,
    "Every workload's pods fit one node of their pool, training jobs fit their team's quota, warm capacity its pool.",
    check_fit,
)
