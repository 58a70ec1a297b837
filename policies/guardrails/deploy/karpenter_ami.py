"""karpenter-ami-exists: the AMI release a Karpenter EC2NodeClass pins exists for the cluster's Kubernetes version.

``al2023@vYYYYMMDD`` resolves SSM parameters of that release for the cluster's
version; a release older than the version's first AMI has none, and Karpenter
launches nothing (the NodeClass just never becomes ready).
"""

from collections.abc import Mapping
from typing import Any

from ..catalog import ami_release_problem
from ..graph import Graph, get, short
from ..stack_policy import Finding, stack_policy
from .common import EKS_CLUSTER

NAME = "karpenter-ami-exists"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    versions = [v for v in (get(c.props, "version") for c in graph.of_type(EKS_CLUSTER)) if isinstance(v, str)]
    findings: list[Finding] = []
    for node_class in graph.of_type(EC2_NODE_CLASS):
        for term in get(node_class.props, "spec", "amiSelectorTerms") or []:
            alias = get(term, "alias")
            for version in versions if isinstance(alias, str) else []:
                if problem := ami_release_problem(alias, version):
                    findings.append((node_class.urn, f"EC2NodeClass {short(node_class.urn)}: {problem}"))
    return findings


policy = stack_policy(NAME, "Karpenter's pinned AMI release exists for the cluster's Kubernetes version.", check)
