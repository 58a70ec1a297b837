"""crds-before-custom-resources: every custom resource waits for the release that installs its CRD and runs
the webhook that admits it; every object a chart's webhook intercepts waits for that chart.

Without the dependency the engine applies both at once: the custom resource
fails with "no matches for kind", or its admission webhook has no endpoints
yet and the API server refuses it.
"""

from collections.abc import Mapping
from typing import Any

from ..graph import Graph, get, short
from ..stack_policy import Finding, stack_policy
from .common import GKE_CLUSTER, group_of, is_custom, kind_of, releases

NAME = "crds-before-custom-resources"


# API groups a managed cluster serves itself once a feature of it is on: group -> (cluster type, the feature's
# property path, its value, what to set). GKE's Gateway controller brings the Gateway API CRDs and its own
# policies (HealthCheckPolicy, GCPBackendPolicy, GCPGatewayPolicy) with gatewayApiConfig.
CLUSTER_FEATURE = (GKE_CLUSTER, ("gatewayApiConfig", "channel"), "CHANNEL_STANDARD", "gatewayApiConfig.channel")
CLUSTER_GROUPS = {"networking.gke.io": CLUSTER_FEATURE, "gateway.networking.k8s.io": CLUSTER_FEATURE}


def _cluster_groups(graph: Graph, group: str | None, what: str, urn: str) -> tuple[bool, list[Finding]]:
    """(whether a cluster of the stack serves ``group``, findings where one should but does not)."""
    if group not in CLUSTER_GROUPS:
        return False, []
    kind, path, value, setting = CLUSTER_GROUPS[group]
    clusters = graph.of_type(kind)
    if not clusters:
        return False, []
    missing = [c for c in clusters if get(c.props, *path) != value]
    findings: list[Finding] = [
        (
            urn,
            f"{what}: {group} is served by the cluster itself only with {setting} {value} on {short(c.urn)}, "
            "which it does not set",
        )
        for c in missing
    ]
    return True, findings


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    external = set(config.get("externalCrdGroups") or [])
    installed = releases(graph)
    findings: list[Finding] = []
    for node in graph.nodes:
        if not node.is_kubernetes_object():
            continue
        waits = graph.waits_for(node.urn)
        what = f"{kind_of(node)} {short(node.urn)}"
        group = group_of(node)
        served, problems = _cluster_groups(graph, group, what, node.urn)
        findings.extend(problems)
        if is_custom(node) and group not in external and not served:
            owners = [r for r in installed if r.pin is not None and group in r.pin.crd_groups]
            if not owners:
                findings.append(
                    (
                        node.urn,
                        f"{what}: no Helm release in this stack installs the CRDs of {group}; install its chart "
                        f"in the stack, or list {group} under externalCrdGroups in the {NAME} policy config if "
                        "the cluster already has them",
                    )
                )
            elif not any(r.node.urn in waits for r in owners):
                findings.append(
                    (
                        node.urn,
                        f"{what} does not wait for {owners[0].label}, which installs its CRD and webhooks; "
                        "make it depend on that release (depends_on) or on a component that does",
                    )
                )
        labels = get(node.props, "metadata", "labels") or {}
        for release in installed:
            if release.pin is None or release.node.urn in waits:
                continue
            hit = sorted(set(release.pin.webhook_labels) & set(labels))
            if hit:
                findings.append(
                    (
                        node.urn,
                        f"{what} carries {hit[0]}, so {release.label}'s webhook admits it, but it does not wait "
                        "for that release; make it depend on the release",
                    )
                )
    return findings


policy = stack_policy(
    NAME,
    "Custom resources wait for the Helm release that installs their CRD and webhooks.",
    check,
    {
        "externalCrdGroups": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "API groups whose CRDs the cluster already has (installed outside this stack).",
        }
    },
)
