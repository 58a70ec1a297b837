"""gpu-cloud-quota with liveLookup: quotas and usage read from emulated cloud APIs (moto taught the EC2 vCPU quota
codes; a local fake of Google's Compute and Cloud Quotas REST APIs), merged with configured quotas, failures
reported as unknown, and through the analyzer protocol against a moto server the pack process reads."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.plan.policy_runner import run_policies
from policies.guardrails import cloud_quota, live_quota
from tests.cloud_fakes import GoogleApis, ec2_quotas_taught, put_vcpu_usage, seed_ec2_quota
from tests.conftest import ROOT, stack_raw
from tests.test_cloud_quota import gke_pool, node_group

PACK = ROOT / "policies"
REGION = "us-east-1"
G_OD, G_SPOT = "L-DB2E81BA", "L-3819A6DF"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws(aws_env: None) -> Iterator[Any]:
    with ec2_quotas_taught(), mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def google() -> Iterator[GoogleApis]:
    fake = GoogleApis()
    yield fake
    fake.close()


def live(**extra: Any) -> dict[str, Any]:
    return {"liveLookup": True, **extra}


def rows(resources: list[Any], config: dict[str, Any]) -> dict[str, Any]:
    return {r.family: r for r in cloud_quota.assess(resources, config).rows}


# ---------------------------------------------------------------- AWS


def test_aws_applied_quota_and_usage_are_read(aws: Any) -> None:
    seed_ec2_quota(REGION, G_OD, applied=64, default=16)
    put_vcpu_usage(aws, G_OD, 24)
    (row,) = rows([node_group("l4", "g6.xlarge", 8.0)], live()).values()
    assert (row.quota, row.source, row.usage) == (64, "AWS Service Quotas (applied value)", 24)
    assert row.usage_note.startswith("CloudWatch AWS/Usage ResourceCount (Class=G/OnDemand, Resource=vCPU")
    assert row.headroom == 64 - 32 - 24 and not row.over and not row.at_risk


def test_aws_default_quota_is_used_when_none_was_applied(aws: Any) -> None:
    seed_ec2_quota(REGION, G_SPOT, default=16)
    (row,) = rows([node_group("l4", "g6.xlarge", 8.0, "SPOT")], live()).values()
    assert (row.quota, row.source) == (16, "AWS Service Quotas (default value)")
    assert row.usage is None and row.usage_note == "no CloudWatch usage datapoint in the last hour"
    over, advisories = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0, "SPOT")], live())
    (message,) = over
    assert "the quota is 16 (AWS Service Quotas (default value)), over by 16" in message
    assert "L-3819A6DF (All G and VT Spot Instance Requests)" in message and advisories == []


def test_usage_that_leaves_no_room_is_advisory_not_mandatory(aws: Any) -> None:
    seed_ec2_quota(REGION, G_OD, applied=64)
    put_vcpu_usage(aws, G_OD, 48)
    over, advisories = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live())
    assert over == []
    (message,) = advisories
    assert "the quota is 64 (AWS Service Quotas (applied value)) and 48 vCPUs are already in use" in message
    assert "would need 16 vCPUs more than is free" in message and "this stack's own running nodes" in message


def test_configured_quota_wins_and_says_what_the_cloud_said(aws: Any) -> None:
    seed_ec2_quota(REGION, G_OD, applied=256)
    config = live(quotas={"aws": {REGION: {G_OD: 16}}})
    (row,) = rows([node_group("l4", "g6.xlarge", 8.0)], config).values()
    assert row.quota == 16 and row.source == "policy config (the cloud says 256: AWS Service Quotas (applied value))"
    (message,) = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], config)[0]
    assert "the quota is 16 (policy config (the cloud says 256" in message


def test_a_code_the_account_does_not_have_is_unknown_with_why(aws: Any) -> None:
    over, advisories = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live())
    assert over == []
    (message,) = advisories
    assert message.startswith("quota unknown: aws us-east-1 L-DB2E81BA")
    assert "the live lookup failed: AWS answered NoSuchResourceException" in message
    assert f"set quotas.aws.{REGION}.{G_OD}" in message


def test_no_credentials_is_reported_and_nothing_blocks(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    over, advisories = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live())
    assert over == []
    (message,) = advisories
    assert "the live lookup failed: no AWS credentials" in message


def test_an_unreachable_endpoint_fails_within_the_deadline(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:  # a port nothing listens on: connections are refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    lookup = live_quota.lookup([("aws", REGION, G_OD)], live_quota.Settings(deadline_s=5))
    assert lookup.found == {}
    assert lookup.failed[("aws", REGION, G_OD)].startswith("AWS could not be reached: EndpointConnectionError")


def test_what_the_deadline_leaves_unread_is_reported() -> None:
    keys = [("aws", REGION, G_OD), ("aws", REGION, G_SPOT)]
    lookup = live_quota.lookup(keys, live_quota.Settings(deadline_s=-1))
    assert lookup.failed == {k: "not read: the lookup took longer than -1 s" for k in keys}


# ---------------------------------------------------------------- GCP


def test_gcp_regional_and_global_quotas_and_usage_are_read(google: GoogleApis) -> None:
    google.regions["us-central1"] = [{"metric": "NVIDIA_L4_GPUS", "limit": 16.0, "usage": 4.0}]
    google.project_quotas = [{"metric": "GPUS_ALL_REGIONS", "limit": 10.0, "usage": 4.0}]
    found = rows([gke_pool("l4", "nvidia-l4", 1.0, 8.0)], live(gcp=google.config()))
    regional, everywhere = found["NVIDIA_L4_GPUS"], found["GPUS_ALL_REGIONS"]
    assert (regional.quota, regional.usage, regional.headroom) == (16, 4, 4)
    assert regional.source == "GCP Compute regions.get"
    assert (everywhere.quota, everywhere.usage, everywhere.source) == (10, 4, "GCP Compute projects.get")
    assert everywhere.at_risk and everywhere.headroom == -2  # 8 planned + 4 in use > 10
    assert all("/compute/v1/projects/gpu-platform-dev" in r for r in google.requests)


def test_gcp_families_the_regions_api_omits_come_from_cloud_quotas(google: GoogleApis) -> None:
    google.quota_infos[live_quota.GCP_FAMILY_QUOTA_ID] = {
        "quotaId": live_quota.GCP_FAMILY_QUOTA_ID,
        "dimensionsInfos": [
            {"dimensions": {"region": "us-central1", "gpu_family": "NVIDIA_H100"}, "details": {"value": "8"}},
            {"dimensions": {"region": "us-central1", "gpu_family": "NVIDIA_B200"}, "details": {}},
            {"details": {"value": "0"}},
        ],
    }
    google.project_quotas = [{"metric": "GPUS_ALL_REGIONS", "limit": 64.0, "usage": 0.0}]
    pools = [gke_pool("h100", "nvidia-h100-80gb", 8.0, 2.0), gke_pool("b200", "nvidia-b200", 8.0, 1.0)]
    found = rows(pools, live(gcp=google.config()))
    h100, b200 = found["NVIDIA_H100_GPUS"], found["NVIDIA_B200_GPUS"]
    assert h100.quota == 8 and h100.source.startswith("GCP Cloud Quotas GPUS-PER-GPU-FAMILY-per-project-region")
    assert h100.usage is None and h100.usage_note == "the Cloud Quotas API reports no usage"
    assert b200.quota == 0  # Cloud Quotas omits a zero value
    over, _ = cloud_quota.evaluate(pools, live(gcp=google.config()))
    assert len(over) == 2 and any("NVIDIA_H100_GPUS" in m and "over by 8" in m for m in over)


def test_gcp_refusal_and_missing_project_are_reported(google: GoogleApis) -> None:
    google.status = 403
    pools = [gke_pool("l4", "nvidia-l4", 1.0, 8.0)]
    _, advisories = cloud_quota.evaluate(pools, live(gcp=google.config()))
    assert len(advisories) == 2 and all("answered HTTP 403: Permission denied" in m for m in advisories)
    _, advisories = cloud_quota.evaluate(pools, live())
    assert all("no GCP project (set gcp.project in the gpu-cloud-quota config)" in m for m in advisories)


def test_gcp_without_credentials_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    lookup = live_quota.lookup([("gcp", "us-central1", "NVIDIA_L4_GPUS")], live_quota.Settings(gcp_project="p"))
    (reason,) = lookup.failed.values()
    assert reason.startswith("no Google credentials") or "missing.json" in reason


# ---------------------------------------------------------------- through the analyzer protocol


@pytest.fixture(scope="module")
def aws_dev() -> Any:
    from infra.layers import build
    from infra.plan.engine import run_program
    from stacks.loader import parse

    return run_program(lambda: build(parse(copy.deepcopy(stack_raw("aws-dev")))), "aws-dev")


def test_grpc_live_lookup_against_a_moto_server(aws_dev: Any, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.server import ThreadedMotoServer

    with ec2_quotas_taught():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")  # the pack process inherits it
            seed_ec2_quota(REGION, G_SPOT, applied=16)  # l4-spot needs 32 vCPUs at maximum scale
            block = {"liveLookup": True}
            config = {
                "gpu-cloud-quota": block,
                "gpu-cloud-quota-unknown": block,
                "cluster-endpoint-restricted": "disabled",
            }
            run = run_policies(aws_dev.registrations, "aws-dev", PACK, config)
        finally:
            server.stop()
    found = sorted((v.policy, v.enforcement_level, v.message.splitlines()[-1]) for v in run.violations)
    (over, unknown) = found
    assert over[:2] == ("gpu-cloud-quota", "mandatory")
    assert (
        "L-3819A6DF: pools l4-spot 32" in over[2] and "the quota is 16 (AWS Service Quotas (applied value))" in over[2]
    )
    assert unknown[:2] == ("gpu-cloud-quota-unknown", "advisory")
    assert "L-DB2E81BA" in unknown[2] and "the live lookup failed: AWS answered NoSuchResourceException" in unknown[2]


def test_policy_configs_of_the_examples_give_both_quota_policies_the_same_block() -> None:
    for path in sorted((ROOT / "stacks").glob("policy-config.*.json")):
        config = json.loads(path.read_text())
        strip = lambda c: {k: v for k, v in (c or {}).items() if k != "enforcementLevel"}  # noqa: E731
        assert strip(config.get("gpu-cloud-quota")) == strip(config.get("gpu-cloud-quota-unknown")), path.name


def test_unknown_quotas_can_be_made_mandatory(aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # CI reads quotas live: a lookup that fails there must not let the stack through.
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    over, advisories = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live(unknownQuotas="mandatory"))
    (message,) = over
    assert advisories == [] and "no AWS credentials" in message and message.endswith("(unknownQuotas: mandatory)")


def test_karpenter_quantities_and_a_missing_region_do_not_crash(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    karpenter = SimpleNamespace(
        resource_type="kubernetes:karpenter.sh/v1:NodePool",
        name="l4",
        urn="urn:l4",
        provider=None,
        props={
            "metadata": {"name": "l4"},  # no gpu-platform.io/region annotation
            "spec": {
                "limits": {"cpu": "16000m", "nodes": "8"},  # 16 vCPUs: 4 x g6.xlarge, fewer than 8 nodes
                "template": {
                    "spec": {"requirements": [{"key": "node.kubernetes.io/instance-type", "values": ["g6.xlarge"]}]}
                },
            },
        },
    )
    (row,) = rows([karpenter], live()).values()
    assert row.total == 16 and row.quota is None
    # Read in the session's region (AWS_DEFAULT_REGION), where the account has no such quota seeded.
    assert row.unknown_reason.startswith("AWS answered NoSuchResourceException")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    (row,) = rows([karpenter], live()).values()
    assert row.unknown_reason.startswith("no AWS region for this pool (set AWS_REGION")


def test_a_broken_aws_profile_is_a_failed_lookup_not_a_crash(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    over, advisories = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live())
    (message,) = advisories
    assert over == [] and "the live lookup failed: AWS could not be reached: ProfileNotFound" in message


def test_gcp_asks_for_the_scope_both_apis_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    asked: list[Any] = []

    def default(scopes: Any = None, **_: Any) -> Any:
        asked.append(scopes)
        raise DefaultCredentialsError("none here")

    monkeypatch.setattr(google.auth, "default", default)
    live_quota.lookup([("gcp", "us-central1", "NVIDIA_L4_GPUS")], live_quota.Settings(gcp_project="p"))
    # Not cloud-platform.read-only: the Compute and Cloud Quotas APIs refuse tokens narrowed to it.
    assert asked == [["https://www.googleapis.com/auth/cloud-platform"]]


def test_a_throttled_google_api_is_not_waited_for(google: GoogleApis) -> None:
    google.status = 429  # with Retry-After: 3600 below; urllib3 would otherwise sleep an hour
    google.headers = {"Retry-After": "3600"}
    lookup = live_quota.lookup(
        [("gcp", "us-central1", "NVIDIA_L4_GPUS")], live_quota.Settings(**live_quota_settings(google))
    )
    assert google.requests == ["/compute/v1/projects/p/regions/us-central1"] * 2  # one retry, then it gave up
    (reason,) = lookup.failed.values()
    assert "answered HTTP 429" in reason


def live_quota_settings(google: GoogleApis) -> dict[str, Any]:
    return {"gcp_project": "p", "gcp_compute": google.url, "gcp_cloud_quotas": google.url, "gcp_anonymous": True}


def test_a_message_says_when_usage_was_not_counted(aws: Any) -> None:
    seed_ec2_quota(REGION, G_OD, applied=16)  # and no CloudWatch datapoint
    (message,) = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live())[0]
    assert (
        "over by 16; what is already in use was not counted (no CloudWatch usage datapoint in the last hour)" in message
    )
    put_vcpu_usage(aws, G_OD, 4)
    (message,) = cloud_quota.evaluate([node_group("l4", "g6.xlarge", 8.0)], live())[0]
    assert "over by 16; 4 vCPUs are already in use (CloudWatch AWS/Usage ResourceCount" in message


def test_grpc_gcp_live_lookup_against_the_fake(plan: Any, google: GoogleApis) -> None:
    from tests.conftest import fresh_raw

    google.regions["us-central1"] = [
        {"metric": "PREEMPTIBLE_NVIDIA_L4_GPUS", "limit": 4.0, "usage": 0.0},  # l4-spot needs 8 at maximum scale
    ]
    google.project_quotas = [{"metric": "GPUS_ALL_REGIONS", "limit": 64.0, "usage": 50.0}]
    block = {"liveLookup": True, "gcp": google.config()}
    config = {
        "gpu-cloud-quota": block,
        "gpu-cloud-quota-unknown": block,
        "cluster-endpoint-restricted": "disabled",
        "training-not-time-sliced": {"allowTimeSlicedTraining": True},
    }
    run = run_policies(plan(fresh_raw("gcp-dev")).registrations, "gcp-dev", PACK, config)
    by_policy: dict[str, list[str]] = {}
    for v in run.violations:
        by_policy.setdefault(f"{v.policy}/{v.enforcement_level}", []).append(v.message.splitlines()[-1])
    (over,) = by_policy.pop("gpu-cloud-quota/mandatory")
    assert "PREEMPTIBLE_NVIDIA_L4_GPUS: pools l4-spot 8" in over and "the quota is 4 (GCP Compute regions.get)" in over
    advisories = by_policy.pop("gpu-cloud-quota-unknown/advisory")
    assert by_policy == {}
    # H100 on demand is read from Cloud Quotas, which the fake was not given: unknown, with the answer it got.
    assert any("NVIDIA_H100_GPUS" in m and "the live lookup failed" in m and "HTTP 404" in m for m in advisories)
    # 16 GPUs at maximum scale with 50 of 64 already in use: fits alone, not with what runs.
    assert any("GPUS_ALL_REGIONS" in m and "50 GPUs are already in use" in m for m in advisories)
