"""Shared fixtures: the example stacks and a plan runner under the mock engine.

Everything here reads the repository and installed packages only; checks against the upstream
reference data beside the repository live in ``conformance/`` (``python3 tasks.py conformance``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.plan.engine import Capture, Registration
from infra.plan.references import plan_config
from policies.guardrails.graph import Node
from stacks.loader import ConfigError, load_file, parse, read_stack_file
from stacks.model import PlatformConfig

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def stack_raw(stack: str) -> dict[str, Any]:
    return read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")


def fresh_raw(stack: str) -> dict[str, Any]:
    """An example stack's raw config, a fresh copy to mutate."""
    return copy.deepcopy(stack_raw(stack))


def config_errors(config: dict[str, Any]) -> list[str]:
    """Every problem ``parse`` reports for a raw config (which must have some)."""
    with pytest.raises(ConfigError) as info:
        parse(config)
    return [str(i) for i in info.value.issues]


@pytest.fixture
def local_raw() -> dict[str, Any]:
    """The local example stack's raw config, a fresh copy per test to mutate."""
    return copy.deepcopy(stack_raw("local"))


def _key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True)


@functools.cache
def _example_keys() -> dict[str, str]:
    return {_key(stack_raw(stack)): stack for stack in STACKS}


_EXAMPLE_PLANS: dict[tuple[str, str], Capture] = {}
"""Plans of unchanged example stacks, once per test process: many tests read the same one (a Capture's inputs are
deserialized afresh on every read, so no test can change what another sees)."""


@pytest.fixture
def plan() -> Callable[[dict[str, Any] | PlatformConfig], Capture]:
    """Run the real program for a raw config (or a parsed one) under the mock engine."""

    def run(config: dict[str, Any] | PlatformConfig, stack: str = "test") -> Capture:
        if isinstance(config, dict) and (example := _example_keys().get(_key(config))) is not None:
            if (example, stack) not in _EXAMPLE_PLANS:
                _EXAMPLE_PLANS[example, stack] = plan_config(parse(config), stack)
            return _EXAMPLE_PLANS[example, stack]
        parsed = config if isinstance(config, PlatformConfig) else parse(config)
        return plan_config(parsed, stack)  # a team stack's StackReference is answered offline

    return run


def by_type(capture: Capture, type_: str) -> list[Registration]:
    return [r for r in capture.registrations if r.type == type_]


def nodes_of(capture: Capture) -> list[Node]:
    """The captured registrations as the policies see them in AnalyzeStack."""
    return [
        Node(
            urn=r.urn,
            type=r.type,
            name=r.name,
            props=r.inputs(),
            parent=r.parent,
            dependencies=tuple(r.dependencies),
            provider=r.provider.rsplit("::", 1)[0] if r.provider else "",
            property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
            protect=r.protect,
        )
        for r in capture.registrations
    ]


@pytest.fixture(scope="session")
def graphs() -> dict[str, list[Node]]:
    """Every example stack's graph as the policies see it, planned once per test process (tests change copies)."""
    from infra.plan.references import plan_config

    out = {}
    for stack in STACKS:
        out[stack] = nodes_of(plan_config(load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), stack))
    return out


def changed(
    nodes: list[Node], match: Callable[[Node], bool], edit: Callable[[dict[str, Any]], None], **fields: Any
) -> list[Node]:
    """A copy of a policy graph where ``edit`` changed (a deep copy of) the properties of every node ``match``
    selects, and ``fields`` replaced others of its fields; fails when nothing matched (the test would no longer
    build the graph it names)."""
    out, hit = [], 0
    for node in nodes:
        if match(node):
            props = copy.deepcopy(dict(node.props))
            edit(props)
            node = dataclasses.replace(node, props=props, **fields)
            hit += 1
        out.append(node)
    assert hit, "the change matched nothing: the test no longer builds the graph it names"
    return out
