"""What the deployability policies share: Helm releases and the charts behind them, Kubernetes kinds."""

from dataclasses import dataclass

from ..catalog import ChartPin, chart_pin
from ..graph import Graph, Node, get
from ..resource_types import EKS_CLUSTER as EKS_CLUSTER
from ..resource_types import EKS_NODE_GROUP as EKS_NODE_GROUP
from ..resource_types import GKE_CLUSTER as GKE_CLUSTER
from ..resource_types import GKE_NODE_POOL as GKE_NODE_POOL

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
SYSTEM_ROLE = ("gpu-platform.io/role", "system")

# API groups served by Kubernetes itself (no CRD, no chart). Groups ending in ".k8s.io" are too.
BUILTIN_GROUPS = frozenset({"core", "apps", "batch", "policy", "autoscaling", "apiextensions.k8s.io"})
# Pulumi kubernetes tokens that are not Kubernetes kinds.
NON_KINDS = frozenset({"helm.sh", "yaml", "kustomize"})


@dataclass(frozen=True)
class Release:
    node: Node
    pin: ChartPin | None
    """The platform's pin of the chart, ``None`` for a chart it does not know."""

    @property
    def label(self) -> str:
        return f"Helm release {get(self.node.props, 'name') or self.node.name} ({get(self.node.props, 'chart')})"


def releases(graph: Graph) -> list[Release]:
    return [Release(n, chart_pin(str(get(n.props, "chart") or ""))) for n in graph.of_type(HELM_RELEASE, HELM_CHART)]


def group_of(node: Node) -> str | None:
    """The API group of a Kubernetes object's type token (``kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue``)."""
    if not node.is_kubernetes_object():
        return None
    group = node.type.split(":")[1].rsplit("/", 1)[0]
    return None if group in NON_KINDS else group


def is_custom(node: Node) -> bool:
    group = group_of(node)
    return group is not None and group not in BUILTIN_GROUPS and not group.endswith(".k8s.io")


def kind_of(node: Node) -> str:
    return node.type.rsplit(":", 1)[-1]


def is_system_pool(node: Node) -> bool:
    labels = get(node.props, "labels") if node.type == EKS_NODE_GROUP else get(node.props, "nodeConfig", "labels")
    return isinstance(labels, dict) and labels.get(SYSTEM_ROLE[0]) == SYSTEM_ROLE[1]
