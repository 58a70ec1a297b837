"""A reviewable snapshot of each example stack's sorted resource graph.

A change to what a stack registers shows up as a diff of tests/snapshots/<stack>.json.
Regenerate on purpose with: UPDATE_SNAPSHOTS=1 python -m pytest -n 0 tests/test_snapshots.py
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from infra.plan.render import resource_record
from stacks.loader import load_file
from tests.conftest import ROOT, STACKS

SNAPSHOTS = ROOT / "tests" / "snapshots"


def graph(stack: str, plan: Any) -> str:
    capture = plan(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)
    records = sorted((resource_record(r) for r in capture.registrations), key=lambda r: r["urn"])
    return json.dumps({"resources": records, "outputs": capture.outputs}, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("stack", STACKS)
def test_resource_graph_snapshot(stack: str, plan: Any) -> None:
    path = SNAPSHOTS / f"{stack}.json"
    current = graph(stack, plan)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(current, encoding="utf-8")
    assert path.exists(), f"no snapshot for {stack}; run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == path.read_text(encoding="utf-8"), f"{stack} graph changed; review and regenerate the snapshot"


@pytest.mark.parametrize("stack", STACKS)
def test_graph_is_deterministic(stack: str, plan: Any) -> None:
    assert graph(stack, plan) == graph(stack, plan)


@pytest.mark.parametrize("stack", STACKS)
def test_every_parent_is_registered(stack: str, plan: Any) -> None:
    capture = plan(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack)
    urns = {r.urn for r in capture.registrations}
    assert len(urns) == len(capture.registrations), "duplicate URNs"
    assert all(r.parent in urns for r in capture.registrations if r.parent)
