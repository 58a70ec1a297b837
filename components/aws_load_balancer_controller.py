"""External endpoints on EKS: the AWS Load Balancer Controller and the one IngressClass teams' endpoints use.

The platform, not each Ingress, decides what the load balancer is: an ``IngressClassParams`` pins the
scheme (internet-facing), the one shared ALB (an IngressGroup), the TLS certificate and policy, the
client CIDRs, the idle timeout LLM responses need, and which namespaces (teams') may use the class. The
controller ignores the matching Ingress annotations, so a team's Ingress cannot open a plain-HTTP ALB of
its own; the chart's default ``alb`` class and the legacy ``kubernetes.io/ingress.class`` annotation are
off, so this class is the only way in. An admission policy keeps each team's Ingresses to its own hosts.
"""

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components import labels as L
from components.aws_iam import irsa_role
from components.endpoint_exposure import INGRESS_CLASS, TIMEOUT_S, host_policy_manifests
from components.manifests import manifest_resource
from components.versions import AWS_LOAD_BALANCER_CONTROLLER

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
CONTROLLER = "ingress.k8s.aws/alb"
# TLS 1.2 and 1.3 only: the controller's default (ELBSecurityPolicy-2016-08) still allows TLS 1.0 and 1.1.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def policy_document() -> str:
    """The controller's IAM policy: upstream's ``docs/install/iam_policy.json`` (v2.13 line), unchanged."""
    text = resources.files("components").joinpath("data/aws_load_balancer_controller_policy.json").read_text()
    return json.dumps(json.loads(text), sort_keys=True)


def controller_values(
    cluster_name: pulumi.Input[str], region: str, vpc_id: pulumi.Input[str], role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """The subset of the chart's values the platform sets."""
    return {
        "clusterName": cluster_name,
        # Given, not discovered: the nodes' IMDS hop limit of 1 keeps pods from the instance metadata.
        "region": region,
        "vpcId": vpc_id,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        # Only the platform's class: no default `alb` class, no legacy class annotation.
        "createIngressClassResource": False,
        "disableIngressClassAnnotation": True,
        # The platform makes no LoadBalancer Services: keep the controller's webhook off every Service in the cluster.
        "enableServiceMutatorWebhook": False,
        "defaultSSLPolicy": SSL_POLICY,
        # With the other controllers, on the system nodes (GPU nodes come and go, and cost).
        "nodeSelector": dict(L.SYSTEM_NODES),
    }


def ingress_class_params(
    certificate_arn: str, source_ranges: list[str], group: str, namespace_label: str
) -> dict[str, Any]:
    """What every external endpoint's ALB is, whatever its Ingress says."""
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "IngressClassParams",
        "metadata": {"name": INGRESS_CLASS, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        "spec": {
            "namespaceSelector": {"matchExpressions": [{"key": namespace_label, "operator": "Exists"}]},
            "group": {"name": group},
            "scheme": "internet-facing",
            "certificateArn": [certificate_arn],
            "sslPolicy": SSL_POLICY,
            "inboundCIDRs": list(source_ranges),
            "loadBalancerAttributes": [{"key": "idle_timeout.timeout_seconds", "value": str(TIMEOUT_S)}],
        },
    }


@dataclass(frozen=True)
class AwsLoadBalancerControllerArgs:
    cluster_name: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    certificate_arn: str
    source_ranges: list[str]
    group: str
    """The IngressGroup: one ALB for every external endpoint of the cluster."""
    namespace_label: str
    """Label of the namespaces whose Ingresses may use the class (the teams')."""
    domain: str
    """The endpoints' domain: a team's Ingresses may serve only ``<name>-<team>.<domain>``."""


class AwsLoadBalancerController(pulumi.ComponentResource):
    ready: list[pulumi.Resource]
    """What an endpoint's Ingress waits for: the controller (its webhook admits Ingresses) and the class."""

    def __init__(
        self, name: str, args: AwsLoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gpu-platform:index:AwsLoadBalancerController", name, None, opts)
        role, policy = irsa_role(
            f"{name}-role",
            self,
            args.oidc_provider_arn,
            args.oidc_issuer,
            NAMESPACE,
            SERVICE_ACCOUNT,
            policy_document(),
        )
        values = controller_values(args.cluster_name, args.region, args.vpc_id, role.arn)
        # Depends on the policy too: on destroy the controller goes (deleting its ALBs) before its permissions.
        release = helm.release(
            name, SERVICE_ACCOUNT, AWS_LOAD_BALANCER_CONTROLLER, NAMESPACE, values, self, depends_on=[policy]
        )
        params = ingress_class_params(args.certificate_arn, args.source_ranges, args.group, args.namespace_label)
        class_params = k8s.apiextensions.CustomResource(
            f"{name}-class-params",
            api_version=params["apiVersion"],
            kind=params["kind"],
            metadata=params["metadata"],
            spec=params["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )
        ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-class",
            metadata={"name": INGRESS_CLASS, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
            spec={
                "controller": CONTROLLER,
                "parameters": {"api_group": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": INGRESS_CLASS},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[class_params]),
        )
        hosts = [
            manifest_resource(
                f"{name}-{m['metadata']['name']}-{m['kind'].lower()}", m, pulumi.ResourceOptions(parent=self)
            )
            for m in host_policy_manifests("alb", args.domain)
        ]
        self.ready = [release, ingress_class, *hosts]
        self.register_outputs({})
