"""Security guardrails on the resource graph: hardened GPU nodes, restricted cluster endpoints, protected
model storage, no privileged workloads or plaintext secrets outside the system namespaces.

Each check is a pure ``(graph, config) -> [(urn, message)]`` and says what is wrong and what would be right.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from .graph import Graph, Node, get, short
from .resource_types import EKS_CLUSTER, GKE_CLUSTER, GKE_NODE_POOL
from .stack_policy import Finding, stack_policy
from .workloads import containers, pod_specs

ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
S3_BUCKET = "aws:s3/bucket:Bucket"
GCS_BUCKET = "gcp:storage/bucket:Bucket"


# ---------------------------------------------------------------- GPU nodes


def check_nodes(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for template in graph.of_type(LAUNCH_TEMPLATE):
        tokens = get(template.props, "metadataOptions", "httpTokens")
        hops = get(template.props, "metadataOptions", "httpPutResponseHopLimit")
        if tokens != "required" or (isinstance(hops, int | float) and hops > 1):
            findings.append(
                (
                    template.urn,
                    f"launch template {short(template.urn)} lets pods reach the instance metadata (and the node role's "
                    f"credentials): httpTokens {tokens!r}, hop limit {hops!r}; required: httpTokens required, hop limit 1",
                )
            )
    for node_class in graph.of_type(EC2_NODE_CLASS):
        tokens = get(node_class.props, "spec", "metadataOptions", "httpTokens")
        if tokens not in (None, "required"):  # Karpenter's default is required
            findings.append(
                (
                    node_class.urn,
                    f"EC2NodeClass {short(node_class.urn)}: metadataOptions.httpTokens {tokens!r}; required",
                )
            )
    for pool in graph.of_type(GKE_NODE_POOL):
        shielded = get(pool.props, "nodeConfig", "shieldedInstanceConfig") or {}
        metadata = get(pool.props, "nodeConfig", "workloadMetadataConfig", "mode")
        if not (shielded.get("enableSecureBoot") and shielded.get("enableIntegrityMonitoring")):
            findings.append(
                (pool.urn, f"node pool {short(pool.urn)}: shielded nodes need secure boot and integrity monitoring on")
            )
        if metadata != "GKE_METADATA":
            findings.append(
                (
                    pool.urn,
                    f"node pool {short(pool.urn)}: workloadMetadataConfig.mode {metadata!r} exposes the node's service "
                    "account to pods; required: GKE_METADATA (Workload Identity)",
                )
            )
    return findings


# ---------------------------------------------------------------- cluster endpoints


def _eks_open(cluster: Node) -> list[str]:
    vpc = get(cluster.props, "vpcConfig") or {}
    if vpc.get("endpointPublicAccess") is False:
        return []
    return sorted(set(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]) & ANYWHERE)  # EKS's default is anywhere


def _gke_open(cluster: Node) -> list[str]:
    if get(cluster.props, "privateClusterConfig", "enablePrivateEndpoint"):
        return []
    blocks = get(cluster.props, "masterAuthorizedNetworksConfig", "cidrBlocks")
    if blocks is None:
        return ["0.0.0.0/0"]  # no authorized networks: any address
    return sorted({str(get(b, "cidrBlock")) for b in blocks} & ANYWHERE)


ENDPOINTS = {EKS_CLUSTER: _eks_open, GKE_CLUSTER: _gke_open}


def check_endpoints(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    return [
        (
            cluster.urn,
            f"cluster {short(cluster.urn)}'s API endpoint is open to {', '.join(open_to)}; list the addresses that run "
            "`pulumi up` and kubectl (cluster.publicEndpointCidrs: your /32, your CI runners' egress), or make it "
            "private (cluster.privateEndpointOnly)",
        )
        for cluster in graph.of_type(*ENDPOINTS)
        if (open_to := ENDPOINTS[cluster.type](cluster))
    ]


# ---------------------------------------------------------------- model and checkpoint storage


def _companions(graph: Graph, bucket: str) -> dict[str, Node]:
    """The S3 bucket's configuration resources (versioning, encryption, public access block), by type."""
    return {n.type: n for n in graph.nodes if n.type.startswith("aws:s3/") and get(n.props, "bucket") == bucket}


def _s3_problems(graph: Graph, node: Node) -> Iterator[str]:
    parts = _companions(graph, str(get(node.props, "bucket")))
    versioning = parts.get("aws:s3/bucketVersioning:BucketVersioning")
    if get(versioning.props if versioning else {}, "versioningConfiguration", "status") != "Enabled":
        yield "versioning is not enabled (a BucketVersioning with status Enabled)"
    if "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration" not in parts:
        yield "no default encryption (a BucketServerSideEncryptionConfiguration)"
    block = parts.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if block is None or not all(get(block.props, f) is True for f in flags):
        yield f"public access is not blocked (a BucketPublicAccessBlock with {', '.join(flags)} true)"


def _gcs_problems(graph: Graph, node: Node) -> Iterator[str]:
    if get(node.props, "versioning", "enabled") is not True:
        yield "versioning is not enabled"
    if get(node.props, "publicAccessPrevention") != "enforced":
        yield "publicAccessPrevention is not enforced"
    if get(node.props, "uniformBucketLevelAccess") is not True:
        yield "uniform bucket-level access is off (object ACLs could open objects)"


BUCKETS = {S3_BUCKET: _s3_problems, GCS_BUCKET: _gcs_problems}


def check_storage(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for bucket in graph.of_type(*BUCKETS):
        problems = list(BUCKETS[bucket.type](graph, bucket))
        if not bucket.protect:
            problems.append("it is not protected (protect=True): a `pulumi destroy` would delete the models")
        if get(bucket.props, "forceDestroy"):
            problems.append("forceDestroy is on: deleting it would delete every object")
        findings += [(bucket.urn, f"bucket {short(bucket.urn)}: {p}") for p in problems]
    return findings


# ---------------------------------------------------------------- workloads

SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)$", re.IGNORECASE)
SYSTEM_NAMESPACES = ["kube-system", "gpu-operator"]
# Custom workloads: where their containers are (the core kinds come from policies.workloads).
CUSTOM_CONTAINERS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": (("spec", "predictor", "model"),),
    "kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob": (("spec", "trainer"),),
}


def _containers(node: Node) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]]:
    """(where, container, pod spec or None) of a workload."""
    for path, pod in pod_specs(node.type, node.props):
        for where, container in containers(pod):
            yield f"{path}.{where}", container, pod
    for steps in CUSTOM_CONTAINERS.get(node.type, ()):
        container = get(node.props, *steps)
        if isinstance(container, Mapping):
            yield ".".join(steps), container, None


def check_workloads(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    system = set(config.get("systemNamespaces") or SYSTEM_NAMESPACES)
    findings: list[Finding] = []
    for node in graph.nodes:
        namespace = get(node.props, "metadata", "namespace")
        for where, container, pod in _containers(node):
            for env in get(container, "env") or []:
                name = str(get(env, "name") or "")
                if SECRET_NAME.search(name) and get(env, "value") not in (None, ""):
                    findings.append(
                        (
                            node.urn,
                            f"{short(node.urn)} {where}: {name} is a plaintext value in the manifest (and the state); "
                            "take it from a Secret (valueFrom.secretKeyRef), set from a Pulumi secret",
                        )
                    )
            if namespace in system:
                continue
            if get(container, "securityContext", "privileged") is True:
                findings.append(
                    (
                        node.urn,
                        f"{short(node.urn)} {where} is privileged outside the system namespaces ({', '.join(sorted(system))})",
                    )
                )
            host_paths = [str(get(v, "name")) for v in (get(pod, "volumes") or []) if get(v, "hostPath") is not None]
            if host_paths:
                findings.append(
                    (
                        node.urn,
                        f"{short(node.urn)} mounts host paths ({', '.join(host_paths)}) outside the system namespaces",
                    )
                )
    return findings


WORKLOAD_CONFIG = {
    "systemNamespaces": {
        "type": "array",
        "items": {"type": "string"},
        "default": SYSTEM_NAMESPACES,
        "description": "Namespaces where privileged containers and host paths are allowed (the GPU software's).",
    }
}

POLICIES = [
    stack_policy(
        "gpu-nodes-hardened",
        "GPU nodes: IMDSv2 with hop limit 1 (AWS); shielded nodes and Workload Identity metadata (GKE).",
        check_nodes,
    ),
    # Advisory by default: development clusters often open the endpoint (IAM- or Google-authenticated) to reach it
    # from anywhere; production policy groups set it mandatory.
    stack_policy(
        "cluster-endpoint-restricted",
        "The cluster's API endpoint is private or open only to an allowlist, never to any address.",
        check_endpoints,
        level=EnforcementLevel.ADVISORY,
    ),
    stack_policy(
        "storage-protected",
        "Model and checkpoint buckets: versioned, encrypted, never public, protected from deletion.",
        check_storage,
    ),
    stack_policy(
        "workloads-least-privilege",
        "No plaintext secrets in env; no privileged containers or host paths outside the system namespaces.",
        check_workloads,
        WORKLOAD_CONFIG,
        EnforcementLevel.MANDATORY,
    ),
]
