"""The security policies on captured plans: the examples' nodes, storage and workloads pass (their open
development endpoints are reported, advisory); each weakened graph is refused with what would be right."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.guardrails import security
from policies.guardrails.graph import Graph, Node
from tests.conftest import STACKS, changed


def of_type(type_: str) -> Callable[[Node], bool]:
    return lambda n: n.type == type_


def run(check: Callable[..., Any], nodes: list[Node], config: dict[str, Any] | None = None) -> list[str]:
    return [m for _, m in check(Graph(nodes), config or {})]


@pytest.mark.parametrize("stack", STACKS)
def test_examples_are_hardened(graphs: dict[str, list[Node]], stack: str) -> None:
    for check in (security.check_nodes, security.check_storage, security.check_workloads):
        assert run(check, graphs[stack]) == [], check.__name__


def test_open_development_endpoints_are_reported(graphs: dict[str, list[Node]]) -> None:
    for stack in ("aws-dev", "gcp-dev", "aws-train"):
        (message,) = run(security.check_endpoints, graphs[stack])
        assert "API endpoint is open to 0.0.0.0/0" in message and "publicEndpointCidrs" in message
    assert run(security.check_endpoints, graphs["local"]) == []  # an existing cluster: not the stack's


def test_restricted_or_private_endpoints_pass(graphs: dict[str, list[Node]]) -> None:
    def allowlist(props: dict[str, Any]) -> None:
        props["vpcConfig"]["publicAccessCidrs"] = ["198.51.100.7/32"]

    assert run(security.check_endpoints, changed(graphs["aws-dev"], of_type(security.EKS_CLUSTER), allowlist)) == []

    def private(props: dict[str, Any]) -> None:
        props["privateClusterConfig"]["enablePrivateEndpoint"] = True

    assert run(security.check_endpoints, changed(graphs["gcp-dev"], of_type(security.GKE_CLUSTER), private)) == []

    def unset(props: dict[str, Any]) -> None:
        del props["vpcConfig"]["publicAccessCidrs"]  # EKS's default: any address

    (message,) = run(security.check_endpoints, changed(graphs["aws-dev"], of_type(security.EKS_CLUSTER), unset))
    assert "0.0.0.0/0" in message


def test_imds_reachable_from_pods_is_refused(graphs: dict[str, list[Node]]) -> None:
    def loosen(props: dict[str, Any]) -> None:
        props["metadataOptions"] = {"httpTokens": "optional", "httpPutResponseHopLimit": 2}

    broken = changed(graphs["aws-dev"], of_type(security.LAUNCH_TEMPLATE), loosen)
    (message,) = run(security.check_nodes, broken)
    assert "httpTokens 'optional', hop limit 2; required: httpTokens required, hop limit 1" in message


def test_gke_nodes_need_shielding_and_workload_identity(graphs: dict[str, list[Node]]) -> None:
    def weaken(props: dict[str, Any]) -> None:
        props["nodeConfig"]["shieldedInstanceConfig"] = {"enableSecureBoot": False}
        props["nodeConfig"]["workloadMetadataConfig"] = {"mode": "GCE_METADATA"}

    broken = changed(graphs["gcp-dev"], lambda n: n.type == security.GKE_NODE_POOL and "h100" in n.name, weaken)
    messages = run(security.check_nodes, broken)
    assert len(messages) == 2
    assert any("secure boot" in m for m in messages) and any("required: GKE_METADATA" in m for m in messages)


def test_bucket_must_be_versioned_private_and_protected(graphs: dict[str, list[Node]]) -> None:
    def open_up(props: dict[str, Any]) -> None:
        props["publicAccessPrevention"] = "inherited"
        props["versioning"] = {"enabled": False}

    broken = changed(graphs["gcp-dev"], of_type(security.GCS_BUCKET), open_up, protect=False)
    messages = run(security.check_storage, broken)
    assert [m.split(": ", 1)[1] for m in messages] == [
        "versioning is not enabled",
        "publicAccessPrevention is not enforced",
        "it is not protected (protect=True): a `pulumi destroy` would delete the models",
    ]


def test_s3_bucket_without_its_public_access_block(graphs: dict[str, list[Node]]) -> None:
    broken = [n for n in graphs["aws-train"] if n.type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]
    (message,) = run(security.check_storage, broken)
    assert "public access is not blocked" in message


def test_plaintext_secret_and_privilege_in_a_workload(graphs: dict[str, list[Node]]) -> None:
    def leak(props: dict[str, Any]) -> None:
        props["spec"]["trainer"]["env"].append({"name": "WANDB_API_KEY", "value": "abc123"})

    job = lambda n: n.type.endswith(":TrainJob") and "llama-pretrain" in n.name  # noqa: E731
    (message,) = run(security.check_workloads, changed(graphs["aws-train"], job, leak))
    assert "WANDB_API_KEY is a plaintext value" in message and "valueFrom.secretKeyRef" in message

    def privileged(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod["containers"][0]["securityContext"] = {"privileged": True}
        pod["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]

    warm = lambda n: n.type == "kubernetes:apps/v1:Deployment" and n.name.startswith("warm-")  # noqa: E731
    broken = changed(graphs["aws-dev"], warm, privileged)
    # The warm placeholders live in the GPU software's namespace: allowed there by default, not elsewhere.
    assert run(security.check_workloads, broken) == []
    messages = run(security.check_workloads, broken, {"systemNamespaces": ["kube-system"]})
    assert len(messages) == 2 and "is privileged" in messages[0] and "host paths (host)" in messages[1]


def test_security_policies_are_in_the_pack() -> None:
    from policies.guardrails.pack import POLICIES

    names = {p.name for p in POLICIES}
    assert {
        "gpu-nodes-hardened",
        "cluster-endpoint-restricted",
        "storage-protected",
        "workloads-least-privilege",
    } <= names
