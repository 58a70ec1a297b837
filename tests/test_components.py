"""The component graph under the mock engine: what each layer registers, with which inputs."""

from __future__ import annotations

from typing import Any

import yaml

from components import device_plugin
from components.pool_spec import PoolSpec, SharingMode, SharingSpec, TaintSpec
from components.versions import FAKE_GPU_OPERATOR, NVIDIA_DEVICE_PLUGIN
from tests.conftest import by_type

K8S_PREFIX = "kubernetes:"


def test_every_kubernetes_resource_uses_the_explicit_provider(local_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(local_raw)
    (provider,) = by_type(capture, "pulumi:providers:kubernetes")
    k8s = [r for r in capture.registrations if r.custom and r.type.startswith(K8S_PREFIX)]
    assert k8s
    assert {r.provider.rsplit("::", 1)[0] for r in k8s} == {provider.urn}


def test_provider_uses_configured_context(local_raw: dict[str, Any], plan: Any) -> None:
    (provider,) = by_type(plan(local_raw), "pulumi:providers:kubernetes")
    assert provider.inputs()["context"] == "kind-gpu-platform"
    assert "kubeconfig" not in provider.inputs()


def test_inline_kubeconfig_stays_secret(local_raw: dict[str, Any], plan: Any) -> None:
    local_raw["cluster"] = {"kubeconfig": "apiVersion: v1\nkind: Config\n"}
    capture = plan(local_raw)
    (provider,) = by_type(capture, "pulumi:providers:kubernetes")
    assert provider.inputs()["kubeconfig"] == "[secret]"
    assert "kind: Config" in provider.inputs_revealed()["kubeconfig"]
    assert capture.outputs["kubeconfig"] == "[secret]" and capture.secret_outputs == ["kubeconfig"]


def test_namespaces_for_gpu_system_and_each_team(local_raw: dict[str, Any], plan: Any) -> None:
    namespaces = {
        r.inputs()["metadata"]["name"]: r.inputs()["metadata"]["labels"]
        for r in by_type(plan(local_raw), "kubernetes:core/v1:Namespace")
    }
    assert set(namespaces) == {"gpu-operator", "kueue-system", "team-research", "team-inference"}
    assert namespaces["gpu-operator"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespaces["team-research"]["gpu-platform.io/team"] == "research"
    assert namespaces["team-research"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_existing_node_patches_keep_their_state_from_the_per_pool_layout(local_raw: dict[str, Any], plan: Any) -> None:
    patches = by_type(plan(local_raw, "local"), "kubernetes:core/v1:NodePatch")
    assert patches and all(len(p.aliases) == 1 for p in patches)
    (patch,) = [p for p in patches if p.name == "pool-l4-sim-gpu-platform-worker"]
    assert patch.aliases == [
        "urn:pulumi:local::gpu-platform::gpu-platform:index:ExistingNodePool$kubernetes:core/v1:NodePatch"
        "::pool-l4-sim-gpu-platform-worker"
    ]


def test_existing_pool_nodes_get_labels_and_gpu_taint(local_raw: dict[str, Any], plan: Any) -> None:
    patches = {
        r.inputs()["metadata"]["name"]: r.inputs() for r in by_type(plan(local_raw), "kubernetes:core/v1:NodePatch")
    }
    assert set(patches) == {"gpu-platform-worker", "gpu-platform-worker2"}
    node = patches["gpu-platform-worker"]
    assert node["metadata"]["labels"] == {
        "gpu-platform.io/pool": "l4-sim",
        "gpu-platform.io/gpu": "l4",
        "nvidia.com/gpu.product": "NVIDIA-L4",
        "run.ai/simulated-gpu-node-pool": "l4-sim",
    }
    assert node["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]


def test_pool_without_nodes_registers_no_patch(local_raw: dict[str, Any], plan: Any) -> None:
    local_raw["nodePools"][0]["nodes"] = []
    assert by_type(plan(local_raw), "kubernetes:core/v1:NodePatch") == []


def _release(capture: Any, chart: str) -> dict[str, Any]:
    (release,) = [r.inputs() for r in by_type(capture, "kubernetes:helm.sh/v3:Release") if r.inputs()["chart"] == chart]
    return release


def test_device_plugin_release_is_pinned_and_reads_our_configmap(local_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(local_raw)
    release = _release(capture, NVIDIA_DEVICE_PLUGIN.chart)
    assert release["version"] == NVIDIA_DEVICE_PLUGIN.version
    assert release["repositoryOpts"] == {"repo": NVIDIA_DEVICE_PLUGIN.repo}
    assert release["namespace"] == "gpu-operator"
    (config_map,) = by_type(capture, "kubernetes:core/v1:ConfigMap")
    cm = config_map.inputs()
    assert release["values"]["config"] == {"name": cm["metadata"]["name"], "default": "default"}
    assert cm["metadata"]["namespace"] == "gpu-operator"
    # one named config per real pool (simulated pools are the fake operator's), plus the default
    assert sorted(cm["data"]) == ["default", "t4-shared"]
    shared = yaml.safe_load(cm["data"]["t4-shared"])
    assert shared["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert shared["sharing"]["timeSlicing"]["failRequestsGreaterThanOne"] is True
    assert config_map.urn in [d for d in _deps(capture, "gpu-software-device-plugin")]


def _deps(capture: Any, name: str) -> list[str]:
    (reg,) = [r for r in capture.registrations if r.name == name]
    return reg.dependencies


def test_device_plugin_tolerates_pool_taints_and_skips_simulated_nodes(local_raw: dict[str, Any], plan: Any) -> None:
    local_raw["nodePools"][1]["taints"] = [{"key": "team", "value": "ml", "effect": "NoExecute"}]
    values = _release(plan(local_raw), NVIDIA_DEVICE_PLUGIN.chart)["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]
    assert {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoExecute"} in values["tolerations"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert all(
        {"key": "run.ai/simulated-gpu-node-pool", "operator": "DoesNotExist"} in t["matchExpressions"] for t in terms
    )


def test_device_plugin_can_be_disabled(local_raw: dict[str, Any], plan: Any) -> None:
    local_raw["gpuSoftware"]["devicePlugin"]["enabled"] = False
    local_raw["nodePools"][1]["sharing"] = {"mode": "none"}
    local_raw["queues"] = {"allowOvercommit": True}  # t4-shared is 1 GPU without sharing
    capture = plan(local_raw)
    charts = {r.inputs()["chart"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    assert NVIDIA_DEVICE_PLUGIN.chart not in charts and "dcgm-exporter" not in charts
    assert FAKE_GPU_OPERATOR.chart in charts
    assert by_type(capture, "kubernetes:core/v1:ConfigMap") == []


def test_fake_gpu_operator_topology_lists_simulated_pools(local_raw: dict[str, Any], plan: Any) -> None:
    release = _release(plan(local_raw), FAKE_GPU_OPERATOR.chart)
    assert release["version"] == "0.2.0" and "repositoryOpts" not in release
    topology = release["values"]["topology"]
    assert topology["nodePools"] == {"l4-sim": {"gpuProduct": "NVIDIA-L4", "gpuCount": 2, "gpuMemory": 23034}}
    assert topology["nodePoolLabelKey"] == "run.ai/simulated-gpu-node-pool"


def test_no_fake_gpus_without_the_flag(local_raw: dict[str, Any], plan: Any) -> None:
    local_raw["gpuSoftware"]["fakeGpus"]["enabled"] = False
    for pool in local_raw["nodePools"]:
        pool.pop("simulated", None)
    charts = {r.inputs()["chart"] for r in by_type(plan(local_raw), "kubernetes:helm.sh/v3:Release")}
    assert NVIDIA_DEVICE_PLUGIN.chart in charts and FAKE_GPU_OPERATOR.chart not in charts


def test_capacity_outputs_account_for_sharing(local_raw: dict[str, Any], plan: Any) -> None:
    capacity = plan(local_raw).outputs["gpuCapacity"]
    assert capacity["l4-sim"] == {"gpu": "l4", "gpusPerNode": 2, "maxGpus": 4, "maxSchedulableGpus": 4}
    assert capacity["t4-shared"] == {"gpu": "t4", "gpusPerNode": 1, "maxGpus": 1, "maxSchedulableGpus": 4}


def test_mps_config_has_no_time_slicing_only_fields() -> None:
    pool = PoolSpec("p", "l4", 1, 1, sharing=SharingSpec(SharingMode.MPS, 8, rename_by_default=True))
    config = device_plugin.plugin_config(pool)
    assert config["sharing"] == {
        "mps": {"renameByDefault": True, "resources": [{"name": "nvidia.com/gpu", "replicas": 8}]}
    }


def test_node_labels_cannot_override_platform_labels() -> None:
    pool = PoolSpec("p", "l4", 1, 1, labels={"gpu-platform.io/pool": "other", "tier": "a"})
    labels = pool.node_labels()
    assert labels["gpu-platform.io/pool"] == "p" and labels["tier"] == "a"
    assert labels["nvidia.com/device-plugin.config"] == "p"


def test_gpu_taint_not_duplicated_by_extra_taints() -> None:
    gpu = TaintSpec("nvidia.com/gpu", "present", "NoSchedule")
    pool = PoolSpec("p", "l4", 1, 1, extra_taints=(gpu, TaintSpec("a", "b", "NoSchedule")))
    assert pool.taints == (gpu, TaintSpec("a", "b", "NoSchedule"))
