"""NVIDIA device plugin: per-pool sharing configs and typed Helm values. Pure data.

The plugin reads a ConfigMap holding one named config per pool; a node picks its
config through the ``nvidia.com/device-plugin.config`` label (the chart's
config-manager sidecar watches it). Nodes without the label get ``default``.
Field names follow the plugin's v1 config file (k8s-device-plugin README,
"Shared Access to GPUs").
"""

from collections.abc import Sequence
from typing import Any, TypedDict

import yaml

from components import labels as L
from components.pool_spec import PoolSpec, SharingMode, TaintSpec

DEFAULT_CONFIG = "default"

# Sharing mode -> the key of the plugin's `sharing:` section. A table, not an if-chain.
_SHARING_KEY: dict[SharingMode, str] = {
    SharingMode.TIME_SLICING: "timeSlicing",
    SharingMode.MPS: "mps",
}


def plugin_config(pool: PoolSpec | None) -> dict[str, Any]:
    """The v1 config file for one pool (``None``: the default config, no sharing)."""
    mig = pool.sharing.mig if pool is not None else None
    config: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": mig.strategy if mig else "none"}}
    if pool is None or pool.sharing.mode is SharingMode.NONE:
        return config
    # Shared resources are what the node advertises before sharing: whole GPUs,
    # or (mixed MIG) one resource per profile.
    names = [f"nvidia.com/mig-{p}" for p, _ in mig.layout] if mig and mig.strategy == "mixed" else [L.GPU_RESOURCE]
    sharing: dict[str, Any] = {
        "renameByDefault": pool.sharing.rename_by_default,
        "resources": [{"name": name, "replicas": pool.sharing.replicas} for name in names],
    }
    if pool.sharing.mode is SharingMode.TIME_SLICING:
        sharing["failRequestsGreaterThanOne"] = pool.sharing.fail_requests_greater_than_one
    config["sharing"] = {_SHARING_KEY[pool.sharing.mode]: sharing}
    return config


def config_map_data(pools: Sequence[PoolSpec]) -> dict[str, str]:
    """ConfigMap data: ``default`` plus one entry per (non-simulated) pool, sorted for stable output."""
    data = {DEFAULT_CONFIG: _dump(plugin_config(None))}
    for pool in sorted(pools, key=lambda p: p.name):
        if not pool.simulated:
            data[pool.device_plugin_config] = _dump(plugin_config(pool))
    return data


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's dumper when PyYAML has it (same text, a few times faster: one document per pool)."""


def _dump(document: dict[str, Any]) -> str:
    return str(yaml.dump(document, Dumper=_DUMPER, sort_keys=False))


class Toleration(TypedDict, total=False):
    key: str
    operator: str
    value: str
    effect: str


class DevicePluginValues(TypedDict, total=False):
    """The subset of the chart's values the platform sets (paths checked against the chart's values.yaml)."""

    config: dict[str, str]
    tolerations: list[Toleration]
    affinity: dict[str, Any]
    priorityClassName: str
    gfd: dict[str, bool]
    mofedEnabled: bool


def tolerations(pools: Sequence[PoolSpec]) -> list[Toleration]:
    """The chart's own tolerations plus every extra taint a GPU pool carries."""
    out: list[Toleration] = [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": L.GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
    ]
    extra: set[TaintSpec] = {t for p in pools for t in p.extra_taints}
    for taint in sorted(extra, key=lambda t: (t.key, t.value, t.effect)):
        out.append({"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect})
    return out


def affinity() -> dict[str, Any]:
    """The chart's default GPU-node affinity, minus simulated nodes and nodes with their own device plugin.

    Terms are ORed, expressions inside a term ANDed: every term gets the exclusion.
    """
    not_simulated = {"key": L.SIMULATED_POOL_LABEL, "operator": "DoesNotExist"}
    not_external = {"key": L.EXTERNAL_DEVICE_PLUGIN_LABEL, "operator": "DoesNotExist"}
    gpu_node_markers = [
        {"key": "feature.node.kubernetes.io/pci-10de.present", "operator": "In", "values": ["true"]},
        {"key": "feature.node.kubernetes.io/cpu-model.vendor_id", "operator": "In", "values": ["NVIDIA"]},
        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]},
        {"key": L.POOL_LABEL, "operator": "Exists"},
    ]
    terms = [{"matchExpressions": [marker, not_simulated, not_external]} for marker in gpu_node_markers]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def helm_values(
    config_map_name: str, pools: Sequence[PoolSpec], gpu_feature_discovery: bool, mofed: bool | None = None
) -> DevicePluginValues:
    """``mofed``: the plugin's MOFED support (``None`` keeps its default, on since v0.19); off on EFA nodes,
    where its /dev/infiniband mounts clash with the EFA device plugin (EKS user guide, "EFA")."""
    values: DevicePluginValues = {
        "config": {"name": config_map_name, "default": DEFAULT_CONFIG},
        "tolerations": tolerations(pools),
        "affinity": affinity(),
        "priorityClassName": "system-node-critical",
        "gfd": {"enabled": gpu_feature_discovery},
    }
    if mofed is not None:
        values["mofedEnabled"] = mofed
    return values
