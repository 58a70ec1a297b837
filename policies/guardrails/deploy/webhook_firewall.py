"""webhooks-reachable: on private GKE nodes, the control plane reaches every webhook and aggregated API installed.

GKE opens only 443 and 10250 from the control plane's range to private nodes;
the API server calls a webhook or an aggregated API on its pod's container
port, so one on any other port (Kueue's webhook on 9443, its visibility API on
8082) times out: every object it admits fails, API discovery errors, namespace
deletion hangs.
"""

from collections.abc import Mapping
from typing import Any

from ..graph import Graph, Node, get, short
from ..stack_policy import Finding, stack_policy
from .common import GKE_CLUSTER, releases

NAME = "webhooks-reachable"
FIREWALL = "gcp:compute/firewall:Firewall"
GKE_OPEN_PORTS = frozenset({443, 10250})


def _opens(rule: Node, source: str, port: int) -> bool:
    if get(rule.props, "direction") not in (None, "INGRESS") or source not in (get(rule.props, "sourceRanges") or []):
        return False
    for allow in get(rule.props, "allows") or []:
        if get(allow, "protocol") not in ("tcp", "all"):
            continue
        ports = get(allow, "ports") or []
        if not ports or any(_in_range(port, str(p)) for p in ports):
            return True
    return False


def _in_range(port: int, spec: str) -> bool:
    low, _, high = spec.partition("-")
    return low.isdigit() and int(low) <= port <= int(high or low)


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    rules = graph.of_type(FIREWALL)
    for cluster in graph.of_type(GKE_CLUSTER):
        private = get(cluster.props, "privateClusterConfig") or {}
        source = get(private, "masterIpv4CidrBlock")
        if not get(private, "enablePrivateNodes") or not isinstance(source, str):
            continue
        for release in releases(graph):
            for port in release.pin.apiserver_ports if release.pin else ():
                if port in GKE_OPEN_PORTS or any(_opens(rule, source, port) for rule in rules):
                    continue
                findings.append(
                    (
                        release.node.urn,
                        f"{release.label} serves a webhook or API the control plane calls on port {port}, which the private GKE "
                        f"cluster {short(cluster.urn)} cannot reach from its control plane ({source}); add an "
                        f"INGRESS firewall rule from {source} to the nodes on tcp:{port}",
                    )
                )
    return findings


policy = stack_policy(NAME, "The GKE control plane can reach every admission webhook the stack installs.", check)
