"""The deployability policies on captured plans: every example stack passes, and each broken graph is refused
with a message that says what to change. Graphs are the real program's registrations, mutated one way per test."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from policies.guardrails.deploy import (
    MODULES,
    cluster_ready,
    crd_order,
    eks_zones,
    extended_resources,
    karpenter_ami,
    physical_names,
    pool_scaling,
    webhook_firewall,
)
from policies.guardrails.graph import Graph, Node
from tests.conftest import ROOT, STACKS

CHECKS: dict[str, Callable[[Graph, dict[str, Any]], list[tuple[str, str]]]] = {m.NAME: m.check for m in MODULES}


def mutate(nodes: list[Node], match: Callable[[Node], bool], **changes: Any) -> list[Node]:
    """A copy of the graph where every node ``match`` selects gets ``changes`` (a dict of field -> value or
    field -> function of the old value)."""
    hit = 0
    out = []
    for node in nodes:
        if match(node):
            hit += 1
            fields = {k: (v(getattr(node, k)) if callable(v) else v) for k, v in changes.items()}
            node = dataclasses.replace(node, **fields)
        out.append(node)
    assert hit, "the mutation matched nothing: the test no longer builds the broken graph it names"
    return out


def with_props(path: tuple[str, ...], value: Any) -> Callable[[Any], Any]:
    def change(props: Any) -> Any:
        props = copy.deepcopy(dict(props))
        target = props
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
        return props

    return change


def messages(check: str, nodes: list[Node], config: dict[str, Any] | None = None) -> list[str]:
    return [message for _, message in CHECKS[check](Graph(nodes), config or {})]


def of_type(type_: str) -> Callable[[Node], bool]:
    return lambda n: n.type == type_


def named(name: str) -> Callable[[Node], bool]:
    return lambda n: n.name == name


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_example_stacks_are_deployable(graphs: dict[str, list[Node]], stack: str, check: str) -> None:
    # With the stack's own policy config, as the plan uses it (a team stack names the CRDs its platform installs).
    path = ROOT / "stacks" / f"policy-config.{stack}.json"
    config = json.loads(path.read_text()).get(check, {}) if path.exists() else {}
    assert messages(check, graphs[stack], config) == []


# ---------------------------------------------------------------- CRDs and webhooks first


def test_gke_gateway_objects_need_the_clusters_gateway_api(graphs: dict[str, list[Node]]) -> None:
    """GKE serves the Gateway API and its own policies (networking.gke.io) only with gatewayApiConfig: without it
    the Gateway, HTTPRoute and policies fail with "no matches for kind"."""
    assert messages("crds-before-custom-resources", graphs["gcp-dev"]) == []
    broken = mutate(
        graphs["gcp-dev"],
        of_type("gcp:container/cluster:Cluster"),
        props=lambda p: {k: v for k, v in p.items() if k != "gatewayApiConfig"},
    )
    found = messages("crds-before-custom-resources", broken)
    kinds = {m.split(" ", 1)[0] for m in found}
    assert {"Gateway", "HTTPRoute", "HealthCheckPolicy", "GCPBackendPolicy", "GCPGatewayPolicy"} <= kinds
    assert all("gatewayApiConfig.channel CHANNEL_STANDARD" in m for m in found)


def test_custom_resource_not_waiting_for_its_crd_release(graphs: dict[str, list[Node]]) -> None:
    stack = graphs["local"]
    root = stack[0].urn
    broken = mutate(stack, lambda n: n.name == "gpu-queues-lq-research", dependencies=(), parent=root)
    (message,) = messages(crd_order.NAME, broken)
    assert "LocalQueue gpu-queues-lq-research does not wait for Helm release kueue" in message
    assert "depends_on" in message


def test_custom_resource_whose_crd_nothing_installs(graphs: dict[str, list[Node]]) -> None:
    broken = [n for n in graphs["local"] if n.name != "gpu-queues-kueue"]
    found = messages(crd_order.NAME, broken)
    assert found and all("no Helm release in this stack installs the CRDs of kueue.x-k8s.io" in m for m in found)
    assert messages(crd_order.NAME, broken, {"externalCrdGroups": ["kueue.x-k8s.io"]}) == []


def test_object_admitted_by_a_webhook_waits_for_it(graphs: dict[str, list[Node]]) -> None:
    stack = graphs["local"]
    job = Node(
        urn="urn:pulumi:local::gpu-platform::kubernetes:batch/v1:Job::train",
        type="kubernetes:batch/v1:Job",
        name="train",
        props={"metadata": {"name": "train", "labels": {"kueue.x-k8s.io/queue-name": "gpu"}}},
        parent=stack[0].urn,
    )
    (message,) = messages(crd_order.NAME, [*stack, job])
    assert "carries kueue.x-k8s.io/queue-name" in message and "make it depend on the release" in message
    kueue = next(n for n in stack if n.name == "gpu-queues-kueue")
    assert messages(crd_order.NAME, [*stack, dataclasses.replace(job, dependencies=(kueue.urn,))]) == []


# ---------------------------------------------------------------- a usable cluster first


@pytest.mark.parametrize("stack", ["aws-dev", "gcp-dev"])
def test_kubernetes_objects_racing_the_cluster(graphs: dict[str, list[Node]], stack: str) -> None:
    broken = mutate(graphs[stack], of_type("pulumi:providers:kubernetes"), dependencies=())
    found = messages(cluster_ready.NAME, broken)
    assert found and all("would be applied before the cluster is usable" in m for m in found)
    assert any("-system" in m for m in found)
    assert all("make the Kubernetes provider depend on them" in m for m in found)


def test_eks_objects_wait_for_the_admins_access(graphs: dict[str, list[Node]]) -> None:
    policy_type = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    (association,) = [n for n in graphs["aws-dev"] if n.type == policy_type]
    broken = mutate(
        graphs["aws-dev"],
        of_type("pulumi:providers:kubernetes"),
        dependencies=lambda d: tuple(u for u in d if u != association.urn),
    )
    found = messages(cluster_ready.NAME, broken)
    assert found and all(association.name in m for m in found)


def test_existing_cluster_has_nothing_to_wait_for(graphs: dict[str, list[Node]]) -> None:
    assert cluster_ready.readiness(Graph(graphs["local"])) == []


# ---------------------------------------------------------------- pools that scale


def test_managed_pool_without_cluster_autoscaler(graphs: dict[str, list[Node]]) -> None:
    broken = [n for n in graphs["aws-dev"] if n.name != "cluster-autoscaler-release"]
    found = messages(pool_scaling.NAME, broken)
    assert any("node group l4-spot may grow from 0 to 8 nodes but nothing scales" in m for m in found)


def test_pool_from_zero_without_template_tags(graphs: dict[str, list[Node]]) -> None:
    untag = with_props(("tags",), {"managed-by": "pulumi"})
    broken = mutate(graphs["aws-dev"], named("pool-l4-spot-nodes"), props=untag)
    (message,) = messages(pool_scaling.NAME, broken)
    assert "starts at zero nodes" in message and "k8s.io/cluster-autoscaler/node-template/resources/" in message


def test_autoscaler_minor_must_match_the_cluster(graphs: dict[str, list[Node]]) -> None:
    broken = mutate(
        graphs["aws-dev"], named("cluster-autoscaler-release"), props=with_props(("values", "image", "tag"), "v1.30.0")
    )
    (message,) = messages(pool_scaling.NAME, broken)
    assert "Cluster Autoscaler image v1.30.0 does not match the cluster's Kubernetes 1.35" in message


def test_karpenter_nodepool_without_controller(graphs: dict[str, list[Node]]) -> None:
    broken = [
        n for n in graphs["aws-dev"] if n.name != "karpenter-controller" or n.type != "kubernetes:helm.sh/v3:Release"
    ]
    assert any("needs the Karpenter controller" in m for m in messages(pool_scaling.NAME, broken))


def test_gke_pool_without_autoscaling(graphs: dict[str, list[Node]]) -> None:
    broken = mutate(
        graphs["gcp-dev"], named("pool-h100-nodes"), props=lambda p: {k: v for k, v in p.items() if k != "autoscaling"}
    )
    (message,) = messages(pool_scaling.NAME, broken)
    assert "has no nodes and no autoscaling" in message


# ---------------------------------------------------------------- advertised resources


def test_quota_on_a_resource_nothing_advertises(graphs: dict[str, list[Node]]) -> None:
    broken = mutate(
        graphs["local"],
        named("team-research-gpu-quota"),
        props=with_props(("spec", "hard"), {"requests.nvidia.com/gpu.shared": "2"}),
    )
    (message,) = messages(extended_resources.NAME, broken)
    assert "names nvidia.com/gpu.shared, which nothing in this stack advertises" in message
    assert messages(extended_resources.NAME, broken, {"externalResources": ["nvidia.com/gpu.shared"]}) == []


def test_efa_interfaces_need_the_efa_plugin(graphs: dict[str, list[Node]]) -> None:
    broken = [n for n in graphs["aws-train"] if n.name != "efa-device-plugin-release"]
    (message,) = messages(extended_resources.NAME, broken)
    assert "attaches EFA interfaces, but no EFA device plugin is installed" in message


def test_pod_requesting_efa_without_plugin(graphs: dict[str, list[Node]]) -> None:
    pod = Node(
        urn="urn:pulumi:aws-dev::gpu-platform::kubernetes:core/v1:Pod::nccl",
        type="kubernetes:core/v1:Pod",
        name="nccl",
        props={"spec": {"containers": [{"name": "c", "resources": {"limits": {"vpc.amazonaws.com/efa": 1}}}]}},
    )
    (message,) = messages(extended_resources.NAME, [*graphs["aws-dev"], pod])
    assert "vpc.amazonaws.com/efa" in message and "containers[c].resources.limits" in message


def test_mixed_mig_resources_come_from_the_mig_config(graphs: dict[str, list[Node]]) -> None:
    offered = extended_resources.advertised(Graph(graphs["aws-train"]))
    assert {"nvidia.com/gpu", "vpc.amazonaws.com/efa"} <= offered


# ---------------------------------------------------------------- names


def test_node_group_name_too_long(graphs: dict[str, list[Node]]) -> None:
    broken = mutate(graphs["aws-dev"], named("pool-l4-spot-nodes"), props=with_props(("nodeGroupName",), "x" * 64))
    (message,) = messages(physical_names.NAME, broken)
    assert "EKS node group name" in message and "64 characters; allowed: 1-63" in message


def test_two_kubernetes_objects_with_one_name(graphs: dict[str, list[Node]]) -> None:
    stack = graphs["local"]
    namespace = next(n for n in stack if n.name == "team-research-namespace")
    twin = dataclasses.replace(namespace, urn=namespace.urn + "-twin", name="twin")
    (message,) = messages(physical_names.NAME, [*stack, twin])
    assert "Namespace 'team-research' is also used by team-research-namespace" in message


def test_service_account_id_rules(graphs: dict[str, list[Node]]) -> None:
    broken = mutate(graphs["gcp-dev"], named("pool-h100-sa"), props=with_props(("accountId",), "h100"))
    (message,) = messages(physical_names.NAME, broken)
    assert "service account id 'h100' is 4 characters; allowed: 6-30" in message


def test_auto_named_role_too_long(graphs: dict[str, list[Node]]) -> None:
    broken = mutate(graphs["aws-dev"], named("karpenter-controller"), name="k" * 60)
    found = messages(physical_names.NAME, broken)
    assert any("auto-named from" in m and "Pulumi appends 8 characters" in m for m in found)


# ---------------------------------------------------------------- Karpenter AMI, webhooks, zones


def test_karpenter_ami_older_than_the_cluster_version(graphs: dict[str, list[Node]]) -> None:
    old = with_props(("spec", "amiSelectorTerms"), [{"alias": "al2023@v20250410"}])
    broken = mutate(graphs["aws-dev"], of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"), props=old)
    (message,) = messages(karpenter_ami.NAME, broken)
    assert "'al2023@v20250410' predates EKS 1.35" in message and "launch nothing" in message


def test_private_gke_without_webhook_firewall(graphs: dict[str, list[Node]]) -> None:
    broken = [n for n in graphs["gcp-dev"] if n.type != "gcp:compute/firewall:Firewall"]
    found = messages(webhook_firewall.NAME, broken)
    # Kueue's visibility API and webhook, Trainer's, KServe's and KEDA's webhooks and KEDA's metrics API: one
    # message per (release, port). cert-manager's webhook listens on 10250, which GKE opens to the control plane.
    assert len(found) == 6 and all("from 172.16.0.0/28" in m for m in found)
    kueue = sorted(m for m in found if m.startswith("Helm release kueue"))
    (trainer,) = [m for m in found if m.startswith("Helm release kubeflow-trainer")]
    assert "port 8082" in kueue[0] and "port 9443" in kueue[1] and "tcp:9443" in trainer
    assert any(m.startswith("Helm release keda") and "tcp:6443" in m for m in found)
    assert not any(m.startswith("Helm release cert-manager") for m in found)


def test_firewall_must_open_the_webhook_port(graphs: dict[str, list[Node]]) -> None:
    narrow = with_props(("allows",), [{"protocol": "tcp", "ports": ["8080-8090"]}])
    broken = mutate(graphs["gcp-dev"], of_type("gcp:compute/firewall:Firewall"), props=narrow)
    found = messages(webhook_firewall.NAME, broken)  # the range covers 8082 only: 9443 (Kueue, Trainer, KServe,
    # KEDA) and 6443 (KEDA's metrics API) stay closed
    assert len(found) == 5 and sum("tcp:9443" in m for m in found) == 4


def test_control_plane_subnet_in_a_zone_eks_refuses(graphs: dict[str, list[Node]]) -> None:
    stack = graphs["aws-dev"]
    (cluster,) = [n for n in stack if n.type == "aws:eks/cluster:Cluster"]
    first = cluster.property_dependencies["vpcConfig"][0]
    broken = mutate(stack, lambda n: n.urn == first, props=with_props(("availabilityZoneId",), "use1-az3"))
    (message,) = messages(eks_zones.NAME, broken)
    assert "use1-az3, where EKS refuses control-plane subnets" in message


def test_control_plane_needs_two_zones(graphs: dict[str, list[Node]]) -> None:
    stack = graphs["aws-dev"]
    (cluster,) = [n for n in stack if n.type == "aws:eks/cluster:Cluster"]
    subnets = set(cluster.property_dependencies["vpcConfig"])
    broken = mutate(stack, lambda n: n.urn in subnets, props=with_props(("availabilityZoneId",), "use1-az1"))
    (message,) = messages(eks_zones.NAME, broken)
    assert "at least two zones" in message


# ---------------------------------------------------------------- through the real pack


def test_pack_refuses_a_broken_graph_over_grpc(plan: Any) -> None:
    """The same checks run in `pulumi preview --policy-pack policies`: the analyzer protocol, mandatory."""
    from infra.plan.policy_runner import run_policies
    from tests.conftest import stack_raw

    capture = plan(copy.deepcopy(stack_raw("aws-dev")), "aws-dev")
    for reg in capture.registrations:
        if reg.type == "pulumi:providers:kubernetes":
            reg.dependencies = []
    run = run_policies(capture.registrations, "aws-dev", ROOT / "policies")
    found = [v for v in run.violations if v.policy == cluster_ready.NAME]
    assert found and all(v.enforcement_level == "mandatory" for v in found)
    assert any(v.urn.endswith("::gpu-queues-kueue") for v in found)
    assert {v.policy for v in run.violations} == {
        cluster_ready.NAME,
        "gpu-cloud-quota-unknown",
        "cluster-endpoint-restricted",  # aws-dev's development endpoint, advisory
    }


def test_duplicate_urns_fail_the_plan_as_the_engine_would() -> None:
    import pulumi_kubernetes as k8s

    from infra.plan.engine import ProgramError, run_program

    def program() -> None:
        for _ in range(2):
            k8s.core.v1.Namespace("same", metadata={"name": "same"})

    with pytest.raises(ProgramError, match=r"duplicate resource URN\(s\) urn:pulumi:dup::gpu-platform::"):
        run_program(program, "dup")
