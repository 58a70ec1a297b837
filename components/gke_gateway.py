"""External endpoints on GKE: one Gateway (a global external Application Load Balancer) for every endpoint.

The Gateway listens on HTTPS only, for ``*.<domain>``, with the TLS certificates of a Certificate
Manager certificate map (the platform's user owns the domain and its certificates), a TLS 1.2+ SSL
policy, and a reserved global address (a DNS record can point at it before anything is deployed).
Only team namespaces may attach routes, each only for its own hosts (an admission policy). With client ranges narrower than everyone, a Cloud Armor
policy admits only those (each endpoint's GCPBackendPolicy names it).
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components import labels as L
from components.endpoint_exposure import (
    GATEWAY,
    GATEWAY_LISTENER,
    GATEWAY_NAMESPACE,
    host_policy_manifests,
    security_policy_name,
)
from components.inference_service import PORT
from components.manifests import manifest_resource

GATEWAY_CLASS = "gke-l7-global-external-managed"
LOAD_BALANCER_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
"""Where a global external Application Load Balancer's proxies and health checks come from."""
ARMOR_RANGES_PER_RULE = 10
"""Cloud Armor's basic match (``SRC_IPS_V1``) takes at most 10 ranges per rule."""
ARMOR_DEFAULT_PRIORITY = 2147483647
"""The priority of a security policy's default rule, which every policy must have."""


def armor_rules(source_ranges: list[str]) -> list[gcp.compute.SecurityPolicyRuleArgsDict]:
    """Allow the ranges (10 to a rule), deny everyone else."""

    def rule(priority: int, action: str, ranges: list[str], description: str) -> gcp.compute.SecurityPolicyRuleArgsDict:
        return {
            "priority": priority,
            "action": action,
            "match": {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ranges}},
            "description": description,
        }

    chunks = [source_ranges[i : i + ARMOR_RANGES_PER_RULE] for i in range(0, len(source_ranges), ARMOR_RANGES_PER_RULE)]
    return [
        *(rule(1000 + i, "allow", chunk, "clients of the platform's endpoints") for i, chunk in enumerate(chunks)),
        rule(ARMOR_DEFAULT_PRIORITY, "deny(403)", ["*"], "everyone else"),
    ]


def gateway_manifest(domain: str, certificate_map: str, address: str, namespace_label: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": GATEWAY,
            "namespace": GATEWAY_NAMESPACE,
            "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY},
            "annotations": {"networking.gke.io/certmap": certificate_map},
        },
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": [
                {
                    "name": GATEWAY_LISTENER,
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": f"*.{domain}",
                    "allowedRoutes": {
                        "namespaces": {
                            "from": "Selector",
                            "selector": {"matchExpressions": [{"key": namespace_label, "operator": "Exists"}]},
                        }
                    },
                }
            ],
            "addresses": [{"type": "NamedAddress", "value": address}],
        },
    }


def gateway_policy_manifest(ssl_policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.gke.io/v1",
        "kind": "GCPGatewayPolicy",
        "metadata": {"name": GATEWAY, "namespace": GATEWAY_NAMESPACE, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        "spec": {
            "default": {"sslPolicy": ssl_policy},
            "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY},
        },
    }


@dataclass(frozen=True)
class GkeGatewayArgs:
    cluster_name: str
    project: str
    domain: str
    certificate_map: str
    source_ranges: list[str]
    namespace_label: str
    """Label of the namespaces that may attach routes (the teams')."""
    network: pulumi.Input[str]
    """The cluster's VPC network: the load balancer's proxies and health checks reach the replicas through it."""
    node_tag: str
    """Network tag of the cluster's nodes."""


class GkeGateway(pulumi.ComponentResource):
    ready: list[pulumi.Resource]
    """What an endpoint's route waits for."""
    address: pulumi.Output[str]
    """The Gateway's IP address: point ``*.<domain>`` at it."""

    def __init__(self, name: str, args: GkeGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:GkeGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        physical = f"{args.cluster_name}-endpoints"
        address = gcp.compute.GlobalAddress(
            f"{name}-address", name=physical, project=args.project, address_type="EXTERNAL", opts=child
        )
        ssl = gcp.compute.SSLPolicy(
            f"{name}-ssl", name=physical, project=args.project, profile="MODERN", min_tls_version="TLS_1_2", opts=child
        )
        ready: list[pulumi.Resource] = []
        armor = security_policy_name(args.cluster_name, args.source_ranges)
        if armor:
            ready.append(
                gcp.compute.SecurityPolicy(
                    f"{name}-armor",
                    name=armor,
                    project=args.project,
                    description="Clients the GPU platform's external endpoints admit",
                    rules=armor_rules(args.source_ranges),
                    opts=child,
                )
            )
        # Google's front ends and health checkers reach the replicas' pods (container-native load balancing, on the
        # vLLM port) from these ranges ("Firewall rules" of Cloud Load Balancing, global external Application Load
        # Balancer): allowed here rather than trusted to the Gateway controller.
        ready.append(
            gcp.compute.Firewall(
                f"{name}-load-balancer",
                name=physical,
                project=args.project,
                network=args.network,
                direction="INGRESS",
                priority=1000,
                source_ranges=list(LOAD_BALANCER_RANGES),
                allows=[{"protocol": "tcp", "ports": [str(PORT)]}],
                target_tags=[args.node_tag],
                description="Google's load balancers and health checks to the GPU platform's endpoints",
                opts=child,
            )
        )
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": GATEWAY_NAMESPACE, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
            opts=child,
        )
        # After what its load balancer uses (the address, and the SSL and Cloud Armor policies its GCP policies
        # name), so that on destroy it and its load balancer go first.
        gateway = manifest_resource(
            f"{name}-gateway",
            gateway_manifest(args.domain, args.certificate_map, physical, args.namespace_label),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, address, ssl, *ready]),
        )
        manifest_resource(
            f"{name}-ssl-policy",
            gateway_policy_manifest(physical),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, ssl]),
        )
        ready += [
            manifest_resource(
                f"{name}-{m['metadata']['name']}-{m['kind'].lower()}", m, pulumi.ResourceOptions(parent=self)
            )
            for m in host_policy_manifests("gke-gateway", args.domain, armor)
        ]
        self.ready = [gateway, *ready]
        self.address = address.address
        self.register_outputs({})
