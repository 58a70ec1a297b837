"""gpu-cloud-quota: pure quota math, the policy on resources, the analyzer gRPC run and the plan's exit codes."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infra.plan.policy_runner import PolicyConfigError, run_policies
from policies.guardrails import cloud_quota
from policies.guardrails.quota import QuotaDraw, gcp_global_draws, tally
from tests.conftest import ROOT, stack_raw

PACK = ROOT / "policies"
AWS_QUOTAS = {"aws": {"us-east-1": {"L-DB2E81BA": 64, "L-3819A6DF": 128}}}


def node_group(
    name: str, instance: str, max_size: float, capacity: str = "ON_DEMAND", region: str = "us-east-1"
) -> Any:
    props = {
        "instanceTypes": [instance],
        "scalingConfig": {"maxSize": max_size, "minSize": 0.0, "desiredSize": 0.0},
        "capacityType": capacity,
        "tags": {"gpu-platform.io/pool": name},
    }
    provider = SimpleNamespace(props={"region": region})
    return SimpleNamespace(
        resource_type="aws:eks/nodeGroup:NodeGroup", props=props, name=name, urn=f"urn:{name}", provider=provider
    )


def gke_pool(name: str, accelerator: str, count: float, max_nodes: float, spot: bool = False) -> Any:
    props = {
        "name": name,
        "location": "us-central1",
        "autoscaling": {"totalMaxNodeCount": max_nodes},
        "nodeConfig": {"spot": spot, "guestAccelerators": [{"type": accelerator, "count": count}]},
    }
    return SimpleNamespace(
        resource_type="gcp:container/nodePool:NodePool", props=props, name=name, urn=f"urn:{name}", provider=None
    )


def test_tally_sums_pools_per_family_and_reports_headroom() -> None:
    draws = [
        QuotaDraw("aws", "us-east-1", "L-DB2E81BA", "a", 32, ""),
        QuotaDraw("aws", "us-east-1", "L-DB2E81BA", "b", 48, ""),
        QuotaDraw("aws", "us-east-1", "L-417A185B", "p", 192, ""),
    ]
    rows = {r.family: r for r in tally(draws, {"aws": {"us-east-1": {"L-DB2E81BA": 64}}})}
    assert rows["L-DB2E81BA"].total == 80 and rows["L-DB2E81BA"].over and rows["L-DB2E81BA"].headroom == -16
    assert rows["L-417A185B"].quota is None and not rows["L-417A185B"].over


def test_gcp_gpus_also_count_against_all_regions() -> None:
    draws = [
        QuotaDraw("gcp", "us-central1", "NVIDIA_L4_GPUS", "a", 8, ""),
        QuotaDraw("gcp", "europe-west4", "NVIDIA_H100_GPUS", "b", 16, ""),
    ]
    (row,) = tally(gcp_global_draws(draws), {"gcp": {"global": {"GPUS_ALL_REGIONS": 20}}})
    assert (row.region, row.family, row.total, row.over) == ("global", "GPUS_ALL_REGIONS", 24, True)


def test_within_quota() -> None:
    resources = [node_group("l4", "g6.xlarge", 8.0, "SPOT"), node_group("a10g", "g5.xlarge", 4.0)]
    assert cloud_quota.evaluate(resources, {"quotas": AWS_QUOTAS}) == ([], [])


def test_over_quota_names_family_pools_shares_total_and_quota() -> None:
    resources = [node_group("a10g", "g5.xlarge", 8.0), node_group("l4", "g6.2xlarge", 6.0)]
    over, unknown = cloud_quota.evaluate(resources, {"quotas": AWS_QUOTAS})
    assert unknown == []
    (message,) = over
    assert message == (
        "aws us-east-1 L-DB2E81BA: pools a10g 32 (8 x g5.xlarge x 4 vCPUs), l4 48 (6 x g6.2xlarge x 8 vCPUs) "
        "draw up to 80 vCPUs; the quota is 64 (policy config), over by 16: raise the quota "
        "(L-DB2E81BA (Running On-Demand G and VT instances)) or lower maxNodes"
    )


def test_spot_and_on_demand_are_separate_families() -> None:
    resources = [node_group("a", "g6.xlarge", 16.0, "SPOT"), node_group("b", "g6.xlarge", 16.0)]
    over, _ = cloud_quota.evaluate(resources, {"quotas": {"aws": {"us-east-1": {"L-DB2E81BA": 64, "L-3819A6DF": 64}}}})
    assert over == []  # 64 each, not 128 against one


def test_unknown_quota_is_reported_not_passed() -> None:
    over, unknown = cloud_quota.evaluate([node_group("p5", "p5.48xlarge", 2.0)], {"quotas": AWS_QUOTAS})
    assert over == []
    (message,) = unknown
    assert message.startswith("quota unknown: aws us-east-1 L-417A185B: pools p5 384 (2 x p5.48xlarge x 192 vCPUs)")
    assert "set quotas.aws.us-east-1.L-417A185B" in message


def test_missing_properties_draw_nothing() -> None:
    bare = SimpleNamespace(resource_type="aws:eks/nodeGroup:NodeGroup", props={}, name="x", urn="u", provider=None)
    assert cloud_quota.evaluate([bare], {"quotas": {}}) == ([], [])


def test_gcp_metrics_spot_and_global() -> None:
    quotas = {
        "gcp": {
            "us-central1": {"PREEMPTIBLE_NVIDIA_L4_GPUS": 4, "NVIDIA_H100_GPUS": 16},
            "global": {"GPUS_ALL_REGIONS": 64},
        }
    }
    over, unknown = cloud_quota.evaluate(
        [gke_pool("l4", "nvidia-l4", 1.0, 8.0, spot=True), gke_pool("h100", "nvidia-h100-80gb", 8.0, 2.0)],
        {"quotas": quotas},
    )
    assert unknown == []
    (message,) = over
    assert message.startswith("gcp us-central1 PREEMPTIBLE_NVIDIA_L4_GPUS: pools l4 8 (8 nodes x 1 nvidia-l4)")


def test_karpenter_pool_draws_its_cpu_limit() -> None:
    props = {
        "metadata": {
            "name": "h100",
            "annotations": {"gpu-platform.io/region": "us-east-1"},
            "labels": {"gpu-platform.io/pool": "h100"},
        },
        "spec": {
            "limits": {"cpu": "384", "nvidia.com/gpu": "16"},
            "template": {
                "spec": {
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p5.48xlarge"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand", "spot"]},
                    ]
                }
            },
        },
    }
    pool = SimpleNamespace(
        resource_type="kubernetes:karpenter.sh/v1:NodePool", props=props, name="h100", urn="u", provider=None
    )
    over, unknown = cloud_quota.evaluate(
        [pool], {"quotas": {"aws": {"us-east-1": {"L-417A185B": 384, "L-7212CCBC": 100}}}}
    )
    assert unknown == []
    (message,) = over
    assert message.startswith(
        "aws us-east-1 L-7212CCBC: pools h100 384 (Karpenter limits: 2 x p5.48xlarge x 192 vCPUs)"
    )
    # A node limit below the cpu limit bounds the pool; with neither, the pool is unbounded and says so.
    props["spec"]["limits"] = {"cpu": "384", "nodes": "1"}
    assert [r.total for r in cloud_quota.assess([pool], {}).rows] == [192, 192]
    props["spec"]["limits"] = {}
    rows = cloud_quota.assess([pool], {}).rows
    assert [r.total for r in rows] == [0, 0] and "without a cpu or node limit: unbounded, not counted" in rows[
        0
    ].describe()


def test_a_misspelled_quota_family_blocks_instead_of_reading_as_unknown() -> None:
    # Under the Pulumi CLI the JSON schema cannot name quota codes, so the pack itself refuses them.
    resources = [node_group("l4", "g6.xlarge", 8.0)]
    over, unknown = cloud_quota.evaluate(resources, {"quotas": {"aws": {"us-east-1": {"L-DB2E81BB": 64}}}})
    assert unknown == []
    (message,) = over
    assert message.startswith("policy config: quotas.aws.us-east-1.L-DB2E81BB: not one of aws's GPU quota families")
    assert "(did you mean L-DB2E81BA?)" in message


def test_config_problems_name_every_bad_key() -> None:
    problems = cloud_quota.config_problems(
        {"quotas": {"aws": {"us-est-1": {}}, "gcp": {"global": {"NVIDIA_L4_GPUS": 1}}, "azure": {}}, "liveLookup": True}
    )
    assert [p.split(":")[0] for p in problems] == [
        "quotas.aws.us-est-1",
        "quotas.gcp.global.NVIDIA_L4_GPUS",
        "quotas.azure",
    ]


# ---------------------------------------------------------------- through the analyzer protocol


@pytest.fixture(scope="module")
def aws_capture() -> Any:
    from infra.layers import build
    from infra.plan.engine import run_program
    from stacks.loader import parse

    config = parse(copy.deepcopy(stack_raw("aws-dev")))
    return run_program(lambda: build(config), "aws-dev")


def _config(quotas: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # aws-dev's development endpoint (open to any address) is another policy's advisory finding: off here.
    # The advisory quota policy takes the same block (the engine gives each policy only its own config).
    block = {"quotas": quotas, "liveLookup": False, **extra}
    return {
        "gpu-cloud-quota": {"enforcementLevel": "mandatory", **block},
        "gpu-cloud-quota-unknown": {"enforcementLevel": "advisory", **block},
        "cluster-endpoint-restricted": {"enforcementLevel": "disabled"},
    }


def test_grpc_within_quota(aws_capture: Any) -> None:
    run = run_policies(aws_capture.registrations, "aws-dev", PACK, _config(AWS_QUOTAS))
    assert run.violations == []


def test_grpc_over_quota_is_mandatory(aws_capture: Any) -> None:
    run = run_policies(
        aws_capture.registrations,
        "aws-dev",
        PACK,
        _config({"aws": {"us-east-1": {"L-DB2E81BA": 64, "L-3819A6DF": 16}}}),
    )
    (violation,) = run.violations
    assert violation.policy == "gpu-cloud-quota" and violation.enforcement_level == "mandatory"
    assert (
        "L-3819A6DF: pools l4-spot 32 (8 x g6.xlarge x 4 vCPUs) draw up to 32 vCPUs; the quota is 16"
        in violation.message
    )


def test_grpc_unknown_quota_is_advisory(aws_capture: Any) -> None:
    run = run_policies(aws_capture.registrations, "aws-dev", PACK, _config({"aws": {"us-east-1": {"L-3819A6DF": 128}}}))
    (violation,) = run.violations
    assert violation.policy == "gpu-cloud-quota-unknown" and violation.enforcement_level == "advisory"
    assert "L-DB2E81BA" in violation.message and run.mandatory == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            _config({"azure": {}}),
            "gpu-cloud-quota.quotas: Additional properties are not allowed ('azure' was unexpected)",
        ),
        (
            _config({"aws": {"us-east-1": {"L-DB2E81BA": -1}}}),
            "gpu-cloud-quota.quotas.aws.us-east-1.L-DB2E81BA: -1 is less than the minimum of 0",
        ),
        (_config({"aws": {"us-east-1": {"L-DB2E81BA": "many"}}}), "'many' is not of type 'integer'"),
        ({"gpu-cloud-quota": {"liveLookup": "no"}}, "gpu-cloud-quota.liveLookup: 'no' is not of type 'boolean'"),
    ],
)
def test_grpc_invalid_policy_config_rejected(aws_capture: Any, config: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyConfigError) as info:
        run_policies(aws_capture.registrations, "aws-dev", PACK, config)
    assert any(problem in p for p in info.value.problems), info.value.problems


# ---------------------------------------------------------------- the plan's exit codes


def plan(*args: str) -> subprocess.CompletedProcess[str]:
    from tests.test_plan_cli import run_main

    return run_main(*args)  # the CLI's main in this process (tests/test_plan_cli.py tests how it starts)


def test_plan_over_quota_exits_one(tmp_path: Path) -> None:
    config = tmp_path / "quota.json"
    config.write_text(
        json.dumps(
            _config(
                {
                    "gcp": {
                        "us-central1": {"NVIDIA_H100_GPUS": 4, "PREEMPTIBLE_NVIDIA_L4_GPUS": 16},
                        "global": {"GPUS_ALL_REGIONS": 64},
                    }
                }
            )
        )
    )
    result = plan("--stack", "gcp-dev", "--policy-config", str(config), "--json")
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["violations"]["byPolicy"]["gpu-cloud-quota"]["count"] == 1
    h100 = next(q for q in summary["quotas"] if q["family"] == "NVIDIA_H100_GPUS")
    assert (h100["plannedMax"], h100["quota"], h100["headroom"]) == (8, 4, -4)


def test_a_zonal_gke_pool_counts_against_its_region() -> None:
    pool = gke_pool("l4", "nvidia-l4", 1.0, 4.0)
    pool.props["location"] = "us-central1-a"
    over, _ = cloud_quota.evaluate([pool], {"quotas": {"gcp": {"us-central1": {"NVIDIA_L4_GPUS": 2}}}})
    (message,) = over
    assert message.startswith("gcp us-central1 NVIDIA_L4_GPUS: pools l4 4")
