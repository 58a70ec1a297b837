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
        # Ready once the controller has given it the ALB's address; Pulumi's default wait would also want ready
        # replicas behind it (longer than a GPU node takes). Not skipAwait: that skips the wait on delete too, and
        # the controller (and its IAM policy) must outlive the Ingress, or the ALB it clears on delete is left.
        "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress}",
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


_API_PATH = "({p} == '/v1' || {p}.startsWith('/v1/'))"
# What a team's route may be, per exposure kind: per (API group, resource) it writes, CEL tests and what they say.
# Its hosts are its team's, one label under the domain as the wildcard certificate covers (``<name>-<team>.<domain>``;
# a rule or route without a host serves every host), it routes
# only vLLM's OpenAI API (what the API key guards), over HTTPS only, through the platform's Cloud Armor policy.
_INGRESS_TESTS: tuple[tuple[str, str], ...] = (
    (
        "!has(object.spec.defaultBackend) && has(object.spec.rules) && "
        "object.spec.rules.all(r, has(r.host) && r.host.endsWith(variables.suffix) && "
        "r.host.matches('^[a-z0-9-]+' + variables.suffix + '$'))",
        "'every host must be <endpoint>' + variables.suffix + ', and no default backend'",
    ),
    (
        "object.spec.rules.all(r, has(r.http) && r.http.paths.all(x, has(x.path) && x.pathType in ['Prefix', 'Exact'] "
        f"&& {_API_PATH.format(p='x.path')}))",
        "'only /v1 (Prefix or Exact) may be routed: the API key guards nothing else'",
    ),
    (
        "!has(object.metadata.annotations) || !('alb.ingress.kubernetes.io/listen-ports' in object.metadata.annotations) "
        "|| object.metadata.annotations['alb.ingress.kubernetes.io/listen-ports'] == '[{\"HTTPS\":443}]'",
        "'listen-ports must be [{\"HTTPS\":443}]: the API key never travels in the clear'",
    ),
)
_ROUTE_TESTS: tuple[tuple[str, str], ...] = (
    (
        "has(object.spec.hostnames) && size(object.spec.hostnames) > 0 && "
        "object.spec.hostnames.all(h, h.endsWith(variables.suffix) && h.matches('^[a-z0-9-]+' + variables.suffix + '$'))",
        "'every hostname must be <endpoint>' + variables.suffix",
    ),
    (
        "has(object.spec.rules) && object.spec.rules.all(r, has(r.matches) && size(r.matches) > 0 && "
        "r.matches.all(m, has(m.path) && m.path.type in ['PathPrefix', 'Exact'] && "
        f"{_API_PATH.format(p='m.path.value')}))",
        "'only /v1 (PathPrefix or Exact) may be routed: the API key guards nothing else'",
    ),
)
HOST_POLICY = "gpu-platform-endpoint-hosts"


Tests = tuple[tuple[str, str], ...]
"""CEL tests of a ValidatingAdmissionPolicy, each with its message expression."""


def _route_rules(kind: str, security_policy: str) -> list[tuple[str, str, Tests]]:
    if kind == "alb":
        return [("networking.k8s.io", "ingresses", _INGRESS_TESTS)]
    rules: list[tuple[str, str, Tests]] = [("gateway.networking.k8s.io", "httproutes", _ROUTE_TESTS)]
    if security_policy:
        armor = (
            f"has(object.spec.default) && has(object.spec.default.securityPolicy) && "
            f"object.spec.default.securityPolicy == '{security_policy}'",
            f"'the backend policy must name the platform\\'s Cloud Armor policy {security_policy}'",
        )
        rules.append(("networking.gke.io", "gcpbackendpolicies", (armor,)))
    return rules


def host_policy_manifests(kind: str, domain: str, security_policy: str = "") -> list[dict[str, Any]]:
    """ValidatingAdmissionPolicies (and their bindings) that keep each team's routes to what the platform exposes:
    teams write routes in their namespaces, and one route to another team's host would take its traffic, one to
    another path or port would bypass the API key or TLS."""
    team = f"namespaceObject.metadata.labels['{L.TEAM_LABEL}']"
    out: list[dict[str, Any]] = []
    for group, resource, tests in _route_rules(kind, security_policy):
        name = f"{HOST_POLICY}-{resource}"
        meta = {"name": name, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}}
        out += [
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
                        {"expression": test, "messageExpression": message, "reason": "Forbidden"}
                        for test, message in tests
                    ],
                },
            },
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": meta,
                "spec": {"policyName": name, "validationActions": ["Deny"]},
            },
        ]
    return out
