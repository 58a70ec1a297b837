"""Each policy directly (compliant, violating, missing property, config override) and through the
analyzer gRPC protocol on a captured stack, as `pulumi preview --policy-pack policies` runs it."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from infra.layers import build
from infra.plan.engine import run_program
from infra.plan.policy_runner import PolicyConfigError, run_policies
from policies.guardrails import gpu_limits, gpu_tolerations, pinned_versions
from stacks.loader import parse
from tests.conftest import ROOT, fresh_raw

PACK = ROOT / "policies"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def gpu_deployment(**container: Any) -> dict[str, Any]:
    """A compliant GPU Deployment's inputs, as the engine sends them (numbers as floats)."""
    spec = {
        "containers": [
            {
                "name": "trainer",
                "image": "nvcr.io/nvidia/pytorch:25.01-py3",
                "resources": {"requests": {"nvidia.com/gpu": 1.0}, "limits": {"nvidia.com/gpu": 1.0}},
                **container,
            }
        ],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": spec}}}


# ---------------------------------------------------------------- gpu-limits


def test_gpu_limits_compliant() -> None:
    assert gpu_limits.violations(DEPLOYMENT, gpu_deployment(), {}) == []


def test_gpu_limits_request_without_limit() -> None:
    (message,) = gpu_limits.violations(DEPLOYMENT, gpu_deployment(resources={"requests": {"nvidia.com/gpu": 2.0}}), {})
    assert "requests nvidia.com/gpu=2 but sets no limit" in message
    assert message.startswith("spec.template.spec.containers[trainer].resources")


def test_gpu_limits_mismatch() -> None:
    props = gpu_deployment(resources={"requests": {"nvidia.com/gpu": 1.0}, "limits": {"nvidia.com/gpu": 2.0}})
    (message,) = gpu_limits.violations(DEPLOYMENT, props, {})
    assert "limits it to 2; GPU requests must equal limits" in message


def test_gpu_limits_fractional_gpu() -> None:
    props = gpu_deployment(resources={"limits": {"nvidia.com/gpu": 0.5}})
    assert "not a whole number" in gpu_limits.violations(DEPLOYMENT, props, {})[0]


def test_gpu_limits_missing_properties_are_fine() -> None:
    assert gpu_limits.violations(DEPLOYMENT, {}, {}) == []
    assert (
        gpu_limits.violations(DEPLOYMENT, {"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}}, {}) == []
    )
    assert gpu_limits.violations("kubernetes:core/v1:ConfigMap", {"data": {}}, {}) == []


def test_gpu_limits_config_override_resource_names() -> None:
    props = gpu_deployment(resources={"requests": {"example.com/tpu": 1.0}})
    assert gpu_limits.violations(DEPLOYMENT, props, {}) == []
    assert gpu_limits.violations(DEPLOYMENT, props, {"resourceNames": ["example.com/*"]})


def test_gpu_limits_checks_init_containers_and_mig() -> None:
    props = gpu_deployment()
    props["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "warm", "image": "a:1", "resources": {"requests": {"nvidia.com/mig-1g.10gb": 1.0}}}
    ]
    (message,) = gpu_limits.violations(DEPLOYMENT, props, {})
    assert "initContainers[warm]" in message and "nvidia.com/mig-1g.10gb" in message


# ---------------------------------------------------------------- gpu-tolerations


def test_gpu_tolerations_compliant_and_wildcard() -> None:
    assert gpu_tolerations.violations(DEPLOYMENT, gpu_deployment(), {}) == []
    props = gpu_deployment()
    props["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    assert gpu_tolerations.violations(DEPLOYMENT, props, {}) == []


def test_gpu_tolerations_missing() -> None:
    props = gpu_deployment()
    del props["spec"]["template"]["spec"]["tolerations"]
    (message,) = gpu_tolerations.violations(DEPLOYMENT, props, {})
    assert "does not tolerate the GPU node taint nvidia.com/gpu=present:NoSchedule" in message


@pytest.mark.parametrize(
    "toleration",
    [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"},
        {"key": "other", "operator": "Exists"},
    ],
)
def test_gpu_tolerations_wrong_toleration(toleration: dict[str, str]) -> None:
    props = gpu_deployment()
    props["spec"]["template"]["spec"]["tolerations"] = [toleration]
    assert gpu_tolerations.violations(DEPLOYMENT, props, {})


def test_gpu_tolerations_ignore_cpu_pods_and_missing_spec() -> None:
    props = gpu_deployment(resources={"limits": {"cpu": 1.0}})
    del props["spec"]["template"]["spec"]["tolerations"]
    assert gpu_tolerations.violations(DEPLOYMENT, props, {}) == []
    assert gpu_tolerations.violations(DEPLOYMENT, {"spec": None}, {}) == []


def test_gpu_tolerations_config_override_taint() -> None:
    config = {"taintKey": "gpu", "taintValue": "true", "taintEffect": "NoSchedule"}
    assert gpu_tolerations.violations(DEPLOYMENT, gpu_deployment(), config)
    props = gpu_deployment()
    props["spec"]["template"]["spec"]["tolerations"] = [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]
    assert gpu_tolerations.violations(DEPLOYMENT, props, config) == []


# ---------------------------------------------------------------- pinned-versions


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("nginx", "has no tag"),
        ("nginx:latest", "floating tag 'latest'"),
        ("registry:5000/team/app", "has no tag"),
        ("registry:5000/team/app:1.2", None),
        ("app@sha256:" + "a" * 64, None),
    ],
)
def test_image_pinning(image: str, problem: str | None) -> None:
    found = pinned_versions.image_problem(image, pinned_versions.DEFAULT_FLOATING, False)
    assert (found is None) if problem is None else (problem in str(found))


def test_pinned_versions_workload_images() -> None:
    assert pinned_versions.violations(DEPLOYMENT, gpu_deployment(), {}) == []
    (message,) = pinned_versions.violations(DEPLOYMENT, gpu_deployment(image="pytorch:latest"), {})
    assert "uses the floating tag 'latest'" in message
    assert pinned_versions.violations(DEPLOYMENT, gpu_deployment(image=""), {}) == [
        "spec.template.spec.containers[trainer]: image '' has no image; pin a version tag or digest"
    ]


def test_pinned_versions_helm() -> None:
    release = "kubernetes:helm.sh/v3:Release"
    assert pinned_versions.violations(release, {"chart": "c", "version": "1.2.3"}, {}) == []
    assert "has no version" in pinned_versions.violations(release, {"chart": "c"}, {})[0]
    assert "floats" in pinned_versions.violations(release, {"chart": "c", "version": "latest"}, {})[0]
    assert "floats" in pinned_versions.violations(release, {"chart": "c", "version": "1.x"}, {})[0]
    values = {"chart": "c", "version": "1.0.0", "values": {"image": {"repository": "r", "tag": "latest"}}}
    assert "values.image.tag='latest' uses the floating tag" in pinned_versions.violations(release, values, {})[0]


def test_pinned_versions_karpenter_ami_alias() -> None:
    node_class = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
    pinned = {"spec": {"amiSelectorTerms": [{"alias": "al2023@v20250410"}]}}
    assert pinned_versions.violations(node_class, pinned, {}) == []
    floating = {"spec": {"amiSelectorTerms": [{"alias": "al2023@latest"}]}}
    (message,) = pinned_versions.violations(node_class, floating, {})
    assert "'al2023@latest' floats to every new AMI" in message
    assert pinned_versions.violations(node_class, {}, {}) == []


def test_pinned_versions_config_override() -> None:
    assert pinned_versions.violations(DEPLOYMENT, gpu_deployment(), {"requireDigest": True})
    assert pinned_versions.violations(DEPLOYMENT, gpu_deployment(image="a:edge"), {"floatingTags": ["edge"]})


# ---------------------------------------------------------------- through the analyzer protocol


def _bad_workload() -> None:
    k8s.apps.v1.Deployment(
        "bad",
        metadata={"name": "bad", "namespace": "team-research"},
        spec={
            "selector": {"matchLabels": {"app": "bad"}},
            "template": {
                "metadata": {"labels": {"app": "bad"}},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "vllm/vllm-openai:latest",
                            "resources": {"requests": {"nvidia.com/gpu": "1"}},
                        }
                    ]
                },
            },
        },
        opts=pulumi.ResourceOptions(provider=k8s.Provider("bad-provider", context="kind-gpu-platform")),
    )


@pytest.fixture(scope="module")
def captured_with_bad_workload() -> Any:
    return plan_with_bad_workload()


def plan_with_bad_workload() -> Any:
    """The local stack plus a Deployment that breaks every resource policy."""
    from tests.conftest import stack_raw

    config = parse(copy.deepcopy(stack_raw("local")))

    def program() -> dict[str, Any]:
        outputs = build(config)
        _bad_workload()
        return outputs

    return run_program(program, "policy-test")


def test_grpc_run_reports_each_policy_on_the_resource(captured_with_bad_workload: Any) -> None:
    run = run_policies(captured_with_bad_workload.registrations, "policy-test", PACK)
    assert run.policies == {
        "gpu-limits": "mandatory",
        "gpu-tolerations": "mandatory",
        "pinned-versions": "mandatory",
        "gpu-cloud-quota": "mandatory",
        "gpu-cloud-quota-unknown": "advisory",
        "gpu-pool-capacity": "mandatory",
        "gpu-workload-fit": "mandatory",
        "gpu-nodes-hardened": "mandatory",
        "cluster-endpoint-restricted": "advisory",
        "storage-protected": "mandatory",
        "workloads-least-privilege": "mandatory",
        "workload-storage-scoped": "mandatory",
        "mig-profiles-allowed": "mandatory",
        "training-not-time-sliced": "mandatory",
        "gpu-cost-ceiling": "advisory",
        "crds-before-custom-resources": "mandatory",
        "kubernetes-after-cluster-ready": "mandatory",
        "gpu-pools-scale": "mandatory",
        "extended-resources-advertised": "mandatory",
        "physical-names": "mandatory",
        "karpenter-ami-exists": "mandatory",
        "webhooks-reachable": "mandatory",
        "eks-control-plane-zones": "mandatory",
    }
    by_policy = {v.policy: v for v in run.violations}
    assert set(by_policy) == {"gpu-limits", "gpu-tolerations", "pinned-versions"}
    urn = "urn:pulumi:policy-test::gpu-platform::kubernetes:apps/v1:Deployment::bad"
    assert all(v.urn == urn and v.enforcement_level == "mandatory" for v in run.violations)
    assert "requests nvidia.com/gpu=1 but sets no limit" in by_policy["gpu-limits"].message
    assert by_policy["pinned-versions"].policy_pack == "gpu-platform"


def test_grpc_run_clean_platform_has_no_violations(plan: Any, local_raw: dict[str, Any]) -> None:
    run = run_policies(plan(local_raw).registrations, "local", PACK)
    assert run.violations == []
    assert run.config["gpu-tolerations"]["taintKey"] == "nvidia.com/gpu"  # schema defaults reached the pack


def test_grpc_run_config_all_and_override(captured_with_bad_workload: Any) -> None:
    config = {
        "all": "advisory",
        "gpu-limits": {"enforcementLevel": "disabled"},
        "pinned-versions": {"floatingTags": ["nope"]},
    }
    run = run_policies(captured_with_bad_workload.registrations, "policy-test", PACK, config)
    assert run.policies["gpu-tolerations"] == "advisory" and run.policies["gpu-limits"] == "disabled"
    assert {v.policy for v in run.violations} == {"gpu-tolerations"}  # latest is no longer floating
    assert run.mandatory == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"gpu-limit": "advisory"}, "no policy named 'gpu-limit'"),
        ({"all": "strict"}, '"strict" is not allowed; allowed: advisory, mandatory, remediate, disabled'),
        ({"gpu-tolerations": {"taintEffect": "Sometimes"}}, "gpu-tolerations.taintEffect: 'Sometimes' is not one of"),
        (
            {"pinned-versions": {"requireDigest": "yes"}},
            "pinned-versions.requireDigest: 'yes' is not of type 'boolean'",
        ),
        ({"gpu-limits": 3}, "expected an enforcement level or an object"),
    ],
)
def test_invalid_policy_config_rejected(
    config: dict[str, Any], problem: str, plan: Any, local_raw: dict[str, Any]
) -> None:
    with pytest.raises(PolicyConfigError) as info:
        run_policies(plan(local_raw).registrations, "local", PACK, config)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_policy_pack_main_only_builds_the_pack() -> None:
    source = (PACK / "__main__.py").read_text()
    assert "PolicyPack(" in source
    modules = list((PACK / "guardrails").rglob("*.py"))
    assert len(modules) > 20 and not [m for m in modules if "PolicyPack(" in m.read_text()]
    assert (PACK / "PulumiPolicy.yaml").exists() and (PACK / "requirements.txt").exists()


def test_grpc_run_refuses_queue_quotas_above_the_pool(plan: Any) -> None:
    """Through the analyzer protocol: a stack that allows overcommit passes its own config checks, and the pack
    still refuses quotas above the pool unless its policy config allows overcommit too."""
    config = fresh_raw("gcp-dev")
    config["queues"] = {**config.get("queues", {}), "allowOvercommit": True}
    config["teams"][0]["gpuQuota"]["l4-spot"] = 40
    registrations = plan(config).registrations
    run = run_policies(registrations, "overcommit", PACK)
    (violation,) = [v for v in run.violations if v.message.startswith("ClusterQueues promise")]
    assert violation.policy == "gpu-pool-capacity" and violation.enforcement_level == "mandatory"
    assert "on pool l4-spot" in violation.message
    allowed = run_policies(registrations, "overcommit", PACK, {"gpu-pool-capacity": {"allowOvercommit": True}})
    assert not [v for v in allowed.violations if v.policy == "gpu-pool-capacity"]
