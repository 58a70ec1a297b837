"""The cluster layer: each cloud's builder, imported only for the cloud a stack uses.

A builder registers the cluster (or reaches an existing one), its GPU pools and
the cloud's own add-ons, and returns a ``Cluster``: the explicit Kubernetes
provider every Kubernetes resource of the platform uses, created only after the
cluster is usable (system nodes up, the deployer's access in place), and the
outputs users need. The cloud's backend (``stacks/clouds``) names the module,
so an ``existing`` stack never loads a cloud SDK and a GCP stack never loads AWS.
"""

import importlib
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.labels import SERVING_SERVICE_ACCOUNT, TRAINING_SERVICE_ACCOUNT
from stacks.clouds import backend
from stacks.model import PlatformConfig
from stacks.resolve import ResolvedPool

MANAGED_BY = {"managed-by": "pulumi", "platform": "gpu-platform"}


@dataclass
class Cluster:
    provider: k8s.Provider
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str] | None
    kubeconfig: pulumi.Output[str] | None
    """Secret."""
    service_accounts: dict[str, dict[str, dict[str, pulumi.Output[str]]]] = field(default_factory=dict)
    """Team -> Kubernetes service account -> annotations binding it to a cloud identity (IRSA role,
    Workload Identity service account): what the team's namespace gets so its pods reach storage."""
    exposure_ready: list[pulumi.Resource] = field(default_factory=list)
    """What external endpoints' routes wait for: the AWS Load Balancer Controller and its class, or the GKE
    Gateway (empty when the stack exposes nothing)."""
    external_address: pulumi.Output[str] | None = None
    """The external endpoints' IP address, where the cloud reserves one (GKE): point ``*.<domain>`` at it."""


def team_namespaces(config: PlatformConfig) -> tuple[tuple[str, str], ...]:
    return tuple((t.name, t.namespace_name) for t in config.teams)


def storage_service_accounts(
    annotation: str, training: dict[str, pulumi.Output[str]], serving: dict[str, pulumi.Output[str]]
) -> dict[str, dict[str, dict[str, pulumi.Output[str]]]]:
    """Per team, its ``trainer`` and ``model-reader`` service accounts annotated with their cloud identities."""
    return {
        team: {
            TRAINING_SERVICE_ACCOUNT: {annotation: training[team]},
            SERVING_SERVICE_ACCOUNT: {annotation: serving[team]},
        }
        for team in training
    }


def kubernetes_provider(
    name: str, kubeconfig: pulumi.Output[str], parent: pulumi.Resource, ready: list[pulumi.Resource]
) -> k8s.Provider:
    """The provider of a cluster the platform creates. It depends on what makes the cluster usable, so every
    Kubernetes object (all go through it) waits for system nodes and access instead of racing them."""
    return k8s.Provider(
        f"{name}-k8s",
        k8s.ProviderArgs(kubeconfig=kubeconfig, enable_server_side_apply=True),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=ready),
    )


def build_cluster(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    module = importlib.import_module(backend(config.cloud).builder)
    cluster: Cluster = module.build(config, pools)
    return cluster
