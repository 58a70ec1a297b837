"""External endpoints: the cloud's load balancer (ALB through the AWS Load Balancer Controller, a GKE Gateway),
HTTPS only, vLLM's API key, each team kept to its own hosts; and the checks on all of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import botocore.session
import celpy
import pytest

from components.aws_load_balancer_controller import policy_document
from components.endpoint_exposure import HOST_POLICY, host_policy_manifests
from components.gke_gateway import armor_rules
from tests.conftest import by_type, config_errors, fresh_raw

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SCALED = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def one(capture: Any, type_: str) -> Any:
    (found,) = by_type(capture, type_)
    return found


def inputs(capture: Any, type_: str) -> dict[str, Any]:
    return dict(one(capture, type_).inputs())


# ---------------------------------------------------------------- AWS: the ALB


def test_aws_endpoint_is_an_ingress_of_the_platforms_class(plan: Callable[..., Any]) -> None:
    capture = plan(fresh_raw("aws-dev"))
    ingress = inputs(capture, INGRESS)
    assert ingress["spec"]["ingressClassName"] == "gpu-platform-external"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "qwen-7b-inference.models.dev.example.com"
    (path,) = rule["http"]["paths"]
    # Only vLLM's OpenAI API, which the API key guards; KServe's predictor Service on port 80.
    assert (path["path"], path["pathType"]) == ("/v1", "Prefix")
    assert path["backend"]["service"] == {"name": "qwen-7b-predictor", "port": {"number": 80}}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTPS":443}]'
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/health"
    # Waits for the ALB's address only (not for GPU replicas), and on delete for the controller to remove the ALB.
    assert annotations["pulumi.com/waitFor"] == "jsonpath={.status.loadBalancer.ingress}"
    assert "pulumi.com/skipAwait" not in annotations
    # The class, not the Ingress, decides what the load balancer is.
    params = inputs(capture, "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams")["spec"]
    assert params["scheme"] == "internet-facing" and params["inboundCIDRs"] == ["0.0.0.0/0"]
    assert params["certificateArn"] == [fresh_raw("aws-dev")["serving"]["external"]["certificate"]]
    assert params["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert {"key": "idle_timeout.timeout_seconds", "value": "600"} in params["loadBalancerAttributes"]
    assert params["namespaceSelector"]["matchExpressions"] == [{"key": "gpu-platform.io/team", "operator": "Exists"}]
    ingress_class = inputs(capture, "kubernetes:networking.k8s.io/v1:IngressClass")
    assert ingress_class["spec"]["controller"] == "ingress.k8s.aws/alb"


def test_aws_load_balancer_controller_release_and_identity(plan: Callable[..., Any]) -> None:
    capture = plan(fresh_raw("aws-dev"))
    (release,) = [
        r
        for r in by_type(capture, "kubernetes:helm.sh/v3:Release")
        if r.inputs()["name"] == "aws-load-balancer-controller"
    ]
    values = release.inputs()["values"]
    assert release.inputs()["version"] == "1.13.3" and release.inputs()["namespace"] == "kube-system"
    assert values["region"] == "us-east-1" and values["vpcId"]  # given: the nodes' IMDS hop limit is 1
    assert values["createIngressClassResource"] is False and values["disableIngressClassAnnotation"] is True
    assert values["enableServiceMutatorWebhook"] is False
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    roles = [r for r in by_type(capture, "aws:iam/role:Role") if "load-balancer-controller" in r.name]
    (role,) = roles
    trust = json.loads(role.inputs()["assumeRolePolicy"])
    subjects = [v for k, v in trust["Statement"][0]["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:kube-system:aws-load-balancer-controller"]
    # The Ingress waits for the controller (its webhook admits Ingresses) and the class.
    ingress = one(capture, INGRESS)
    assert release.urn in ingress.dependencies


def test_load_balancer_controller_policy_names_only_real_api_actions() -> None:
    """Every action of the controller's IAM policy is an operation of its service in botocore's models: a typo
    would be silently useless to IAM and fail the controller at run time."""
    services = {
        "ec2": "ec2",
        "elasticloadbalancing": "elbv2",
        "acm": "acm",
        "iam": "iam",
        "cognito-idp": "cognito-idp",
        "waf-regional": "waf-regional",
        "wafv2": "wafv2",
        "shield": "shield",
    }
    session = botocore.session.get_session()
    operations = {prefix: set(session.get_service_model(name).operation_names) for prefix, name in services.items()}
    policy = json.loads(policy_document())
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert len(actions) > 50
    unknown = [a for a in actions if a.split(":")[1] not in operations[a.split(":")[0]]]
    # IAM actions that authorize a step of another call and are no API of their own (IAM's Service
    # Authorization Reference marks them "permission only").
    assert unknown == ["elasticloadbalancing:SetWebAcl"]


# ---------------------------------------------------------------- GCP: the Gateway


def test_gcp_endpoint_is_a_route_on_the_platforms_gateway(plan: Callable[..., Any]) -> None:
    capture = plan(fresh_raw("gcp-dev"))
    cluster = inputs(capture, "gcp:container/cluster:Cluster")
    assert cluster["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}
    gateway = inputs(capture, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert gateway["metadata"]["annotations"] == {"networking.gke.io/certmap": "models-dev"}
    assert gateway["spec"]["gatewayClassName"] == "gke-l7-global-external-managed"
    (listener,) = gateway["spec"]["listeners"]
    assert (listener["protocol"], listener["port"], listener["hostname"]) == ("HTTPS", 443, "*.models.dev.example.com")
    assert listener["allowedRoutes"]["namespaces"]["from"] == "Selector"
    address = inputs(capture, "gcp:compute/globalAddress:GlobalAddress")
    assert gateway["spec"]["addresses"] == [{"type": "NamedAddress", "value": address["name"]}]
    route = inputs(capture, ROUTE)
    assert route["spec"]["hostnames"] == ["llama-70b-research.models.dev.example.com"]
    assert route["spec"]["parentRefs"] == [
        {"name": "endpoints", "namespace": "serving-gateway", "sectionName": "https"}
    ]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/v1"}}]
    assert rule["backendRefs"] == [{"name": "llama-70b-predictor", "port": 80}]
    check = inputs(capture, "kubernetes:networking.gke.io/v1:HealthCheckPolicy")["spec"]
    assert check["default"]["config"]["httpHealthCheck"] == {"requestPath": "/health"}  # GET / is vLLM's 404
    backend = inputs(capture, "kubernetes:networking.gke.io/v1:GCPBackendPolicy")["spec"]
    assert backend["targetRef"] == check["targetRef"] == {"group": "", "kind": "Service", "name": "llama-70b-predictor"}
    assert backend["default"]["timeoutSec"] == 600  # the 30 s default cuts off long generations
    armor = inputs(capture, "gcp:compute/securityPolicy:SecurityPolicy")
    assert backend["default"]["securityPolicy"] == armor["name"]
    (firewall,) = [
        r.inputs() for r in by_type(capture, "gcp:compute/firewall:Firewall") if r.inputs()["name"] == address["name"]
    ]
    assert sorted(firewall["sourceRanges"]) == ["130.211.0.0/22", "35.191.0.0/16"]  # Google's proxies, health checks
    assert firewall["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]
    ssl = inputs(capture, "gcp:compute/sSLPolicy:SSLPolicy")
    assert ssl["minTlsVersion"] == "TLS_1_2"
    outputs = capture.outputs
    assert outputs["externalEndpoints"] == {
        "research/llama-70b": "https://llama-70b-research.models.dev.example.com/v1"
    }
    assert "externalAddress" in outputs


def test_open_gateway_has_no_cloud_armor(plan: Callable[..., Any]) -> None:
    config = fresh_raw("gcp-dev")
    config["serving"]["external"]["sourceRanges"] = ["0.0.0.0/0"]
    capture = plan(config)
    assert not by_type(capture, "gcp:compute/securityPolicy:SecurityPolicy")
    assert (
        "securityPolicy" not in inputs(capture, "kubernetes:networking.gke.io/v1:GCPBackendPolicy")["spec"]["default"]
    )


def test_cloud_armor_takes_ten_ranges_a_rule_and_denies_the_rest() -> None:
    ranges = [f"198.51.{i}.0/24" for i in range(23)]
    rules = armor_rules(ranges)
    allow = [r for r in rules if r["action"] == "allow"]
    assert [len(r["match"]["config"]["src_ip_ranges"]) for r in allow] == [10, 10, 3]
    assert [cidr for r in allow for cidr in r["match"]["config"]["src_ip_ranges"]] == ranges
    assert len({r["priority"] for r in rules}) == len(rules)
    assert rules[-1]["priority"] == 2147483647 and rules[-1]["action"] == "deny(403)"


# ---------------------------------------------------------------- each team on its own hosts


def _admits(kind: str, team: str, obj: dict[str, Any], resource: str = "", armor: str = "") -> bool:
    """Whether the platform's admission policy for ``resource`` (the kind's first by default) admits ``obj``."""
    policies = [m for m in host_policy_manifests(kind, "models.example.com", armor) if m["kind"] == VAP.rsplit(":")[-1]]
    (policy,) = [p["spec"] for p in policies if p["metadata"]["name"].endswith(resource or p["metadata"]["name"])][:1]
    env = celpy.Environment()

    def run(expression: str, activation: dict[str, Any]) -> Any:
        return env.program(env.compile(expression)).evaluate(activation)

    namespace = {"metadata": {"labels": {"gpu-platform.io/team": team}}}
    suffix = run(policy["variables"][0]["expression"], {"namespaceObject": celpy.json_to_cel(namespace)})
    activation = {"object": celpy.json_to_cel(obj), "variables": celpy.json_to_cel({"suffix": str(suffix)})}
    return all(bool(run(v["expression"], activation)) for v in policy["validations"])


def _ingress(host: str | None, path: str = "/v1", path_type: str = "Prefix", **annotations: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"http": {"paths": [{"path": path, "pathType": path_type}]}}
    if host is not None:
        rule["host"] = host
    return {"metadata": {"annotations": annotations}, "spec": {"rules": [rule]}}


@pytest.mark.parametrize(
    ("host", "admitted"),
    [
        ("qwen-inference.models.example.com", True),
        ("qwen-research.models.example.com", False),  # another team's host
        ("qwen-inference.models.example.com.evil.io", False),
        ("a.qwen-inference.models.example.com", False),  # two labels: not what *.<domain> covers
    ],
)
def test_ingress_hosts_are_the_teams_own(host: str, admitted: bool) -> None:
    assert _admits("alb", "inference", _ingress(host)) is admitted


def test_ingress_without_a_host_or_with_a_default_backend_is_refused() -> None:
    assert not _admits("alb", "inference", _ingress(None))
    default = {"service": {"name": "x", "port": {"number": 80}}}
    assert not _admits("alb", "inference", {"spec": {"defaultBackend": default, "rules": []}})


@pytest.mark.parametrize(
    ("path", "path_type", "admitted"),
    [
        ("/v1", "Prefix", True),
        ("/v1/chat/completions", "Exact", True),
        ("/", "Prefix", False),
        ("/invocations", "Prefix", False),
        ("/v1*", "ImplementationSpecific", False),
    ],
)
def test_ingress_routes_only_the_api_the_key_guards(path: str, path_type: str, admitted: bool) -> None:
    assert _admits("alb", "inference", _ingress("a-inference.models.example.com", path, path_type)) is admitted


def test_ingress_listens_on_https_only() -> None:
    host = "a-inference.models.example.com"
    https = {"alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]'}
    assert _admits("alb", "inference", _ingress(host, **https))
    plain = {"alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80},{"HTTPS":443}]'}
    assert not _admits("alb", "inference", _ingress(host, **plain))


@pytest.mark.parametrize(
    ("hostnames", "path", "admitted"),
    [
        (["llama-research.models.example.com"], "/v1", True),
        (["llama-research.models.example.com", "llama-inference.models.example.com"], "/v1", False),
        ([], "/v1", False),  # a route without hostnames takes every host of the listener
        (["llama-research.models.example.com"], "/", False),
    ],
)
def test_route_hosts_and_paths_are_the_teams_own(hostnames: list[str], path: str, admitted: bool) -> None:
    route = {
        "spec": {"hostnames": hostnames, "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}}]}]}
    }
    assert _admits("gke-gateway", "research", route) is admitted


def test_backend_policy_keeps_the_platforms_cloud_armor() -> None:
    ours = {"spec": {"default": {"timeoutSec": 600, "securityPolicy": "gpu-dev-endpoints"}}}
    assert _admits("gke-gateway", "research", ours, "gcpbackendpolicies", "gpu-dev-endpoints")
    stripped = {"spec": {"default": {"timeoutSec": 600}}}
    assert not _admits("gke-gateway", "research", stripped, "gcpbackendpolicies", "gpu-dev-endpoints")
    # Without Cloud Armor (anyone may connect) there is nothing to keep: no policy on backend policies.
    names = [m["metadata"]["name"] for m in host_policy_manifests("gke-gateway", "models.example.com")]
    assert not any(n.endswith("gcpbackendpolicies") for n in names)


def test_host_policies_are_bound_and_installed(plan: Callable[..., Any]) -> None:
    expected = {"aws-dev": {"ingresses"}, "gcp-dev": {"httproutes", "gcpbackendpolicies"}}
    for stack, resources in expected.items():
        capture = plan(fresh_raw(stack))
        policies = [r.inputs() for r in by_type(capture, VAP)]
        bindings = [
            r.inputs()
            for r in by_type(capture, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")
        ]
        assert {p["metadata"]["name"] for p in policies} == {f"{HOST_POLICY}-{r}" for r in resources}
        assert {b["spec"]["policyName"] for b in bindings} == {p["metadata"]["name"] for p in policies}
        assert all(b["spec"]["validationActions"] == ["Deny"] for b in bindings)
        assert all(p["spec"]["failurePolicy"] == "Fail" for p in policies)


def test_team_names_may_not_end_in_another_teams() -> None:
    config = fresh_raw("aws-dev")
    config["teams"][0]["name"] = "ml-inference"
    config["teams"][0]["gpuQuota"] = {"l4-spot": 2}
    config["training"] = {}
    errors = config_errors(config)
    assert any(e.startswith("gpu-platform:teams[0].name: 'ml-inference' ends in '-inference'") for e in errors), errors


# ---------------------------------------------------------------- API key, schedule, team stacks


def test_api_key_is_a_secret_vllm_requires(plan: Callable[..., Any]) -> None:
    capture = plan(fresh_raw("aws-dev"))
    (secret,) = [
        r.inputs() for r in by_type(capture, "kubernetes:core/v1:Secret") if "api-key" in r.inputs()["metadata"]["name"]
    ]
    assert secret["stringData"] == {"VLLM_API_KEY": "[secret]"}
    (isvc,) = [r.inputs() for r in by_type(capture, ISVC)]
    ref = {"secretKeyRef": {"name": secret["metadata"]["name"], "key": "VLLM_API_KEY"}}
    assert {"name": "VLLM_API_KEY", "valueFrom": ref} in isvc["spec"]["predictor"]["model"]["env"]
    # With a key vLLM answers 401 on /v1/*: probes and load-balancer checks use /health.
    (runtime,) = [r.inputs() for r in by_type(capture, "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime")]
    (container,) = runtime["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == container["startupProbe"]["httpGet"]["path"] == "/health"


def test_kserve_endpoint_keeps_its_schedule_through_its_own_scaled_object(plan: Callable[..., Any]) -> None:
    capture = plan(fresh_raw("aws-dev"))
    (isvc,) = [r.inputs() for r in by_type(capture, ISVC)]
    # KServe's KEDA class has no cron trigger: the `external` class leaves the Deployment's replicas to ours.
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    assert "autoScaling" not in isvc["spec"]["predictor"]
    (scaled,) = [
        r.inputs() for r in by_type(capture, SCALED) if r.inputs()["metadata"]["namespace"] == "team-inference"
    ]
    assert scaled["metadata"]["name"] == "qwen-7b"  # never KServe's own `<name>-predictor`
    assert scaled["spec"]["scaleTargetRef"] == {"name": "qwen-7b-predictor"}
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (1, 2)
    (cron,) = scaled["spec"]["triggers"]
    assert cron["type"] == "cron" and cron["metadata"]["desiredReplicas"] == "2"


def test_team_stack_exposes_its_endpoint_on_the_platforms_load_balancer(plan: Callable[..., Any]) -> None:
    capture = plan(fresh_raw("aws-dev-inference"), "aws-dev-inference")
    ingress = inputs(capture, INGRESS)
    assert ingress["metadata"]["namespace"] == "team-inference"
    assert ingress["spec"]["rules"][0]["host"] == "mistral-7b-awq-inference.models.dev.example.com"
    assert not by_type(capture, "kubernetes:helm.sh/v3:Release")  # the controller is the platform's
    assert capture.outputs["externalEndpoints"] == {
        "inference/mistral-7b-awq": "https://mistral-7b-awq-inference.models.dev.example.com/v1"
    }


def test_team_deployers_may_write_routes() -> None:
    from components.team import DEPLOYER_RULES

    granted = {(g, r) for rule in DEPLOYER_RULES for g in rule["api_groups"] for r in rule["resources"]}
    assert {("networking.k8s.io", "ingresses"), ("gateway.networking.k8s.io", "httproutes")} <= granted
    assert ("networking.gke.io", "gcpbackendpolicies") in granted


# ---------------------------------------------------------------- checks


def test_external_endpoint_checks_all_at_once() -> None:
    config = fresh_raw("aws-dev")
    endpoint = config["serving"]["endpoints"][0]
    del endpoint["apiKey"]
    endpoint["name"] = "a-very-long-endpoint-name-for-a-model"
    config["teams"][1]["name"] = "inference-and-evaluation-team"
    endpoint["team"] = "inference-and-evaluation-team"
    errors = config_errors(config)
    assert "gpu-platform:serving.endpoints[0].apiKey: an external endpoint needs an API key" in " ".join(errors)
    assert any(
        e.startswith("gpu-platform:serving.endpoints[0].name: the endpoint's host") and "at most 63" in e
        for e in errors
    )


def test_external_endpoint_needs_the_platforms_external() -> None:
    config = fresh_raw("aws-dev")
    del config["serving"]["external"]
    errors = config_errors(config)
    assert errors == [
        "gpu-platform:serving.endpoints[0].external: the platform exposes no endpoints outside the cluster: set "
        "gpu-platform:serving.external (domain, certificate) on the platform stack (aws or gcp), or remove external"
    ]


@pytest.mark.parametrize(
    ("stack", "certificate", "message"),
    [
        (
            "aws-dev",
            "arn:aws:acm:eu-west-1:123456789012:certificate/0b6c1c2e-5d4f-4a8e-9b7a-3f2d1e0c9b8a",
            "is in eu-west-1",
        ),
        ("aws-dev", "models-dev", "is not an ACM certificate ARN"),
        ("gcp-dev", "arn:aws:acm:us-east-1:123456789012:certificate/x", "is not a Certificate Manager certificate map"),
    ],
)
def test_certificate_must_be_the_clouds(stack: str, certificate: str, message: str) -> None:
    config = fresh_raw(stack)
    config["serving"]["external"]["certificate"] = certificate
    (error,) = config_errors(config)
    assert error.startswith("gpu-platform:serving.external.certificate: ") and message in error


def test_external_only_where_the_cloud_has_a_load_balancer(local_raw: dict[str, Any]) -> None:
    local_raw["serving"] = {"enabled": True, "external": {"domain": "models.example.com", "certificate": "x"}}
    errors = config_errors(local_raw)
    assert "gpu-platform:serving.external: applies only to cloud aws or gcp (this stack is existing)" in errors


def test_source_ranges_are_ipv4_networks() -> None:
    config = fresh_raw("gcp-dev")
    config["serving"]["external"]["sourceRanges"] = ["203.0.113.7/24", "2001:db8::/32"]
    errors = config_errors(config)
    assert any("sourceRanges[0]" in e and "host bits" in e for e in errors)
    assert any("sourceRanges[1]" in e and "IPv6" in e for e in errors)


def test_external_without_serving_is_refused() -> None:
    config = fresh_raw("aws-dev")
    config["serving"]["enabled"] = False
    config["serving"]["endpoints"] = []
    errors = config_errors(config)
    assert errors == [
        "gpu-platform:serving.external: exposes the serving stack's endpoints, but serving.enabled is false; enable "
        "serving or remove external"
    ]


def test_llm_inference_service_is_refused_with_what_it_needs() -> None:
    config = fresh_raw("aws-dev")
    config["serving"]["endpoints"][0]["kind"] = "LLMInferenceService"
    (error,) = config_errors(config)
    assert error.startswith("gpu-platform:serving.endpoints[0].kind: LLMInferenceService needs KServe's llmisvc charts")
    assert "InferencePool" in error and "allowed: InferenceService" in error


def test_plain_mode_endpoint_is_exposed_through_its_own_service(plan: Callable[..., Any]) -> None:
    config = fresh_raw("aws-dev")
    config["serving"]["mode"] = "plain"
    capture = plan(config)
    (path,) = inputs(capture, INGRESS)["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "qwen-7b", "port": {"number": 80}}
    (deployment,) = [r for r in by_type(capture, "kubernetes:apps/v1:Deployment") if r.name.startswith("endpoints-")]
    env = deployment.inputs()["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "VLLM_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "qwen-7b-api-key", "key": "VLLM_API_KEY"}},
    } in env
    (scaled,) = [
        r.inputs() for r in by_type(capture, SCALED) if r.inputs()["metadata"]["namespace"] == "team-inference"
    ]
    assert scaled["spec"]["scaleTargetRef"] == {"name": "qwen-7b"}
