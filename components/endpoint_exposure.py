"""An endpoint reachable from outside the cluster, the cloud's native way. Pure data.

Each external endpoint is ``https://<name>-<team>.<domain>``, HTTPS only, and routes only vLLM's OpenAI API
(``/v1``): that is what its API key guards (vLLM leaves ``/health``, ``/metrics`` and ``/invocations``
open, so they stay in-cluster). The load balancer checks the replicas on ``/health`` and waits up to
``TIMEOUT_S`` for a response (both clouds' defaults, 60 s and 30 s, cut off long generations).

- ``alb`` (EKS): an Ingress of the platform's IngressClass; the AWS Load Balancer Controller makes every
  such Ingress a rule of one shared Application Load Balancer whose scheme, certificate, TLS policy and
  client CIDRs the class pins (``components/aws_load_balancer_controller.py``).
- ``gke-gateway`` (GKE): an HTTPRoute on the platform's Gateway (``components/gke_gateway.py``), with a
  HealthCheckPolicy and a GCPBackendPolicy (timeout, Cloud Armor) on the endpoint's Service.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from components import labels as L

API_PREFIX = "/v1"
HEALTH_PATH = "/health"
TIMEOUT_S = 600
"""How long the load balancer waits on a response (ALB: idle timeout, 60 s by default; GKE: backend timeout,
30 s by default): long generations and streams take minutes."""
INGRESS_CLASS = "gpu-platform-external"
"""alb: the platform's IngressClass (``components/aws_load_balancer_controller.py``)."""
GATEWAY_NAMESPACE = L.GATEWAY_NAMESPACE
GATEWAY = "endpoints"
GATEWAY_LISTENER = "https"


OPEN = "0.0.0.0/0"
KINDS = {"aws": "alb", "gcp": "gke-gateway"}
"""Cloud -> how its endpoints are exposed (``ROUTES``)."""


def security_policy_name(cluster_name: str, source_ranges: list[str]) -> str:
    """gke-gateway: the Cloud Armor policy the endpoints' backends name ("" when everyone may connect)."""
    return "" if OPEN in source_ranges else f"{cluster_name}-endpoints"


@dataclass(frozen=True)
class Exposure:
    kind: str
    """``alb`` or ``gke-gateway`` (``ROUTES``)."""
    domain: str
    security_policy: str = ""
    """gke-gateway: the Cloud Armor policy that admits only the configured client ranges ("" for anyone)."""


@dataclass(frozen=True)
class Route:
    """What one endpoint exposes: its Service (port 80) in its namespace, under ``host``."""

    name: str
    namespace: str
    service: str
    host: str


def host(endpoint: str, team: str, domain: str) -> str:
    return f"{endpoint}-{team}.{domain}"


def _meta(route: Route, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": route.namespace, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}}


def _alb(route: Route, exposure: Exposure) -> list[dict[str, Any]]:
    meta = _meta(route, route.name)
    # Per target group (what the class cannot pin): pod IPs as targets, and vLLM's health endpoint.
    meta["annotations"] = {
        # Pulumi would wait for the ALB and for ready replicas behind it: longer than a GPU node takes.
        **L.SKIP_AWAIT,
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
        "alb.ingress.kubernetes.io/healthcheck-path": HEALTH_PATH,
    }
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta,
            "spec": {
                "ingressClassName": INGRESS_CLASS,
                "rules": [
                    {
                        "host": route.host,
                        "http": {
                            "paths": [
                                {
                                    "path": API_PREFIX,
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": route.service, "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }
    ]


def _gke(route: Route, exposure: Exposure) -> list[dict[str, Any]]:
    service_ref = {"group": "", "kind": "Service", "name": route.service}
    backend: dict[str, Any] = {"timeoutSec": TIMEOUT_S}
    if exposure.security_policy:
        backend["securityPolicy"] = exposure.security_policy
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": _meta(route, route.name),
            "spec": {
                "parentRefs": [{"name": GATEWAY, "namespace": GATEWAY_NAMESPACE, "sectionName": GATEWAY_LISTENER}],
                "hostnames": [route.host],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": API_PREFIX}}],
                        "backendRefs": [{"name": route.service, "port": 80}],
                    }
                ],
            },
        },
        {
            "apiVersion": "networking.gke.io/v1",
            "kind": "HealthCheckPolicy",
            "metadata": _meta(route, route.name),
            "spec": {
                # The load balancer's default check (GET / on the serving port) gets vLLM's 404.
                "default": {"config": {"type": "HTTP", "httpHealthCheck": {"requestPath": HEALTH_PATH}}},
                "targetRef": service_ref,
            },
        },
        {
            "apiVersion": "networking.gke.io/v1",
            "kind": "GCPBackendPolicy",
            "metadata": _meta(route, route.name),
            "spec": {"default": backend, "targetRef": service_ref},
        },
    ]


ROUTES: Mapping[str, Callable[[Route, Exposure], list[dict[str, Any]]]] = {"alb": _alb, "gke-gateway": _gke}
"""Exposure kind -> the objects one endpoint adds in its namespace."""


def route_manifests(route: Route, exposure: Exposure) -> list[dict[str, Any]]:
    return ROUTES[exposure.kind](route, exposure)


# Per exposure kind: the object a team writes (API group, resource) and a CEL test that every host it serves is
# one of its team's (``<name>-<team>.<domain>``; a rule or route without a host would serve every host).
HOST_RULES: Mapping[str, tuple[str, str, str]] = {
    "alb": (
        "networking.k8s.io",
        "ingresses",
        "!has(object.spec.defaultBackend) && has(object.spec.rules) && "
        "object.spec.rules.all(r, has(r.host) && r.host.endsWith(variables.suffix))",
    ),
    "gke-gateway": (
        "gateway.networking.k8s.io",
        "httproutes",
        "has(object.spec.hostnames) && size(object.spec.hostnames) > 0 && "
        "object.spec.hostnames.all(h, h.endsWith(variables.suffix))",
    ),
}
HOST_POLICY = "gpu-platform-endpoint-hosts"


def host_policy_manifests(kind: str, domain: str) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy (and its binding) that keeps each team to its own host names: teams may
    write routes in their namespaces, and one route to another team's host would take its traffic."""
    group, resource, test = HOST_RULES[kind]
    meta = {"name": HOST_POLICY, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}}
    team = f"namespaceObject.metadata.labels['{L.TEAM_LABEL}']"
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": meta,
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "namespaceSelector": {"matchExpressions": [{"key": L.TEAM_LABEL, "operator": "Exists"}]},
                    "resourceRules": [
                        {
                            "apiGroups": [group],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": [resource],
                        }
                    ],
                },
                "variables": [{"name": "suffix", "expression": f"'-' + {team} + '.{domain}'"}],
                "validations": [
                    {
                        "expression": test,
                        "messageExpression": "'every host must be <endpoint>' + variables.suffix",
                        "reason": "Forbidden",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": meta,
            "spec": {"policyName": HOST_POLICY, "validationActions": ["Deny"]},
        },
    ]
