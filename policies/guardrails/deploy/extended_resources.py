"""extended-resources-advertised: every extended resource a pod, queue or quota names is advertised by
something the stack installs, and every EFA interface has the plugin that makes it usable.

A pod asking for ``vpc.amazonaws.com/efa`` on a cluster without the EFA
device plugin, or for ``nvidia.com/gpu.shared`` where nothing renames shared
GPUs, stays Pending forever; a queue quota on such a resource admits nothing.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from ..catalog import chart_for
from ..graph import SAFE_LOADER, Graph, Node, get, short
from ..stack_policy import Finding, stack_policy
from ..workloads import containers, pod_specs
from .common import EKS_NODE_GROUP, GKE_NODE_POOL, kind_of, releases

NAME = "extended-resources-advertised"
GPU = "nvidia.com/gpu"
EFA = "vpc.amazonaws.com/efa"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
GPU_PLUGINS = tuple(chart_for(role) for role in ("nvidiaDevicePlugin", "gpuOperator", "fakeGpuOperator"))
EFA_DEVICE_PLUGIN = chart_for("efaDevicePlugin")
NATIVE = ("cpu", "memory", "ephemeral-storage", "pods", "storage")


def is_extended(resource: str) -> bool:
    """Resources a device plugin must advertise (domain-prefixed, not Kubernetes' own or hugepages)."""
    return "/" in resource and not resource.startswith(("kubernetes.io/", "requests.", "limits."))


def _device_plugin_resources(data: Mapping[str, Any]) -> set[str]:
    """Resources the NVIDIA device plugin's named configs advertise (sharing may rename them)."""
    found: set[str] = set()
    for text in data.values():
        try:
            document = yaml.load(str(text), Loader=SAFE_LOADER)
        except yaml.YAMLError:
            continue
        if not isinstance(document, dict):
            continue
        if get(document, "version") == "v1":
            for sharing in (get(document, "sharing") or {}).values():
                rename = bool(get(sharing, "renameByDefault"))
                for resource in get(sharing, "resources") or []:
                    name = str(get(resource, "name") or "")
                    found.add(f"{name}.shared" if rename else name)
        for layouts in (get(document, "mig-configs") or {}).values():
            for layout in layouts or []:
                found |= {f"nvidia.com/mig-{profile}" for profile in get(layout, "mig-devices") or {}}
    return found


def advertised(graph: Graph) -> set[str]:
    installed = {r.pin for r in releases(graph) if r.pin is not None}
    found: set[str] = set()
    if installed & set(GPU_PLUGINS):
        found.add(GPU)
        for config_map in graph.of_type(CONFIG_MAP):
            found |= _device_plugin_resources(get(config_map.props, "data") or {})
    if EFA_DEVICE_PLUGIN in installed:
        found.add(EFA)
    # Clouds that run their own device plugin: GKE GPU node pools, EKS Bottlerocket NVIDIA nodes.
    if any(get(p.props, "nodeConfig", "guestAccelerators") for p in graph.of_type(GKE_NODE_POOL)):
        found.add(GPU)
    if any(str(get(g.props, "amiType") or "").startswith("BOTTLEROCKET") for g in graph.of_type(EKS_NODE_GROUP)):
        found.add(GPU)
    return found


def requested(node: Node) -> Iterable[tuple[str, str]]:
    """(resource, where) for every extended resource a pod, ClusterQueue or ResourceQuota names."""
    for path, spec in pod_specs(node.type, node.props):
        for where, container in containers(spec):
            for section in ("requests", "limits"):
                for name in get(container, "resources", section) or {}:
                    yield str(name), f"{path}.{where}.resources.{section}"
    if node.type == CLUSTER_QUEUE:
        for i, group in enumerate(get(node.props, "spec", "resourceGroups") or []):
            for name in get(group, "coveredResources") or []:
                yield str(name), f"spec.resourceGroups[{i}].coveredResources"
    if node.type == RESOURCE_QUOTA:
        for key in get(node.props, "spec", "hard") or {}:
            yield str(key).removeprefix("requests.").removeprefix("limits."), f"spec.hard.{key}"


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    offered = advertised(graph) | set(config.get("externalResources") or [])
    findings: list[Finding] = []
    for node in graph.nodes:
        for resource, where in requested(node):
            if resource in NATIVE or not is_extended(resource) or resource in offered:
                continue
            findings.append(
                (
                    node.urn,
                    f"{kind_of(node)} {short(node.urn)} {where} names {resource}, which nothing in this stack "
                    f"advertises (advertised: {', '.join(sorted(offered)) or 'none'}); install the device plugin "
                    f"that provides it, fix the name, or list it under externalResources in the {NAME} policy config",
                )
            )
    if EFA not in offered:
        for template in graph.of_type(LAUNCH_TEMPLATE):
            kinds = {str(get(i, "interfaceType")) for i in get(template.props, "networkInterfaces") or []}
            if kinds & {"efa", "efa-only"}:
                findings.append(
                    (
                        template.urn,
                        f"launch template {short(template.urn)} attaches EFA interfaces, but no EFA device plugin "
                        f"is installed, so no pod can request {EFA}; install chart {EFA_DEVICE_PLUGIN.name}",
                    )
                )
    return findings


policy = stack_policy(
    NAME,
    "Every extended resource a pod, queue or quota names is advertised by something the stack installs.",
    check,
    {
        "externalResources": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Extended resources advertised by device plugins installed outside this stack.",
        }
    },
)
