"""Model serving: the serving stack, the vLLM runtime, endpoints derived from pools and teams, their checks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from stacks.loader import parse
from tests.conftest import by_type, config_errors, fresh_raw

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"


raw = fresh_raw
errors_of = config_errors


def isvc(capture: Any, name: str) -> dict[str, Any]:
    (found,) = [r.inputs() for r in by_type(capture, ISVC) if r.inputs()["metadata"]["name"] == name]
    return found


def releases(capture: Any) -> dict[str, Any]:
    return {r.inputs()["name"]: r for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}


def test_serving_stack_installed_in_order(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-dev"))
    rel = releases(capture)
    assert rel["kserve"].inputs()["version"] == "v0.20.0" and rel["kserve"].inputs()["namespace"] == "kserve"
    assert rel["kserve"].inputs()["values"]["kserve"]["controller"]["deploymentMode"] == "Standard"
    # KServe's webhook certificate is a cert-manager Certificate; its CRDs come from their own chart; its KEDA
    # autoscaler class creates ScaledObjects.
    assert {rel["cert-manager"].urn, rel["keda"].urn, rel["kserve-crd"].urn} <= set(rel["kserve"].dependencies)
    assert rel["cert-manager"].inputs()["values"] == {"crds": {"enabled": True}}
    (runtime,) = by_type(capture, RUNTIME)
    assert rel["kserve"].urn in runtime.dependencies
    (container,) = runtime.inputs()["spec"]["containers"]
    assert container["image"] == "vllm/vllm-openai:v0.24.0"
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 1800


def test_no_serving_stack_unless_enabled(plan: Callable[..., Any]) -> None:
    capture = plan(raw("local"))
    assert "kserve" not in releases(capture) and not by_type(capture, ISVC)


def test_endpoint_gets_everything_from_its_pool(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-dev"))
    found = isvc(capture, "qwen-7b")
    assert found["metadata"]["namespace"] == "team-inference"
    assert found["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    predictor = found["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"gpu-platform.io/pool": "l4-spot"}
    assert predictor["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 2)
    model = predictor["model"]
    assert model["runtime"] == "vllm" and model["storageUri"] == "hf://Qwen/Qwen2.5-7B-Instruct"
    assert "--tensor-parallel-size=1" in model["args"] and "--max-model-len=8192" in model["args"]
    # Limits as well as requests: KServe fills in a 1-CPU limit where there is none.
    assert model["resources"]["limits"] == model["resources"]["requests"]
    assert model["resources"]["limits"]["nvidia.com/gpu"] == "1"
    # g6.xlarge: 4 vCPUs, 16 GiB; a replica that asks nothing gets 80 % of its share.
    assert model["resources"]["limits"]["cpu"] == "3" and model["resources"]["limits"]["memory"] == "12Gi"
    # Its schedule's own ScaledObject scales it (tests/test_exposure.py).
    assert found["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"


def test_fixed_endpoint_keeps_its_replicas(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    endpoint = config["serving"]["endpoints"][0]
    del endpoint["schedule"]
    endpoint["maxReplicas"] = 1
    found = isvc(plan(config), "qwen-7b")
    assert found["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert "autoScaling" not in found["spec"]["predictor"]


def test_70b_across_eight_h100s_reads_the_teams_bucket(plan: Callable[..., Any]) -> None:
    predictor = isvc(plan(raw("gcp-dev")), "llama-70b")["spec"]["predictor"]
    assert "--tensor-parallel-size=8" in predictor["model"]["args"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert predictor["serviceAccountName"] == "model-reader"  # read-only on the team's prefix


def test_endpoint_token_is_a_secret(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    config["serving"]["endpoints"][0]["hfToken"] = "hf_secret_value"
    capture = plan(config)
    (secret,) = [r for r in by_type(capture, "kubernetes:core/v1:Secret") if r.name.endswith("-secret")]
    assert secret.inputs()["stringData"] == {"HF_TOKEN": "[secret]"}  # values hidden, shape kept
    found = isvc(capture, "qwen-7b")
    assert "hf_secret_value" not in json.dumps(found)
    # The storage initializer downloads the weights: it reads the token from the secrets its service account lists.
    (account,) = [r.inputs() for r in by_type(capture, "kubernetes:core/v1:ServiceAccount") if "secrets" in r.inputs()]
    assert account["secrets"] == [{"name": "qwen-7b-hf-token"}]
    assert found["spec"]["predictor"]["serviceAccountName"] == account["metadata"]["name"] == "qwen-7b-hf"
    assert found["spec"]["predictor"]["model"]["env"][0] == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "qwen-7b-hf-token", "key": "HF_TOKEN"}},
    }


def test_scaling_on_vllm_load_through_keda(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    config["serving"]["prometheus"] = "http://prometheus.monitoring.svc:9090"
    config["serving"]["endpoints"][0].update(maxReplicas=2, scaling={"metric": "requests-waiting", "target": 4})
    del config["serving"]["endpoints"][0]["schedule"]
    found = isvc(plan(config), "qwen-7b")
    assert found["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    (metric,) = found["spec"]["predictor"]["autoScaling"]["metrics"]
    external = metric["external"]
    assert external["metric"]["serverAddress"] == "http://prometheus.monitoring.svc:9090"
    assert "vllm:num_requests_waiting" in external["metric"]["query"]
    assert 'model_name="qwen-7b"' in external["metric"]["query"]
    # KServe builds KEDA's trigger from target.value, and refuses an InferenceService without it.
    assert external["target"] == {"type": "Value", "value": "4"}


def _endpoint(**fields: Any) -> dict[str, Any]:
    return {"name": "e", "team": "inference", "model": "hf://org/model", "pool": "l4-spot", **fields}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["serving"].update(enabled=False), "the serving stack is not installed"),
        (lambda c: c["serving"]["endpoints"][0].update(gpusPerReplica=2), "gpusPerReplica: 2 does not fit one node"),
        (
            lambda c: c["serving"]["endpoints"][0].update(maxReplicas=3),
            "maxReplicas: 3 x 1 = 3 nvidia.com/gpu on l4-spot, but team inference's quota there is 2",
        ),
        (lambda c: c["serving"]["endpoints"][0].update(maxReplicas=2), "maxReplicas: 2 above minReplicas (1) without"),
        (
            lambda c: c["serving"]["endpoints"][0].update(gpusPerReplica=4, tensorParallelSize=3),
            "tensorParallelSize 3 does not divide gpusPerReplica 4; allowed: 1, 2, 4",
        ),
        (lambda c: c["serving"]["endpoints"][0].update(minReplicas=3, maxReplicas=2), "minReplicas (3) is greater"),
        (lambda c: c["serving"]["endpoints"][0].update(minReplicas=0), "minReplicas: 0 would never start a replica"),
        (
            lambda c: (
                c.update(serving={**c["serving"], "prometheus": "http://p:9090"})
                or c["serving"]["endpoints"][0].update(minReplicas=0, scaling={"metric": "requests-waiting"})
            ),
            "minReplicas: 0 would never start a replica",
        ),
        (
            lambda c: c["serving"]["endpoints"][0].update(scaling={"metric": "requests-running"}),
            "scaling: scaling on vLLM's load reads its metrics from Prometheus",
        ),
        (
            lambda c: c["serving"]["endpoints"][0].update(scaling={"metric": "kv-cache", "target": 2}),
            "kv-cache is a fraction",
        ),
        (lambda c: c["serving"]["endpoints"][0].update(model="http://x/y"), 'model: "http://x/y" is not allowed'),
        (
            lambda c: c["serving"]["endpoints"][0].update(model="s3://other-bucket/m"),
            "model: the team's model-reader identity may read only its prefix of the platform's storage (none configured)",
        ),
        (lambda c: c["serving"]["endpoints"][0].update(team="ops"), "team: no team named 'ops'"),
        (lambda c: c["serving"]["endpoints"][0].update(pool="h100"), "pool: no node pool named 'h100'"),
        (lambda c: c["serving"]["endpoints"].append(_endpoint()), "name: 'e' is used by an earlier endpoint"),
        (
            lambda c: c["serving"]["endpoints"][0].update(pool="a10g"),
            "gpuMemoryUtilization: 0.9: pool a10g shares each GPU between 4 pods",
        ),
        (lambda c: c["teams"][0].update(namespace="kserve"), "namespace 'kserve' belongs to the serving stack"),
    ],
)
def test_endpoint_problems(change: Callable[[dict[str, Any]], Any], expected: str) -> None:
    config = raw("aws-dev")
    config["serving"]["endpoints"] = [_endpoint()]
    parse(copy.deepcopy(config))  # the base is valid
    change(config)
    errors = errors_of(config)
    assert any(expected in e for e in errors), errors


def test_shared_pool_endpoint_with_its_share_of_memory() -> None:
    config = raw("aws-dev")
    config["serving"]["endpoints"] = [_endpoint(pool="a10g", gpuMemoryUtilization=0.24)]
    parse(config)


def test_team_stack_deploys_an_endpoint(plan: Callable[..., Any]) -> None:
    config = {
        "platform": {"stack": "aws-dev", "team": "inference"},
        "serving": {"endpoints": [_endpoint(name="mistral-7b", model="hf://mistralai/Mistral-7B-Instruct-v0.3")]},
    }
    capture = plan(config, "aws-dev-inference")
    found = isvc(capture, "mistral-7b")
    assert found["metadata"]["namespace"] == "team-inference"
    assert capture.outputs["endpoints"] == ["mistral-7b"]
    other = copy.deepcopy(config)
    other["serving"]["endpoints"][0]["team"] = "research"
    assert any("deploys only team inference's endpoints" in e for e in errors_of(other))
    extra = copy.deepcopy(config)
    extra["serving"]["prometheus"] = "http://p:9090"
    assert any(e.startswith("gpu-platform:serving.prometheus: a team stack has only") for e in errors_of(extra))


# ---------------------------------------------------------------- warm capacity


def test_warm_capacity_on_a_schedule(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-dev"))
    (priority,) = by_type(capture, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    assert priority.inputs()["value"] == -5 and priority.inputs()["preemptionPolicy"] == "Never"
    (deployment,) = [r for r in by_type(capture, "kubernetes:apps/v1:Deployment") if r.name.startswith("warm-")]
    pod = deployment.inputs()["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "gpu-platform-warm-capacity"
    assert pod["nodeSelector"] == {"gpu-platform.io/pool": "l4-spot"}
    # One GPU unit (what every autoscaler's view of the node offers), one placeholder per node.
    assert pod["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert deployment.inputs()["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    assert deployment.ignore_changes == ["spec.replicas"]  # KEDA owns the count
    (scaled,) = [r for r in by_type(capture, "kubernetes:keda.sh/v1alpha1:ScaledObject") if r.name.startswith("warm-")]
    (trigger,) = scaled.inputs()["spec"]["triggers"]
    assert trigger == {
        "type": "cron",
        "metadata": {
            "timezone": "America/New_York",
            "start": "0 8 * * 1,2,3,4,5",
            "end": "0 20 * * 1,2,3,4,5",
            "desiredReplicas": "2",
        },
    }
    keda = next(r for r in by_type(capture, "kubernetes:helm.sh/v3:Release") if r.inputs()["name"] == "keda")
    assert keda.urn in scaled.dependencies and deployment.urn in scaled.dependencies
    # The autoscaler adds nodes for them: their priority is above its expendable-pods cutoff.
    ca = next(
        r for r in by_type(capture, "kubernetes:helm.sh/v3:Release") if r.inputs()["name"] == "cluster-autoscaler"
    )
    assert ca.inputs()["values"]["extraArgs"]["expendable-pods-priority-cutoff"] <= -5


def test_warm_capacity_installs_keda_without_serving(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    config.pop("serving")
    capture = plan(config)
    names = {r.inputs()["name"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    assert "keda" in names and "kserve" not in names


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"nodes": 9, "start": "08:00", "end": "20:00"}, "warm[0].nodes: 9 warm nodes, but the pool scales to 8"),
        ({"nodes": 1, "start": "20:00", "end": "08:00"}, "end 08:00 is not after start 20:00"),
        ({"nodes": 1, "start": "8:00", "end": "20:00"}, 'start: "8:00" is not allowed'),
        ({"nodes": 1, "start": "08:00", "end": "20:00", "days": ["mon", "mon"]}, "days lists a day more than once"),
        ({"nodes": 1, "start": "08:00", "end": "20:00", "timezone": "nowhere"}, 'timezone: "nowhere" is not allowed'),
    ],
)
def test_warm_window_problems(window: dict[str, Any], expected: str) -> None:
    config = raw("aws-dev")
    config["nodePools"][0]["warm"] = [window]
    assert any(expected in e for e in errors_of(config)), errors_of(config)


def test_warm_capacity_needs_an_autoscaler() -> None:
    config = raw("local")
    config["nodePools"][0]["warm"] = [{"nodes": 1, "start": "08:00", "end": "20:00"}]
    assert any(e.startswith("gpu-platform:nodePools[0].warm: applies only to cloud") for e in errors_of(config))


# ---------------------------------------------------------------- plain mode


def test_plain_mode_renders_vllm_without_kserve(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    config["nodePools"][0].pop("warm")
    config["serving"] = {"enabled": True, "mode": "plain", "endpoints": [_endpoint(hfToken="hf_x")]}
    capture = plan(config)
    names = {r.inputs()["name"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    assert not names & {"kserve", "cert-manager", "keda"}  # nothing scales: no KEDA either
    (deployment,) = [r.inputs() for r in by_type(capture, "kubernetes:apps/v1:Deployment")]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "vllm/vllm-openai:v0.24.0"
    assert "--model=org/model" in container["args"] and "--served-model-name=e" in container["args"]
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "e-hf-token", "key": "HF_TOKEN"}}} in container[
        "env"
    ]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert deployment["spec"]["template"]["spec"]["nodeSelector"] == {"gpu-platform.io/pool": "l4-spot"}
    (service,) = [r.inputs() for r in by_type(capture, "kubernetes:core/v1:Service")]
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    # Pulumi does not wait out a GPU node, the image and the weights; a rollout never surges past the quota.
    assert (
        service["metadata"]["annotations"] == deployment["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    )
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert not by_type(capture, ISVC)


def test_plain_mode_scales_with_keda_and_mounts_volumes(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    config["serving"] = {
        "enabled": True,
        "mode": "plain",
        "prometheus": "http://prometheus.monitoring.svc:9090",
        "endpoints": [
            _endpoint(model="pvc://models/qwen-7b", maxReplicas=2, scaling={"metric": "requests-running", "target": 8})
        ],
    }
    capture = plan(config)
    (scaled,) = [r for r in by_type(capture, "kubernetes:keda.sh/v1alpha1:ScaledObject") if r.name.endswith("-scaling")]
    (trigger,) = scaled.inputs()["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metadata"]["threshold"] == "8"
    assert "vllm:num_requests_running" in trigger["metadata"]["query"]
    (deployment,) = [r for r in by_type(capture, "kubernetes:apps/v1:Deployment") if not r.name.startswith("warm-")]
    assert deployment.ignore_changes == ["spec.replicas"]
    pod = deployment.inputs()["spec"]["template"]["spec"]
    assert {"name": "model", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}} in pod["volumes"]
    assert "--model=/mnt/models/qwen-7b" in pod["containers"][0]["args"]


def test_plain_mode_refuses_bucket_models() -> None:
    config = raw("aws-dev")
    config["serving"] = {"enabled": True, "mode": "plain", "endpoints": [_endpoint(model="s3://models-bucket/m")]}
    assert any("model: without KServe's storage initializer" in e for e in errors_of(config))


def test_plain_mode_endpoint_schedule(plan: Callable[..., Any]) -> None:
    config = raw("aws-dev")
    window = {"minReplicas": 2, "days": ["mon", "fri"], "start": "09:30", "end": "17:00", "timezone": "Europe/Berlin"}
    config["serving"] = {"enabled": True, "mode": "plain", "endpoints": [_endpoint(maxReplicas=2, schedule=[window])]}
    capture = plan(config)
    (scaled,) = [r for r in by_type(capture, "kubernetes:keda.sh/v1alpha1:ScaledObject") if r.name.endswith("-scaling")]
    spec = scaled.inputs()["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 2)
    assert spec["triggers"] == [
        {
            "type": "cron",
            "metadata": {
                "timezone": "Europe/Berlin",
                "start": "30 9 * * 1,5",
                "end": "0 17 * * 1,5",
                "desiredReplicas": "2",
            },
        }
    ]


def test_endpoint_schedule_rules() -> None:
    config = raw("aws-dev")
    window = {"minReplicas": 3, "start": "09:00", "end": "17:00"}
    config["serving"]["endpoints"][0].update(maxReplicas=2, schedule=[window])
    for mode in ("kserve", "plain"):
        config["serving"]["mode"] = mode
        errors = errors_of(config)
        assert errors == ["gpu-platform:serving.endpoints[0].schedule[0].minReplicas: 3 is more than maxReplicas (2)"]


def test_bucket_models_only_under_the_teams_prefix() -> None:
    config = raw("gcp-dev")
    config["serving"]["endpoints"][0]["model"] = "gs://someone-elses-bucket/llama"
    assert any("gs://gpu-dev-models-example/teams/research/" in e for e in errors_of(config))
    config["serving"]["endpoints"][0]["model"] = "gs://gpu-dev-models-example/teams/inference/llama"
    assert any("may read only its prefix" in e for e in errors_of(config))


def test_plaintext_endpoint_token_in_a_stack_file_is_refused(tmp_path: Any) -> None:
    import yaml

    from stacks.loader import load_stack_file

    config = raw("aws-dev")
    config["serving"]["endpoints"][0]["hfToken"] = "hf_plain"
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(yaml.safe_dump({"config": {f"gpu-platform:{k}": v for k, v in config.items()}}))
    issues = [str(i) for i in load_stack_file(path).issues]
    assert any(i.startswith("gpu-platform:serving.endpoints[0].hfToken: is plain text") for i in issues)
    assert not any("hf_plain" in i for i in issues)


def test_replicas_drain_before_they_stop(plan: Callable[..., Any]) -> None:
    """Scale-in, rollouts and the end of a schedule window stop replicas: in-flight generations get to finish."""
    from components.inference_service import DRAIN_S

    capture = plan(raw("aws-dev"))
    (runtime,) = by_type(capture, RUNTIME)
    (container,) = runtime.inputs()["spec"]["containers"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": DRAIN_S}}} and DRAIN_S >= 60
    assert isvc(capture, "qwen-7b")["spec"]["predictor"]["terminationGracePeriodSeconds"] > DRAIN_S
    config = raw("aws-dev")
    config["serving"]["mode"] = "plain"
    for endpoint in config["serving"]["endpoints"]:
        del endpoint["external"], endpoint["apiKey"]
    config["serving"].pop("external")
    (deployment,) = [
        r for r in by_type(plan(config), "kubernetes:apps/v1:Deployment") if r.name.startswith("endpoints-")
    ]
    pod = deployment.inputs()["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > DRAIN_S
    assert pod["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": DRAIN_S}}}
