"""GPU sharing guardrails: MIG profiles from an allowlist, and training kept off time-sliced pools.

Time-slicing shares a GPU's time and memory between pods without isolation: fine for small inference
servers and notebooks, a trap for training (a job's throughput and memory depend on its neighbours, and an
out-of-memory error in one pod can take the others' work with it). MIG profiles outside the allowlist are
either invalid for the GPU (the MIG manager fails the node) or not what the organisation supports.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from pulumi_policy import EnforcementLevel

from .capacity import POOL_LABEL
from .catalog import mig_profiles as catalog_mig_profiles
from .fit import demands
from .graph import SAFE_LOADER, Graph, Node, get, short
from .resource_types import EKS_NODE_GROUP, GKE_NODE_POOL, KARPENTER_NODE_POOL
from .stack_policy import Finding, stack_policy

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
KNOWN_PROFILES = catalog_mig_profiles()
"""Every MIG profile NVIDIA defines for a GPU the platform's catalog knows: the default allowlist."""


def _documents(node: Node) -> Iterator[tuple[str, Any]]:
    for key, text in (get(node.props, "data") or {}).items():
        try:
            yield str(key), yaml.load(str(text), Loader=SAFE_LOADER)
        except yaml.YAMLError:
            continue


def mig_profiles(graph: Graph) -> Iterator[tuple[Node, str]]:
    """(resource, profile) for every MIG profile a layout or node pool asks for."""
    for config_map in graph.of_type(CONFIG_MAP):
        for _, document in _documents(config_map):
            for layouts in (get(document, "mig-configs") or {}).values():
                for layout in layouts or []:
                    for profile in get(layout, "mig-devices") or {}:
                        yield config_map, str(profile)
    for pool in graph.of_type(GKE_NODE_POOL):
        for accelerator in get(pool.props, "nodeConfig", "guestAccelerators") or []:
            if partition := get(accelerator, "gpuPartitionSize"):
                yield pool, str(partition)


def check_mig(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    allowed = list(config.get("allowedProfiles") or KNOWN_PROFILES)
    return [
        (node.urn, f"{short(node.urn)} asks for MIG profile {profile}; allowed: {', '.join(allowed)}")
        for node, profile in mig_profiles(graph)
        if profile not in allowed
    ]


def _time_sliced_configs(graph: Graph) -> set[str]:
    """Names of the NVIDIA device plugin's configs that time-slice GPUs (more than one replica per GPU)."""
    found: set[str] = set()
    for config_map in graph.of_type(CONFIG_MAP):
        for name, document in _documents(config_map):
            for resource in get(document, "sharing", "timeSlicing", "resources") or []:
                replicas = get(resource, "replicas")
                if isinstance(replicas, int | float) and replicas > 1:
                    found.add(name)
    return found


def _node_labels(node: Node) -> Mapping[str, Any]:
    paths = {
        EKS_NODE_GROUP: ("labels",),
        GKE_NODE_POOL: ("nodeConfig", "labels"),
        KARPENTER_NODE_POOL: ("spec", "template", "metadata", "labels"),
    }
    return get(node.props, *paths[node.type]) or {}


def time_sliced_pools(graph: Graph) -> set[str]:
    """Pools whose GPUs are time-sliced: GKE's time-sharing, or a device-plugin config with replicas."""
    configs = _time_sliced_configs(graph)
    pools: set[str] = set()
    for node in graph.of_type(EKS_NODE_GROUP, GKE_NODE_POOL, KARPENTER_NODE_POOL):
        labels = _node_labels(node)
        pool = labels.get(POOL_LABEL)
        shared = labels.get(DEVICE_PLUGIN_CONFIG_LABEL) in configs or any(
            get(a, "gpuSharingConfig", "gpuSharingStrategy") == "TIME_SHARING"
            for a in get(node.props, "nodeConfig", "guestAccelerators") or []
        )
        if isinstance(pool, str) and shared:
            pools.add(pool)
    return pools


def check_training(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    if config.get("allowTimeSlicedTraining"):
        return []
    shared = time_sliced_pools(graph)
    return [
        (
            d.node.urn,
            f"TrainJob {short(d.node.urn)} runs on pool {d.pool}, whose GPUs are time-sliced (shared without "
            "isolation: throughput and memory depend on the neighbours); use a pool with whole GPUs or MIG, or set "
            "allowTimeSlicedTraining",
        )
        for d in demands(graph)
        if d.what == "TrainJob" and d.pool in shared
    ]


POLICIES = [
    stack_policy(
        "mig-profiles-allowed",
        "MIG layouts and GKE GPU partitions use profiles from the allowlist.",
        check_mig,
        {
            "allowedProfiles": {
                "type": "array",
                "items": {"type": "string"},
                "default": KNOWN_PROFILES,
                "description": "MIG profiles allowed (default: every profile of the GPUs the platform's catalog knows).",
            }
        },
    ),
    stack_policy(
        "training-not-time-sliced",
        "Training jobs run on whole GPUs or MIG slices, not on time-sliced GPUs, unless allowed.",
        check_training,
        {
            "allowTimeSlicedTraining": {
                "type": "boolean",
                "default": False,
                "description": "Let training jobs run on time-sliced pools (small experiments, fine-tunes).",
            }
        },
        EnforcementLevel.MANDATORY,
    ),
]
