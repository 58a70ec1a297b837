"""Ephemeral storage on local NVMe, where the pool's machine has it: EKS managed node groups (nodeadm RAID0 on
AL2023, Bottlerocket's ephemeral-storage bootstrap command), Karpenter (instanceStorePolicy RAID0) and GKE (the
Local SSDs A2 Ultra and A3 machine types come with). The pure builders first, then the graphs the stacks plan."""

from __future__ import annotations

import base64
import copy
import email
import tomllib
from typing import Any

import pytest
import yaml

from components.eks_gpu_pool import user_data
from components.gke_gpu_pool import ephemeral_storage_local_ssd
from components.karpenter import KarpenterPool, node_class_spec
from components.pool_spec import PoolSpec, SharingMode, SharingSpec
from tests.conftest import by_type, stack_raw

NVME_TYPES = (
    "g4dn.xlarge",
    "g5.xlarge",
    "g6.xlarge",
    "g6e.48xlarge",
    "p4d.24xlarge",
    "p5.48xlarge",
    "p6-b300.48xlarge",
)
"""Instance types with NVMe instance store (1 to 8 disks), as EC2 reports them."""
NO_STORE_TYPES = ("g5g.xlarge", "g5g.metal", "m6i.large")
"""Graviton g5g (the one catalogued GPU family without instance store) and a type the GPU catalog does not know."""
BOTTLEROCKET_RAID0 = {
    "commands": [
        ["apiclient", "ephemeral-storage", "init"],
        [
            "apiclient",
            "ephemeral-storage",
            "bind",
            "--dirs",
            "/var/lib/containerd",
            "/var/lib/kubelet",
            "/var/log/pods",
        ],
    ],
    "essential": True,
    "mode": "always",
}
"""What Karpenter's Bottlerocket bootstrap writes for instanceStorePolicy RAID0."""


def pool(**kwargs: Any) -> PoolSpec:
    return PoolSpec(name="p", gpu="l4", gpus_per_node=1, max_nodes=2, **kwargs)


def node_configs(mime_text: str) -> list[dict[str, Any]]:
    """The NodeConfig documents of an AL2023 user-data MIME archive, checked to be what nodeadm reads."""
    message = email.message_from_string(mime_text)
    assert message.is_multipart() and message.get_content_type() == "multipart/mixed"
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert parts and {p.get_content_type() for p in parts} == {"application/node.eks.aws"}
    return [doc for p in parts for doc in yaml.safe_load_all(str(p.get_payload())) if doc]


def assert_raid0_node_config(mime_text: str) -> None:
    (config,) = node_configs(mime_text)
    assert (config["apiVersion"], config["kind"]) == ("node.eks.aws/v1alpha1", "NodeConfig")
    assert config["spec"] == {"instance": {"localStorage": {"strategy": "RAID0"}}}
    # No cluster details: the managed node group merges its own NodeConfig (the template names no AMI).


# ---------------------------------------------------------------- pure builders


@pytest.mark.parametrize("instance_type", NVME_TYPES)
def test_al2023_nodes_raid0_their_instance_store(instance_type: str) -> None:
    text = user_data("al2023", pool(), instance_type)
    assert text is not None
    assert_raid0_node_config(text)


@pytest.mark.parametrize("instance_type", NO_STORE_TYPES)
def test_no_instance_store_no_user_data(instance_type: str) -> None:
    assert user_data("al2023", pool(), instance_type) is None
    assert user_data("bottlerocket", pool(), instance_type) is None


@pytest.mark.parametrize("instance_type", NVME_TYPES)
def test_bottlerocket_binds_kubelet_and_containerd_to_the_instance_store(instance_type: str) -> None:
    settings = tomllib.loads(user_data("bottlerocket", pool(), instance_type) or "")["settings"]
    assert settings == {"bootstrap-commands": {"000-mount-instance-storage": BOTTLEROCKET_RAID0}}


def test_bottlerocket_sharing_and_instance_store_in_one_toml() -> None:
    shared = pool(sharing=SharingSpec(SharingMode.TIME_SLICING, replicas=3))
    settings = tomllib.loads(user_data("bottlerocket", shared, "g6.xlarge") or "")["settings"]
    assert settings["bootstrap-commands"]["000-mount-instance-storage"] == BOTTLEROCKET_RAID0
    assert settings["kubelet-device-plugins"]["nvidia"]["time-slicing"]["replicas"] == 3
    only_sharing = tomllib.loads(user_data("bottlerocket", shared, "g5g.xlarge") or "")["settings"]
    assert "bootstrap-commands" not in only_sharing and "kubelet-device-plugins" in only_sharing


@pytest.mark.parametrize(
    ("instance_type", "policy"),
    [*((t, "RAID0") for t in NVME_TYPES), *((t, None) for t in NO_STORE_TYPES)],
)
def test_karpenter_node_class_instance_store_policy(instance_type: str, policy: str | None) -> None:
    spec = node_class_spec(KarpenterPool(pool(), instance_type, vcpus=4), "c", "role")
    assert spec.get("instanceStorePolicy") == policy


@pytest.mark.parametrize(
    ("machine_type", "count"),
    [
        ("a3-highgpu-8g", 16),
        ("a3-megagpu-8g", 16),
        ("a3-ultragpu-8g", 32),
        ("a2-ultragpu-1g", 1),
        ("a2-ultragpu-8g", 8),
        # G2, A2 Standard and N1 come without Local SSD; a3-highgpu-1g's and A4's counts are not sourced.
        ("g2-standard-4", None),
        ("a2-highgpu-1g", None),
        ("n1-standard-8", None),
        ("a3-highgpu-1g", None),
        ("a4-highgpu-8g", None),
    ],
)
def test_gke_ephemeral_storage_on_bundled_local_ssds(machine_type: str, count: int | None) -> None:
    expected = {"local_ssd_count": count} if count else None
    assert ephemeral_storage_local_ssd(machine_type) == expected


# ---------------------------------------------------------------- planned graphs


def launch_template_user_data(capture: Any, pool_name: str) -> str | None:
    (template,) = [
        r.inputs()
        for r in by_type(capture, "aws:ec2/launchTemplate:LaunchTemplate")
        if r.name == f"pool-{pool_name}-template"
    ]
    encoded = template.get("userData")
    return base64.b64decode(encoded).decode() if encoded else None


def test_eks_l4_pool_gets_nodeadm_raid0(plan: Any) -> None:
    text = launch_template_user_data(plan(copy.deepcopy(stack_raw("aws-dev"))), "l4-spot")  # g6.xlarge
    assert text is not None
    assert_raid0_node_config(text)


def test_eks_efa_p5_pool_gets_nodeadm_raid0(plan: Any) -> None:
    text = launch_template_user_data(plan(copy.deepcopy(stack_raw("aws-train"))), "h100-efa")  # p5.48xlarge
    assert text is not None
    assert_raid0_node_config(text)


def test_eks_bottlerocket_pool_gets_the_bootstrap_command(plan: Any) -> None:
    raw = copy.deepcopy(stack_raw("aws-dev"))
    raw["nodePools"][0]["amiType"] = "bottlerocket"
    text = launch_template_user_data(plan(raw), "l4-spot")
    settings = tomllib.loads(text or "")["settings"]
    assert settings["bootstrap-commands"]["000-mount-instance-storage"] == BOTTLEROCKET_RAID0


def test_eks_pool_without_instance_store_has_no_user_data(plan: Any) -> None:
    raw = copy.deepcopy(stack_raw("aws-dev"))
    raw["nodePools"][0]["gpu"] = "t4g"  # g5g.xlarge: Graviton, no instance store
    raw.pop("serving")  # its endpoint is sized for the L4
    capture = plan(raw)
    (group,) = [r.inputs() for r in by_type(capture, "aws:eks/nodeGroup:NodeGroup") if r.name == "pool-l4-spot-nodes"]
    assert group["instanceTypes"] == ["g5g.xlarge"]
    assert launch_template_user_data(capture, "l4-spot") is None


def test_karpenter_a10g_pool_node_class_raid0(plan: Any) -> None:
    capture = plan(copy.deepcopy(stack_raw("aws-dev")))
    (node_class,) = [r.inputs() for r in by_type(capture, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")]
    assert node_class["spec"]["instanceStorePolicy"] == "RAID0"  # g5.xlarge: one 250 GB NVMe disk


def test_gke_pools_by_machine_type(plan: Any) -> None:
    capture = plan(copy.deepcopy(stack_raw("gcp-dev")))
    configs = {
        r.inputs()["name"]: r.inputs()["nodeConfig"]
        for r in by_type(capture, "gcp:container/nodePool:NodePool")
        if r.name.startswith("pool-")
    }
    assert configs["h100"]["machineType"] == "a3-highgpu-8g"
    assert configs["h100"]["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": 16}
    assert configs["l4-spot"]["machineType"] == "g2-standard-4"
    assert "ephemeralStorageLocalSsdConfig" not in configs["l4-spot"]
