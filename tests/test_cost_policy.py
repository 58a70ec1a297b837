"""gpu-cost-ceiling: each pool's monthly cost at maximum scale from the packaged prices (or the policy config's),
against the budgets; directly on the examples' graphs and through the analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog.prices import HOURS_PER_MONTH, PRICES
from infra.plan.policy_config import PolicyConfigError, pack_specs, reconcile
from policies.guardrails import cost
from policies.guardrails.graph import Graph, Node
from policies.guardrails.resource_types import EKS_NODE_GROUP, GKE_NODE_POOL, KARPENTER_NODE_POOL
from tests.conftest import STACKS, changed


def costs(nodes: list[Node], prices: dict[str, Any] | None = None) -> dict[str, cost.PoolCost]:
    return {c.pool: c for c in cost.pool_costs(Graph(nodes), prices or {})}


def messages(nodes: list[Node], config: dict[str, Any]) -> list[str]:
    return [m for _, m in cost.check(Graph(nodes), config)]


def test_examples_are_priced_from_the_packaged_table(graphs: dict[str, list[Node]]) -> None:
    aws = costs(graphs["aws-dev"])
    assert sorted(aws) == ["a10g", "l4-spot"]  # the system node group is not a GPU pool
    l4 = aws["l4-spot"]
    assert (l4.machine, l4.max_nodes, l4.hourly) == ("g6.xlarge", 8, PRICES.clouds["aws"].hourly["g6.xlarge"])
    assert l4.monthly == pytest.approx(8 * 0.8048 * HOURS_PER_MONTH)
    assert l4.source == f"us-east-1 default of {PRICES.clouds['aws'].date}"
    gcp = costs(graphs["gcp-dev"])
    assert gcp["h100"].machine == "a3-highgpu-8g" and gcp["h100"].hourly == PRICES.clouds["gcp"].hourly["a3-highgpu-8g"]


@pytest.mark.parametrize("stack", STACKS)
def test_without_a_budget_nothing_is_reported(graphs: dict[str, list[Node]], stack: str) -> None:
    assert messages(graphs[stack], {}) == []


def test_a_total_over_the_budget_is_reported_with_every_pool(graphs: dict[str, list[Node]]) -> None:
    total = sum(c.monthly or 0 for c in costs(graphs["aws-dev"]).values())
    assert messages(graphs["aws-dev"], {"monthlyBudget": round(total) + 1}) == []
    (message,) = messages(graphs["aws-dev"], {"monthlyBudget": 5000})
    assert message.startswith(f"GPU pools at maximum scale cost ${total:,.0f}/month, over the monthly budget of $5,000")
    assert "pool a10g: 4 x g5.xlarge" in message and "pool l4-spot: 8 x g6.xlarge" in message


def test_a_pool_over_its_budget_is_reported_on_its_resource(graphs: dict[str, list[Node]]) -> None:
    findings = cost.check(Graph(graphs["aws-train"]), {"poolBudgets": {"h100-efa": 50000, "h100-mig": 20000}})
    ((urn, message),) = findings
    assert urn.endswith("h100-efa") or "h100-efa" in urn
    assert "pool h100-efa: 2 x p5.48xlarge at $55.04/h" in message and "poolBudgets.h100-efa" in message


def test_config_prices_override_the_defaults(graphs: dict[str, list[Node]]) -> None:
    l4 = costs(graphs["aws-dev"], {"aws": {"hourly": {"g6.xlarge": 0.5}}})["l4-spot"]
    assert (l4.hourly, l4.source) == (0.5, "policy config")
    (message,) = messages(graphs["aws-dev"], {"monthlyBudget": 1, "prices": {"aws": {"hourly": {"g6.xlarge": 0.5}}}})
    assert "at $0.50/h on demand (policy config)" in message


def test_an_unpriced_pool_is_not_counted_as_free(graphs: dict[str, list[Node]]) -> None:
    def unpriced(props: dict[str, Any]) -> None:
        props["instanceTypes"] = ["p5e.48xlarge"]  # in the catalog, with no price in the shipped table

    nodes = changed(graphs["aws-train"], lambda n: n.type == EKS_NODE_GROUP and "h100-efa" in n.name, unpriced)
    found = messages(nodes, {"monthlyBudget": 1})
    assert any("pool h100-efa: 2 x p5e.48xlarge, no price known: not counted" in m for m in found)
    assert any("(1 unpriced pool(s) not counted)" in m for m in found)
    assert "prices.aws.hourly.p5e.48xlarge" in found[0]


def test_karpenter_pools_are_sized_by_their_cpu_limit() -> None:
    karpenter = Node(
        urn="urn:pulumi:s::p::kubernetes:karpenter.sh/v1:NodePool::l4",
        type=KARPENTER_NODE_POOL,
        name="l4",
        props={
            "metadata": {"name": "l4", "labels": {"gpu-platform.io/pool": "l4"}},
            "spec": {
                "limits": {"cpu": 32.0},
                "template": {
                    "spec": {"requirements": [{"key": "node.kubernetes.io/instance-type", "values": ["g6.xlarge"]}]}
                },
            },
        },
    )
    (pool,) = costs([karpenter]).values()
    assert (pool.machine, pool.max_nodes) == ("g6.xlarge", 8)  # 32 vCPUs / 4 per node


def test_n1_machines_add_their_attached_gpus() -> None:
    n1 = Node(
        urn="urn:pulumi:s::p::gcp:container/nodePool:NodePool::t4",
        type=GKE_NODE_POOL,
        name="t4",
        props={
            "nodeConfig": {
                "machineType": "n1-standard-4",
                "labels": {"gpu-platform.io/pool": "t4"},
                "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 2.0}],
            },
            "autoscaling": {"totalMaxNodeCount": 3.0},
        },
    )
    (pool,) = costs([n1]).values()
    gcp = PRICES.clouds["gcp"]
    assert pool.hourly == pytest.approx(gcp.hourly["n1-standard-4"] + 2 * gcp.gpu_hourly["nvidia-tesla-t4"])
    assert pool.max_nodes == 3


def test_a_pool_without_a_maximum_costs_nothing_and_is_not_over(graphs: dict[str, list[Node]]) -> None:
    def unbounded(props: dict[str, Any]) -> None:
        del props["scalingConfig"]

    nodes = changed(graphs["aws-dev"], lambda n: n.type == EKS_NODE_GROUP and "l4-spot" in n.name, unbounded)
    assert costs(nodes)["l4-spot"].max_nodes == 0


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"monthlyBudget": -1}, "monthlyBudget: -1 is less than the minimum of 0"),
        ({"prices": {"azure": {}}}, "prices: Additional properties are not allowed ('azure' was unexpected)"),
        ({"prices": {"aws": {"hourly": {"g6.xlarge": "cheap"}}}}, "'cheap' is not of type 'number'"),
    ],
)
def test_bad_cost_config_is_refused(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyConfigError) as info:
        reconcile(pack_specs(), {}, {cost.NAME: config})
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_grpc_budget_overrun_is_advisory(plan: Any) -> None:
    from infra.plan.policy_runner import run_policies
    from tests.conftest import ROOT, fresh_raw

    config = {"gpu-cost-ceiling": {"monthlyBudget": 1000}, "cluster-endpoint-restricted": "disabled"}
    run = run_policies(plan(fresh_raw("aws-dev")).registrations, "aws-dev", ROOT / "policies", config)
    costs_ = [v for v in run.violations if v.policy == cost.NAME]
    (violation,) = costs_
    assert violation.enforcement_level == "advisory" and run.mandatory == []
    assert "over the monthly budget of $1,000 (monthlyBudget)" in violation.message


def test_one_reading_of_a_gke_pools_maximum() -> None:
    from policies.guardrails.pool_limits import gke_max_nodes

    assert gke_max_nodes({"autoscaling": {"totalMaxNodeCount": 6.0}}) == 6
    assert gke_max_nodes({"autoscaling": {"maxNodeCount": 2.0}, "nodeLocations": ["a", "b", "c"]}) == 6  # per zone
    assert gke_max_nodes({"nodeCount": 3.0}) == 3 and gke_max_nodes({}) == 0
