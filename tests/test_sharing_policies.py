"""The GPU-sharing policies on captured plans: MIG profiles from the allowlist, training off time-sliced pools
unless the stack's policy config allows it."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from policies.guardrails import sharing
from policies.guardrails.graph import Graph, Node
from tests.conftest import STACKS


def run(check: Any, nodes: list[Node], config: dict[str, Any] | None = None) -> list[str]:
    return [m for _, m in check(Graph(nodes), config or {})]


@pytest.mark.parametrize("stack", STACKS)
def test_examples_use_known_mig_profiles(graphs: dict[str, list[Node]], stack: str) -> None:
    assert run(sharing.check_mig, graphs[stack]) == []


def test_mig_profiles_found_in_layouts(graphs: dict[str, list[Node]]) -> None:
    found = {profile for _, profile in sharing.mig_profiles(Graph(graphs["aws-train"]))}
    assert found == {"1g.10gb"}
    assert "1g.10gb" in sharing.KNOWN_PROFILES and "7g.80gb" in sharing.KNOWN_PROFILES


def test_mig_profile_outside_the_allowlist(graphs: dict[str, list[Node]]) -> None:
    (message,) = run(sharing.check_mig, graphs["aws-train"], {"allowedProfiles": ["3g.40gb", "7g.80gb"]})
    assert "asks for MIG profile 1g.10gb; allowed: 3g.40gb, 7g.80gb" in message


def test_unknown_mig_profile_on_a_gke_pool(graphs: dict[str, list[Node]]) -> None:
    def partition(node: Node) -> Node:
        props = copy.deepcopy(dict(node.props))
        props["nodeConfig"]["guestAccelerators"][0]["gpuPartitionSize"] = "9g.99gb"
        return dataclasses.replace(node, props=props)

    nodes = [partition(n) if n.type == sharing.GKE_NODE_POOL and "h100" in n.name else n for n in graphs["gcp-dev"]]
    (message,) = run(sharing.check_mig, nodes)
    assert "asks for MIG profile 9g.99gb" in message


def test_training_on_a_time_sliced_pool(graphs: dict[str, list[Node]]) -> None:
    assert sharing.time_sliced_pools(Graph(graphs["gcp-dev"])) == {"l4-spot"}  # GKE time-sharing
    assert sharing.time_sliced_pools(Graph(graphs["aws-dev"])) == {"a10g"}  # the device plugin's time-slicing
    (message,) = run(sharing.check_training, graphs["gcp-dev"])
    assert "TrainJob" in message and "pool l4-spot, whose GPUs are time-sliced" in message
    assert run(sharing.check_training, graphs["gcp-dev"], {"allowTimeSlicedTraining": True}) == []
    assert run(sharing.check_training, graphs["aws-train"]) == []  # whole GPUs


def test_gcp_dev_policy_config_allows_its_fine_tune() -> None:
    import json

    from tests.conftest import ROOT

    config = json.loads((ROOT / "stacks" / "policy-config.gcp-dev.json").read_text())
    assert config["training-not-time-sliced"] == {"allowTimeSlicedTraining": True}
