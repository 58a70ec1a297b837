"""GPU software per cloud and node image, GPU sharing (time-slicing, MPS, MIG), and the Kueue queues."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
import yaml

from components import device_plugin, gpu_operator
from components.gpu_queues import TeamQueue, cluster_queue_spec, namespace_gpu_limits
from components.kueue_config import lendable_pools
from components.pool_spec import MigSpec, PoolSpec, SharingMode, SharingSpec
from stacks.loader import ConfigError, parse
from tests.conftest import by_type, stack_raw


def raw(stack: str) -> dict[str, Any]:
    return copy.deepcopy(stack_raw(stack))


def charts(capture: Any) -> set[str]:
    return {r.inputs()["chart"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}


def release(capture: Any, chart: str) -> dict[str, Any]:
    (found,) = [r.inputs() for r in by_type(capture, "kubernetes:helm.sh/v3:Release") if r.inputs()["chart"] == chart]
    return found


def kinds(capture: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {
        r.inputs()["metadata"]["name"]: r.inputs()
        for r in by_type(capture, f"kubernetes:kueue.x-k8s.io/v1beta2:{kind}")
    }


def errors_of(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(config)
    return [str(i) for i in info.value.issues]


# ---------------------------------------------------------------- which software runs where


def test_existing_cluster_gets_device_plugin_and_dcgm(plan: Any) -> None:
    capture = plan(raw("local"))
    assert {"nvidia-device-plugin", "dcgm-exporter"} <= charts(capture) and "gpu-operator" not in charts(capture)
    values = release(capture, "dcgm-exporter")["values"]
    assert values["service"] == {"enable": True} and values["serviceMonitor"] == {"enabled": False}
    assert values["affinity"] == device_plugin.affinity()  # real GPU nodes only, never simulated ones


def test_service_monitor_only_when_asked(plan: Any) -> None:
    config = raw("local")
    config["gpuSoftware"]["dcgm"] = {"serviceMonitor": True}
    capture = plan(config)
    assert release(capture, "dcgm-exporter")["values"]["serviceMonitor"] == {"enabled": True}
    assert release(capture, "oci://registry.k8s.io/kueue/charts/kueue")["values"]["enablePrometheus"] is True


def test_kueue_ignores_resources_no_queue_rations(plan: Any) -> None:
    # A ClusterQueue admits only workloads whose every requested resource it covers: EFA devices and
    # hugepages (NCCL over EFA) must not make GPU jobs inadmissible.
    values = release(plan(raw("aws-train")), "oci://registry.k8s.io/kueue/charts/kueue")["values"]
    config = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    assert config["kind"] == "Configuration" and config["webhook"] == {"port": 9443}
    assert {"vpc.amazonaws.com/", "hugepages-"} <= set(config["resources"]["excludeResourcePrefixes"])
    assert "trainer.kubeflow.org/trainjob" in config["integrations"]["frameworks"]


def test_no_dcgm_when_disabled(plan: Any) -> None:
    config = raw("local")
    config["gpuSoftware"]["dcgm"] = {"enabled": False}
    assert "dcgm-exporter" not in charts(plan(config))


def test_gpu_operator_on_eks_keeps_the_amis_driver_and_toolkit(plan: Any) -> None:
    capture = plan(raw("aws-train"))
    assert "nvidia-device-plugin" not in charts(capture) and "dcgm-exporter" not in charts(capture)
    operator = release(capture, "gpu-operator")
    assert (operator["version"], operator["repositoryOpts"]) == (
        "v26.7.0",
        {"repo": "https://helm.ngc.nvidia.com/nvidia"},
    )
    values = operator["values"]
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["devicePlugin"]["config"] == {
        "create": False,
        "name": "nvidia-device-plugin-configs",
        "default": "default",
    }
    assert values["mig"] == {"strategy": "single"}
    assert values["migManager"] == {
        "enabled": True,
        "config": {"create": False, "name": "nvidia-mig-configs", "default": "all-disabled"},
        # AL2023 nodes change MIG mode only through a GPU reset, which the MIG manager does by rebooting.
        "env": [{"name": "WITH_REBOOT", "value": "true"}],
    }
    # The stack has EFA pools: the device plugin's MOFED mounts would clash with the EFA plugin.
    assert values["devicePlugin"]["env"] == [{"name": "MOFED_ENABLED", "value": "false"}]
    assert values["dcgmExporter"]["enabled"] is True


def test_gpu_operator_installs_driver_when_asked_on_existing(plan: Any) -> None:
    config = raw("local")
    config["gpuSoftware"] = {"stack": "gpu-operator", "gpuOperator": {"driver": True, "toolkit": True}}
    for pool in config["nodePools"]:
        pool.pop("simulated", None)
    values = release(plan(config), "gpu-operator")["values"]
    assert values["driver"] == {"enabled": True} and values["toolkit"] == {"enabled": True}


def test_bottlerocket_nodes_keep_their_own_device_plugin(plan: Any) -> None:
    config = raw("aws-dev")
    config["nodePools"][0].update(amiType="bottlerocket", sharing={"mode": "time-slicing", "replicas": 3})
    config.pop("serving")  # its vLLM endpoint needs the L4 unshared
    capture = plan(config)
    (group,) = [r.inputs() for r in by_type(capture, "aws:eks/nodeGroup:NodeGroup") if r.name == "pool-l4-spot-nodes"]
    assert group["labels"]["gpu-platform.io/external-device-plugin"] == "true"
    assert "nvidia.com/device-plugin.config" not in group["labels"]
    terms = release(capture, "nvidia-device-plugin")["values"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert all(
        {"key": "gpu-platform.io/external-device-plugin", "operator": "DoesNotExist"} in t["matchExpressions"]
        for t in terms
    )
    (template,) = [
        r.inputs()
        for r in by_type(capture, "aws:ec2/launchTemplate:LaunchTemplate")
        if r.name == "pool-l4-spot-template"
    ]
    settings = base64.b64decode(template["userData"]).decode()
    assert 'device-sharing-strategy = "time-slicing"' in settings and "replicas = 3" in settings


def test_gke_runs_its_own_gpu_software(plan: Any) -> None:
    capture = plan(raw("gcp-dev"))
    # No NVIDIA charts: GKE runs the GPU software itself.
    assert not {c for c in charts(capture) if "nvidia" in c or "dcgm" in c}
    assert "oci://registry.k8s.io/kueue/charts/kueue" in charts(capture)
    (cluster,) = [r.inputs() for r in by_type(capture, "gcp:container/cluster:Cluster")]
    assert cluster["monitoringConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS", "DCGM"]
    assert cluster["monitoringConfig"]["managedPrometheus"] == {"enabled": True}


# ---------------------------------------------------------------- sharing


def spec(
    mode: SharingMode = SharingMode.NONE, replicas: int = 1, mig: MigSpec | None = None, gpu: str = "h100"
) -> PoolSpec:
    return PoolSpec("p", gpu, 8, 2, sharing=SharingSpec(mode, replicas, mig=mig))


@pytest.mark.parametrize(
    ("pool", "resources"),
    [
        (spec(), {"nvidia.com/gpu": 16}),
        (spec(SharingMode.TIME_SLICING, 4), {"nvidia.com/gpu": 64}),
        (spec(SharingMode.MPS, 2), {"nvidia.com/gpu": 32}),
        (spec(mig=MigSpec("single", (("1g.10gb", 7),))), {"nvidia.com/gpu": 112}),
        (spec(SharingMode.TIME_SLICING, 2, MigSpec("single", (("3g.40gb", 2),))), {"nvidia.com/gpu": 64}),
        (
            spec(mig=MigSpec("mixed", (("1g.10gb", 2), ("3g.40gb", 1)))),
            {"nvidia.com/mig-1g.10gb": 32, "nvidia.com/mig-3g.40gb": 16},
        ),
    ],
)
def test_capacity_accounts_for_sharing(pool: PoolSpec, resources: dict[str, int]) -> None:
    assert pool.resources() == resources
    assert pool.max_schedulable_gpus == sum(resources.values())


def test_renamed_shared_resources() -> None:
    pool = PoolSpec("p", "l4", 1, 2, sharing=SharingSpec(SharingMode.TIME_SLICING, 4, rename_by_default=True))
    assert pool.resources() == {"nvidia.com/gpu.shared": 8}


def test_device_plugin_config_per_mode() -> None:
    mps = device_plugin.plugin_config(spec(SharingMode.MPS, 4))
    assert mps["sharing"] == {
        "mps": {"renameByDefault": False, "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}
    }
    mixed = device_plugin.plugin_config(
        spec(SharingMode.TIME_SLICING, 2, MigSpec("mixed", (("1g.10gb", 3), ("2g.20gb", 2))))
    )
    assert mixed["flags"] == {"migStrategy": "mixed"}
    assert [r["name"] for r in mixed["sharing"]["timeSlicing"]["resources"]] == [
        "nvidia.com/mig-1g.10gb",
        "nvidia.com/mig-2g.20gb",
    ]
    assert device_plugin.plugin_config(spec(mig=MigSpec("single", (("1g.10gb", 7),)))) == {
        "version": "v1",
        "flags": {"migStrategy": "single"},
    }


def test_mig_parted_config_names_a_layout_per_pool() -> None:
    pools = [
        PoolSpec("a", "h100", 8, 1, sharing=SharingSpec(mig=MigSpec("mixed", (("1g.10gb", 2), ("3g.40gb", 1))))),
        PoolSpec("b", "l4", 1, 1),
    ]
    config = yaml.safe_load(gpu_operator.mig_config_map_data(pools)["config.yaml"])
    assert config["mig-configs"]["a"] == [
        {"devices": "all", "mig-enabled": True, "mig-devices": {"1g.10gb": 2, "3g.40gb": 1}}
    ]
    assert config["mig-configs"]["all-disabled"] == [{"devices": "all", "mig-enabled": False}]
    assert set(config["mig-configs"]) == {"a", "all-disabled"}
    assert (
        pools[0].node_labels()["nvidia.com/mig.config"] == "a" and "nvidia.com/mig.config" not in pools[1].node_labels()
    )


def test_gke_mig_is_a_partition_size_with_optional_time_sharing(plan: Any) -> None:
    config = raw("gcp-dev")
    config["nodePools"][1]["sharing"] = {"mode": "time-slicing", "replicas": 2, "mig": {"profile": "3g.40gb"}}
    config.pop("serving")  # its 70B endpoint needs all eight H100s unshared
    capture = plan(config)
    (pool,) = [
        r.inputs() for r in by_type(capture, "gcp:container/nodePool:NodePool") if r.inputs().get("name") == "h100"
    ]
    accelerator = pool["nodeConfig"]["guestAccelerators"][0]
    assert accelerator["gpuPartitionSize"] == "3g.40gb"
    assert accelerator["gpuSharingConfig"] == {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 2}
    assert capture.outputs["gpuCapacity"]["h100"]["maxSchedulableGpus"] == 32  # 8 GPUs x 2 slices x 2 replicas


@pytest.mark.parametrize(
    ("stack", "mutate", "expected"),
    [
        (
            "aws-train",
            lambda r: r["nodePools"][1].update(gpu="l4"),
            "gpu-platform:nodePools[1].sharing.mig: l4 does not support MIG",
        ),
        (
            "aws-train",
            lambda r: r["nodePools"][1]["sharing"]["mig"].update(profile="2g.5gb"),
            "gpu-platform:nodePools[1].sharing.mig.profile: '2g.5gb' is not a MIG profile of h100",
        ),
        (
            "aws-train",
            lambda r: r["nodePools"][1]["sharing"].update(
                mig={"strategy": "mixed", "layout": {"4g.40gb": 1, "3g.40gb": 2}}
            ),
            "gpu-platform:nodePools[1].sharing.mig.layout: the layout needs 10/7 compute",
        ),
        (
            "aws-train",
            lambda r: r["gpuSoftware"].update(stack="device-plugin"),
            "gpu-platform:nodePools[1].sharing.mig: MIG needs gpu-platform:gpuSoftware.stack: gpu-operator",
        ),
        (
            "aws-train",
            lambda r: r["nodePools"][1]["sharing"].update(mode="mps", replicas=2),
            "gpu-platform:nodePools[1].sharing: mps cannot share MIG slices",
        ),
        (
            "aws-train",
            lambda r: r["nodePools"][0].update(sharing={"mig": {"strategy": "mixed", "layout": {"3g.40gb": 2}}}),
            "gpu-platform:nodePools: the GPU Operator has one MIG strategy per cluster",
        ),
        (
            "aws-train",
            lambda r: r["nodePools"][1]["sharing"].update(
                mig={"strategy": "single", "layout": {"3g.40gb": 1, "1g.10gb": 2}}
            ),
            "gpu-platform:nodePools[1].sharing.mig: strategy single advertises every slice as nvidia.com/gpu",
        ),
        (
            "gcp-dev",
            lambda r: r["nodePools"][1].update(sharing={"mig": {"strategy": "mixed", "layout": {"3g.40gb": 2}}}),
            "gpu-platform:nodePools[1].sharing.mig: GKE splits every GPU of a node pool into one profile",
        ),
        (
            "gcp-dev",
            lambda r: r.update(gpuSoftware={"stack": "gpu-operator"}),
            "gpu-platform:gpuSoftware.stack: applies only to cloud existing or aws",
        ),
        (
            "aws-dev",
            lambda r: r["nodePools"][0].update(amiType="bottlerocket", sharing={"mode": "mps", "replicas": 2}),
            "gpu-platform:nodePools[0].sharing: Bottlerocket's own device plugin shares GPUs by time-slicing only",
        ),
        (
            "aws-train",
            lambda r: r["nodePools"][0].update(amiType="bottlerocket"),
            "gpu-platform:nodePools[0].amiType: the GPU Operator does not manage Bottlerocket nodes",
        ),
        (
            "local",
            lambda r: r.update(gpuSoftware={"stack": "gpu-operator", "fakeGpus": {"enabled": True}}),
            "gpu-platform:gpuSoftware.fakeGpus.enabled: fake-gpu-operator conflicts with the real GPU Operator",
        ),
        (
            "local",
            lambda r: r["nodePools"][1]["sharing"].update(replicas=60),
            "gpu-platform:nodePools[1].sharing.replicas: 60 is too large; allowed: an integer <= 48",
        ),
    ],
)
def test_sharing_validation(stack: str, mutate: Any, expected: str) -> None:
    config = raw(stack)
    mutate(config)
    errors = errors_of(config)
    assert any(e.startswith(expected) for e in errors), errors


def test_mig_layout_that_fits_is_accepted() -> None:
    config = raw("aws-train")
    config["nodePools"][1]["sharing"]["mig"] = {"strategy": "single", "layout": {"3g.40gb": 2}}
    config["teams"][0]["gpuQuota"]["h100-mig"] = 1
    config["teams"][1]["gpuQuota"]["h100-mig"] = 3  # 2 nodes x 2 slices
    parse(config)


# ---------------------------------------------------------------- queues


def test_flavor_per_pool_with_its_labels_and_tolerations(plan: Any) -> None:
    flavors = kinds(plan(raw("aws-dev")), "ResourceFlavor")
    assert set(flavors) == {"l4-spot", "a10g"}
    assert flavors["a10g"]["spec"] == {
        "nodeLabels": {"gpu-platform.io/pool": "a10g"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}],
    }


def test_cluster_queue_per_team_with_derived_quotas(plan: Any) -> None:
    capture = plan(raw("aws-dev"))
    queues = kinds(capture, "ClusterQueue")
    assert set(queues) == {"research", "inference"}
    inference = queues["inference"]["spec"]
    assert inference["cohortName"] == "gpu-platform"
    assert inference["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "team-inference"}}
    (group,) = inference["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    a10g = next(f for f in group["flavors"] if f["name"] == "a10g")["resources"]
    # 12 time-sliced A10G shares = 3 g5.xlarge nodes' worth: 12 of 16 vCPUs, 48 of 64 GiB
    assert a10g == [
        {"name": "cpu", "nominalQuota": 12, "borrowingLimit": 0},
        {"name": "memory", "nominalQuota": "48Gi", "borrowingLimit": 0},
        {"name": "nvidia.com/gpu", "nominalQuota": 12, "borrowingLimit": 0},
    ]
    research = queues["research"]["spec"]["resourceGroups"][0]["flavors"]
    assert {f["name"] for f in research} == {"l4-spot", "a10g"}  # may borrow a10g without own quota
    assert all("borrowingLimit" not in r for f in research for r in f["resources"])
    local = kinds(capture, "LocalQueue")
    assert local["gpu"]["spec"] == {"clusterQueue": "inference"} or local["gpu"]["spec"] == {"clusterQueue": "research"}
    namespaces = {
        r.inputs()["metadata"]["namespace"] for r in by_type(capture, "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue")
    }
    assert namespaces == {"team-research", "team-inference"}


def test_resource_quota_backs_each_team_namespace(plan: Any) -> None:
    quotas = {
        r.inputs()["metadata"]["namespace"]: r.inputs()["spec"]["hard"]
        for r in by_type(plan(raw("aws-dev")), "kubernetes:core/v1:ResourceQuota")
    }
    assert quotas["team-inference"] == {"requests.nvidia.com/gpu": "14"}  # 2 + 12 nominal, no borrowing
    assert quotas["team-research"] == {"requests.nvidia.com/gpu": "24"}  # borrows: every unit of both pools


def test_queue_math_directly() -> None:
    pools = [PoolSpec("l4", "l4", 1, 4, cpus_per_node=8, memory_gib_per_node=32)]
    team = TeamQueue("a", "ns-a", {"l4": 3})
    flavor = cluster_queue_spec(team, pools, "c", frozenset({"l4"}))["resourceGroups"][0]["flavors"][0]
    assert flavor["resources"][0] == {"name": "cpu", "nominalQuota": 24, "borrowingLimit": 0}
    assert namespace_gpu_limits(team, pools, frozenset({"l4"})) == {"requests.nvidia.com/gpu": "3"}
    borrower = TeamQueue("b", "ns-b", {}, can_borrow=True)
    assert namespace_gpu_limits(borrower, pools, frozenset({"l4"})) == {"requests.nvidia.com/gpu": "4"}
    assert namespace_gpu_limits(borrower, pools, frozenset()) == {}  # nobody can lend: nothing to borrow


def test_team_quotas_must_fit_the_pool() -> None:
    config = raw("aws-dev")
    config["teams"][0]["gpuQuota"]["l4-spot"] = 7
    (error,) = errors_of(config)
    assert error == (
        "gpu-platform:teams: pool l4-spot advertises at most 8 nvidia.com/gpu but teams research (7), inference (2) "
        "hold 9; lower the quotas, raise maxNodes, or set gpu-platform:queues.allowOvercommit: true"
    )
    config["queues"] = {"allowOvercommit": True}
    parse(config)


def test_shared_capacity_counts_for_quotas() -> None:
    config = raw("aws-dev")
    config["teams"][1]["gpuQuota"]["a10g"] = 17  # 4 nodes x 1 A10G x 4 replicas = 16
    assert "pool a10g advertises at most 16 nvidia.com/gpu" in errors_of(config)[0]


def test_mixed_mig_pool_cannot_carry_team_quotas() -> None:
    config = raw("aws-train")
    config["nodePools"][1]["sharing"]["mig"] = {"strategy": "mixed", "layout": {"3g.40gb": 1, "2g.20gb": 1}}
    errors = errors_of(config)
    assert any(
        e.startswith("gpu-platform:nodePools[1].sharing.mig.strategy: teams training, research have quota")
        for e in errors
    )


def test_no_queues_when_disabled(plan: Any) -> None:
    config = raw("local")
    config["queues"] = {"enabled": False}
    config.pop("training", None)  # jobs need queues
    config.pop("serving", None)  # its endpoints name teams and pools
    capture = plan(config)
    assert kinds(capture, "ClusterQueue") == {} and by_type(capture, "kubernetes:core/v1:ResourceQuota") == []
    assert "oci://registry.k8s.io/kueue/charts/kueue" not in charts(capture)


def test_node_size_fields_only_on_existing_clusters() -> None:
    config = raw("aws-dev")
    config["nodePools"][0].update(cpusPerNode=8, memoryGiBPerNode=32)
    errors = errors_of(config)
    assert "gpu-platform:nodePools[0].cpusPerNode: applies only to cloud existing (this stack is aws)" in errors
    assert "gpu-platform:nodePools[0].memoryGiBPerNode: applies only to cloud existing (this stack is aws)" in errors


def test_existing_node_sizes_feed_queue_cpu_and_memory(plan: Any) -> None:
    config = raw("local")
    config["nodePools"][0].update(cpusPerNode=32, memoryGiBPerNode=128)  # 2 GPUs per node
    research = kinds(plan(config), "ClusterQueue")["research"]["spec"]["resourceGroups"][0]["flavors"]
    l4 = next(f for f in research if f["name"] == "l4-sim")["resources"]
    assert l4[:2] == [
        {"name": "cpu", "nominalQuota": 32, "borrowingLimit": 0},
        {"name": "memory", "nominalQuota": "128Gi", "borrowingLimit": 0},
    ]


def test_queue_dependencies_stay_linear(plan: Any) -> None:
    # A ClusterQueue waits for Kueue only (not every flavor); a LocalQueue for its queue and its own namespace.
    capture = plan(raw("local"))
    by_name = {r.name: r for r in capture.registrations}
    release = by_name["gpu-queues-kueue"].urn
    assert by_name["gpu-queues-cq-research"].dependencies == [release]
    local_deps = set(by_name["gpu-queues-lq-research"].dependencies)
    assert by_name["gpu-queues-cq-research"].urn in local_deps
    assert by_name["team-research-namespace"].urn in local_deps
    assert by_name["team-inference-namespace"].urn not in local_deps


def test_borrowers_reach_only_pools_someone_can_lend() -> None:
    pools = [PoolSpec("a", "l4", 1, 2), PoolSpec("b", "l4", 1, 2), PoolSpec("idle", "l4", 1, 2)]
    teams = [TeamQueue("x", "ns-x", {"a": 1}), TeamQueue("y", "ns-y", {"b": 1}, can_borrow=True)]
    lendable = lendable_pools(t.quota for t in teams)
    flavors = cluster_queue_spec(teams[1], pools, "c", lendable)["resourceGroups"][0]["flavors"]
    assert [f["name"] for f in flavors] == ["a", "b"]  # no quota anywhere on "idle": nothing to borrow there


def test_a_team_over_kueues_flavor_limit_is_refused() -> None:
    config = raw("local")
    config["nodePools"] = [{"name": f"p{i:02d}", "gpu": "l4", "maxNodes": 1} for i in range(65)]
    config["teams"] = [{"name": "all", "gpuQuota": {f"p{i:02d}": 1 for i in range(65)}}]
    config["gpuSoftware"] = {"devicePlugin": {"enabled": True}}
    errors = errors_of(config)
    assert any(e.startswith("gpu-platform:teams[0]: team all has quota on 65 pools") for e in errors), errors
