"""What the three benchmark stacks share: generated teams, and the Kubernetes half of every bare program.

The bare half (GPU software namespace, device plugin, DCGM exporter, fake GPUs,
team namespaces and GPU ResourceQuotas, Kueue and its queues) is registered
straight from the raw stack dict with the plain ``pulumi_kubernetes`` SDK. It
reads only pure-data constants (label keys, chart pins, the GPU table): no
ComponentResource, no config model. Every cloud's bare program calls it with
its own explicit Kubernetes provider, as the platform does. It covers what the
generated stacks use (no MIG, no renamed shared resources, no extra labels or
taints, no GPU Operator), not every config the platform accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import labels as L
from components.catalog import GPUS
from components.versions import DCGM_EXPORTER, FAKE_GPU_OPERATOR, KUEUE, NVIDIA_DEVICE_PLUGIN

TEAM_LABEL = "gpu-platform.io/team"
CONFIG_MAP_NAME = "nvidia-device-plugin-configs"
KUEUE_API = "kueue.x-k8s.io/v1beta2"


# ---------------------------------------------------------------- generated config


def make_teams(pools: Sequence[Mapping[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` teams spread over the pools: team j has its own namespace, a quota of 1 on pool
    j * (N / count), and may borrow when j is even."""
    step = max(1, len(pools) // count)
    return [
        {
            "name": f"team{j:04d}",
            "namespace": f"ns-team{j:04d}",
            "gpuQuota": {pools[(j * step) % len(pools)]["name"]: 1},
            "canBorrow": j % 2 == 0,
        }
        for j in range(count)
    ]


# ---------------------------------------------------------------- bare: per-pool facts


class NodeSize(NamedTuple):
    """What a pool's node has: from the raw dict on ``existing``, from the catalog offering on clouds."""

    gpus: int
    cpus: int
    memory_gib: int


def _replicas(pool: Mapping[str, Any]) -> int:
    return int(pool.get("sharing", {}).get("replicas", 1))


def node_labels(pool: Mapping[str, Any], device_plugin: bool = True) -> dict[str, str]:
    """The labels every node of a pool carries (no extra labels in the generated stacks).

    Bottlerocket nodes run their own device plugin and are marked so ours stays away.
    """
    name, gpu = pool["name"], pool["gpu"]
    labels = {L.POOL_LABEL: name, L.GPU_LABEL: gpu, L.GPU_PRODUCT_LABEL: GPUS[gpu].product}
    if pool.get("simulated", False):
        labels[L.SIMULATED_POOL_LABEL] = name
    elif pool.get("amiType") == "bottlerocket":
        labels[L.EXTERNAL_DEVICE_PLUGIN_LABEL] = "true"
    elif device_plugin:
        labels[L.DEVICE_PLUGIN_CONFIG_LABEL] = name
    return labels


# ---------------------------------------------------------------- bare: GPU software


def _dump(document: dict[str, Any]) -> str:
    return str(yaml.safe_dump(document, sort_keys=False))


def _device_plugin_data(pools: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    base: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": "none"}}
    data = {"default": _dump(base)}
    for pool in sorted(pools, key=lambda p: p["name"]):
        if pool.get("simulated", False):
            continue
        sharing = pool.get("sharing", {})
        config = dict(base)
        if sharing.get("mode") == "time-slicing":
            config["sharing"] = {
                "timeSlicing": {
                    "renameByDefault": sharing.get("renameByDefault", False),
                    "resources": [{"name": L.GPU_RESOURCE, "replicas": sharing["replicas"]}],
                    "failRequestsGreaterThanOne": sharing.get("failRequestsGreaterThanOne", True),
                }
            }
        data[pool["name"]] = _dump(config)
    return data


def _tolerations() -> list[dict[str, str]]:
    return [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": L.GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
    ]


def _affinity() -> dict[str, Any]:
    """Real NVIDIA GPU nodes that are neither simulated nor running their own device plugin."""
    exclusions = [
        {"key": L.SIMULATED_POOL_LABEL, "operator": "DoesNotExist"},
        {"key": L.EXTERNAL_DEVICE_PLUGIN_LABEL, "operator": "DoesNotExist"},
    ]
    markers = [
        {"key": "feature.node.kubernetes.io/pci-10de.present", "operator": "In", "values": ["true"]},
        {"key": "feature.node.kubernetes.io/cpu-model.vendor_id", "operator": "In", "values": ["NVIDIA"]},
        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]},
        {"key": L.POOL_LABEL, "operator": "Exists"},
    ]
    terms = [{"matchExpressions": [m, *exclusions]} for m in markers]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def _fake_values(pools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "topology": {
            "nodePools": {
                p["name"]: {
                    "gpuProduct": GPUS[p["gpu"]].product,
                    "gpuCount": p.get("gpusPerNode", 1),
                    "gpuMemory": GPUS[p["gpu"]].memory_mib,
                }
                for p in sorted(pools, key=lambda p: p["name"])
                if p.get("simulated", False)
            },
            "nodePoolLabelKey": L.SIMULATED_POOL_LABEL,
            "migStrategy": "none",
        }
    }


def _release(
    name: str,
    release: str,
    chart: Any,
    namespace: pulumi.Input[str],
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=release,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
            namespace=namespace,
            values=values,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
        ),
        opts=opts,
    )


def gpu_software(raw: Mapping[str, Any], provider: k8s.Provider, device_plugin: bool) -> pulumi.Output[str]:
    """The GPU system namespace; with ``device_plugin`` (the cluster does not run its own) and the plugin
    enabled in the raw config, the device-plugin ConfigMap and Release and the DCGM exporter Release
    (when enabled); the fake-gpu-operator Release when enabled. Returns the namespace."""
    pools: list[Mapping[str, Any]] = raw["nodePools"]
    software = raw["gpuSoftware"]
    opts = pulumi.ResourceOptions(provider=provider)
    ns = k8s.core.v1.Namespace(
        "gpu-software-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=software["namespace"],
            labels={L.MANAGED_BY_LABEL: L.MANAGED_BY, "pod-security.kubernetes.io/enforce": "privileged"},
        ),
        opts=opts,
    )
    if device_plugin and software["devicePlugin"]["enabled"]:
        config_map = k8s.core.v1.ConfigMap(
            "gpu-software-device-plugin-configs",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=CONFIG_MAP_NAME, namespace=ns.metadata.name, labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}
            ),
            data=_device_plugin_data(pools),
            opts=opts,
        )
        plugin_values = {
            "config": {"name": CONFIG_MAP_NAME, "default": "default"},
            "tolerations": _tolerations(),
            "affinity": _affinity(),
            "priorityClassName": "system-node-critical",
            "gfd": {"enabled": software["devicePlugin"].get("gpuFeatureDiscovery", False)},
        }
        _release(
            "gpu-software-device-plugin",
            "nvidia-device-plugin",
            NVIDIA_DEVICE_PLUGIN,
            ns.metadata.name,
            plugin_values,
            pulumi.ResourceOptions(provider=provider, depends_on=[config_map]),
        )
        dcgm = software["dcgm"]
        if dcgm["enabled"]:
            dcgm_values = {
                "service": {"enable": True},
                "serviceMonitor": {"enabled": dcgm["serviceMonitor"]},
                "tolerations": _tolerations(),
                "affinity": _affinity(),
                "priorityClassName": "system-node-critical",
            }
            _release("gpu-software-dcgm", "dcgm-exporter", DCGM_EXPORTER, ns.metadata.name, dcgm_values, opts)
    if software.get("fakeGpus", {}).get("enabled", False):
        _release(
            "gpu-software-fake-gpus",
            "fake-gpu-operator",
            FAKE_GPU_OPERATOR,
            ns.metadata.name,
            _fake_values(pools),
            opts,
        )
    return ns.metadata.name


# ---------------------------------------------------------------- bare: teams and queues


def _pool_units(pool: Mapping[str, Any], size: NodeSize) -> int:
    """``nvidia.com/gpu`` the pool advertises at maximum scale, after time-slicing."""
    return int(pool["maxNodes"]) * size.gpus * _replicas(pool)


def _gpu_limits(team: Mapping[str, Any], pools: Sequence[Mapping[str, Any]], sizes: Mapping[str, NodeSize]) -> int:
    """The team's ResourceQuota on GPU requests: its nominal quota, or every GPU unit when it may borrow."""
    quota: Mapping[str, int] = team.get("gpuQuota", {})
    if team.get("canBorrow", False):
        return sum(_pool_units(p, sizes[p["name"]]) for p in pools)
    return sum(quota.get(p["name"], 0) for p in pools)


def _cluster_queue_spec(
    team: Mapping[str, Any], pools: Sequence[Mapping[str, Any]], sizes: Mapping[str, NodeSize], cohort: str
) -> dict[str, Any]:
    quota: Mapping[str, int] = team.get("gpuQuota", {})
    borrow = team.get("canBorrow", False)
    covered = ["cpu", "memory", L.GPU_RESOURCE]
    flavors = []
    for pool in pools:
        if pool["name"] not in quota and not borrow:
            continue
        size = sizes[pool["name"]]
        units = quota.get(pool["name"], 0)
        units_per_node = size.gpus * _replicas(pool) or 1
        cpu, memory = size.cpus / units_per_node, size.memory_gib / units_per_node
        quotas: dict[str, int | str] = {
            "cpu": int(units * cpu),
            "memory": f"{int(units * memory)}Gi",
            L.GPU_RESOURCE: units,
        }
        resources = []
        for name in covered:
            resource: dict[str, Any] = {"name": name, "nominalQuota": quotas[name]}
            if not borrow:
                resource["borrowingLimit"] = 0
            resources.append(resource)
        flavors.append({"name": pool["name"], "resources": resources})
    return {
        "cohortName": cohort,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team["namespace"]}},
        "queueingStrategy": "BestEffortFIFO",
        "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
        "resourceGroups": [{"coveredResources": covered, "flavors": flavors}] if flavors else [],
    }


def teams_and_queues(
    raw: Mapping[str, Any], provider: k8s.Provider, sizes: Mapping[str, NodeSize]
) -> dict[str, pulumi.Output[str]]:
    """One namespace per team (plus a GPU ResourceQuota when queues are on), then the Kueue namespace,
    release, a ResourceFlavor per pool, and a ClusterQueue and LocalQueue per team. Returns team name ->
    namespace name."""
    pools: list[Mapping[str, Any]] = raw["nodePools"]
    queues = raw["queues"]["enabled"] and bool(raw["teams"])
    opts = pulumi.ResourceOptions(provider=provider)
    out: dict[str, pulumi.Output[str]] = {}
    team_resources: dict[str, list[pulumi.Resource]] = {}
    for team in raw["teams"]:
        name = team["name"]
        ns = k8s.core.v1.Namespace(
            f"team-{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=team["namespace"],
                labels={
                    TEAM_LABEL: name,
                    L.MANAGED_BY_LABEL: L.MANAGED_BY,
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=opts,
        )
        limit = _gpu_limits(team, pools, sizes) if queues else 0
        team_resources[name] = [ns]
        if limit:
            quota = k8s.core.v1.ResourceQuota(
                f"team-{name}-gpu-quota",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name="gpu-quota", namespace=ns.metadata.name, labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}
                ),
                spec=k8s.core.v1.ResourceQuotaSpecArgs(hard={f"requests.{L.GPU_RESOURCE}": str(limit)}),
                opts=opts,
            )
            team_resources[name].append(quota)
        out[name] = ns.metadata.name
    if not queues:
        return out

    # Ours makes each team's LocalQueue wait for that team's TeamSpace component, which the SDK
    # expands to the component's children: its namespace and quota.
    kueue_ns = k8s.core.v1.Namespace(
        "gpu-queues-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="kueue-system", labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}),
        opts=opts,
    )
    release = _release(
        "gpu-queues-kueue",
        "kueue",
        KUEUE,
        kueue_ns.metadata.name,
        {"enablePrometheus": raw["gpuSoftware"]["dcgm"]["serviceMonitor"]},
        opts,
    )
    after_kueue = pulumi.ResourceOptions(provider=provider, depends_on=[release])
    # Admitted pods get the pool's taints as tolerations: only the GPU taint in the generated stacks.
    toleration = {"key": L.GPU_TAINT_KEY, "operator": "Equal", "value": L.GPU_TAINT_VALUE, "effect": L.GPU_TAINT_EFFECT}
    for pool in pools:
        k8s.apiextensions.CustomResource(
            f"gpu-queues-flavor-{pool['name']}",
            api_version=KUEUE_API,
            kind="ResourceFlavor",
            metadata={"name": pool["name"], "labels": {L.POOL_LABEL: pool["name"]}},
            spec={"nodeLabels": {L.POOL_LABEL: pool["name"]}, "tolerations": [toleration]},
            opts=after_kueue,
        )
    cohort = raw["queues"]["cohort"]
    for team in raw["teams"]:
        queue = k8s.apiextensions.CustomResource(
            f"gpu-queues-cq-{team['name']}",
            api_version=KUEUE_API,
            kind="ClusterQueue",
            metadata={"name": team["name"], "labels": {TEAM_LABEL: team["name"]}},
            spec=_cluster_queue_spec(team, pools, sizes, cohort),
            opts=after_kueue,
        )
        k8s.apiextensions.CustomResource(
            f"gpu-queues-lq-{team['name']}",
            api_version=KUEUE_API,
            kind="LocalQueue",
            metadata={"name": "gpu", "namespace": team["namespace"]},
            spec={"clusterQueue": team["name"]},
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[queue, *team_resources[team["name"]]]),
        )
    return out
