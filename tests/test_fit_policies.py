"""gpu-pool-capacity and gpu-workload-fit on captured plans: the examples pass; each mutated graph (a quota
above its pool, a pod above a node, a job above its team's quota, warm nodes above the pool) is refused with a
message that names the numbers; missing properties leave a pool unknown rather than guessed; the overcommit
setting turns the capacity check off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.guardrails import fit
from policies.guardrails.capacity import pool_capacities
from policies.guardrails.graph import Graph, Node
from policies.guardrails.resource_types import KARPENTER_NODE_POOL
from tests.conftest import STACKS, changed

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"


def named(suffix: str) -> Callable[[Node], bool]:
    return lambda n: n.name.endswith(suffix)


def capacity(nodes: list[Node], config: dict[str, Any] | None = None) -> list[str]:
    return [m for _, m in fit.check_capacity(Graph(nodes), config or {})]


def fitting(nodes: list[Node]) -> list[str]:
    return [m for _, m in fit.check_fit(Graph(nodes), {})]


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_fit(graphs: dict[str, list[Node]], stack: str) -> None:
    assert capacity(graphs[stack]) == [] and fitting(graphs[stack]) == []


def test_pool_capacity_from_each_cloud(graphs: dict[str, list[Node]]) -> None:
    aws = pool_capacities(Graph(graphs["aws-train"]))
    assert aws["h100-efa"].per_node["nvidia.com/gpu"] == 8 and aws["h100-efa"].max_nodes == 2
    gcp = pool_capacities(Graph(graphs["gcp-dev"]))
    # A time-shared L4 advertises as many GPUs as clients share it.
    assert gcp["l4-spot"].per_node == {"nvidia.com/gpu": 2} and gcp["l4-spot"].max_nodes == 8
    assert gcp["h100"].total("nvidia.com/gpu") == 8
    # A Karpenter NodePool: what a node advertises from the component's annotation, its node limit as the maximum.
    karpenter = pool_capacities(Graph(graphs["aws-dev"]))["a10g"]
    assert (karpenter.per_node, karpenter.max_nodes) == ({"nvidia.com/gpu": 4}, 4)  # one A10G time-sliced x4


def test_karpenter_pool_capacity_is_checked_and_never_guessed(graphs: dict[str, list[Node]]) -> None:
    def shrink(props: dict[str, Any]) -> None:
        props["spec"]["limits"]["nodes"] = "1"

    is_a10g = lambda n: n.type == KARPENTER_NODE_POOL and n.name.endswith("a10g-nodepool")  # noqa: E731
    found = capacity(changed(graphs["aws-dev"], is_a10g, shrink))
    assert any("on pool a10g" in m and "holds at most 4 (1 nodes x 4 nvidia.com/gpu)" in m for m in found), found

    def unannotated(props: dict[str, Any]) -> None:
        del props["metadata"]["annotations"]["gpu-platform.io/node-resources"]

    assert "a10g" not in pool_capacities(Graph(changed(graphs["aws-dev"], is_a10g, unannotated)))


def test_queue_quota_above_the_pool_is_refused(graphs: dict[str, list[Node]]) -> None:
    def shrink(props: dict[str, Any]) -> None:
        props["autoscaling"]["totalMaxNodeCount"] = 1

    broken = changed(graphs["gcp-dev"], named("pool-l4-spot-nodes"), shrink)
    message, *namespaces = capacity(broken)
    # The namespaces' quotas no longer fit every pool together either (2 + 8 GPUs).
    assert sorted(m.split(" allows")[0] for m in namespaces) == [
        "ResourceQuota team-inference-gpu-quota",
        "ResourceQuota team-research-gpu-quota",
    ]
    assert message.startswith("ClusterQueues promise 16 nvidia.com/gpu on pool l4-spot (inference: 12, research: 4)")
    assert "holds at most 2 (1 nodes x 2 nvidia.com/gpu)" in message and "allowOvercommit" in message
    assert capacity(broken, {"allowOvercommit": True}) == []


def test_pool_without_its_capacity_properties_is_not_guessed(graphs: dict[str, list[Node]]) -> None:
    def strip(props: dict[str, Any]) -> None:
        props["tags"] = {k: v for k, v in props["tags"].items() if "node-template" not in k}

    stripped = changed(graphs["aws-train"], lambda n: n.type == EKS_NODE_GROUP and "h100-efa" in n.name, strip)
    assert "h100-efa" not in pool_capacities(Graph(stripped))
    assert capacity(stripped) == [] and fitting(stripped) == []


def test_namespace_quota_above_every_pool_is_refused(graphs: dict[str, list[Node]]) -> None:
    def inflate(props: dict[str, Any]) -> None:
        props["spec"]["hard"]["requests.nvidia.com/gpu"] = "100"

    broken = changed(graphs["gcp-dev"], named("team-research-gpu-quota"), inflate)
    (message,) = capacity(broken)
    assert "allows 100 nvidia.com/gpu, more than every pool holds together (24)" in message


def test_pod_above_one_node_never_schedules(graphs: dict[str, list[Node]]) -> None:
    def grow(props: dict[str, Any]) -> None:
        for section in ("limits", "requests"):
            props["spec"]["trainer"]["resourcesPerNode"][section]["nvidia.com/gpu"] = "16"

    broken = changed(graphs["aws-train"], lambda n: n.type.endswith(":TrainJob") and "llama-pretrain" in n.name, grow)
    messages = fitting(broken)
    assert any("asks 16 nvidia.com/gpu per pod, but a node of pool h100-efa advertises 8" in m for m in messages)
    # 2 nodes x 16 is also over the team's 16 on the pool, and its queue may not borrow there.
    assert any("needs 32 nvidia.com/gpu at once on pool h100-efa (2 x 16)" in m for m in messages)


def test_training_job_above_its_teams_quota_is_never_admitted(graphs: dict[str, list[Node]]) -> None:
    def more_nodes(props: dict[str, Any]) -> None:
        props["spec"]["trainer"]["numNodes"] = 3

    broken = changed(
        graphs["aws-train"], lambda n: n.type.endswith(":TrainJob") and "llama-pretrain" in n.name, more_nodes
    )
    (message,) = fitting(broken)
    assert "needs 24 nvidia.com/gpu at once on pool h100-efa (3 x 8)" in message and "may not borrow" in message


def test_endpoint_replica_above_one_node(graphs: dict[str, list[Node]]) -> None:
    def big(props: dict[str, Any]) -> None:
        props["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] = "16"

    broken = changed(graphs["gcp-dev"], lambda n: n.type.endswith(":InferenceService"), big)
    (message,) = fitting(broken)
    assert (
        "InferenceService" in message
        and "asks 16 nvidia.com/gpu per pod, but a node of pool h100 advertises 8" in message
    )


def test_warm_nodes_above_the_pool(graphs: dict[str, list[Node]]) -> None:
    def more(props: dict[str, Any]) -> None:
        for trigger in props["spec"]["triggers"]:
            trigger["metadata"]["desiredReplicas"] = "9"

    broken = changed(graphs["aws-dev"], lambda n: n.type.endswith(":ScaledObject") and n.name.startswith("warm-"), more)
    (message,) = fitting(broken)
    assert "keeps 9 nodes of pool l4-spot up, but the pool grows to 8" in message


def test_both_policies_are_in_the_pack() -> None:
    from policies.guardrails.pack import POLICIES

    names = [p.name for p in POLICIES]
    assert {"gpu-pool-capacity", "gpu-workload-fit"} <= set(names)
