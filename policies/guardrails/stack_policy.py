"""Build a mandatory-by-default stack policy from a pure ``check`` over the stack's graph.

Every deployability policy has the same shape: ``(graph, config) -> [(urn, message)]``,
a pure function tests call on a captured (and mutated) plan, wrapped once so the pack
reports each finding against the resource it names. Each policy builds its own graph:
policies keep no state between them.
"""

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .graph import Graph, from_policy_resources

Finding = tuple[str, str]
"""(URN of the resource at fault, or "" for the stack; message)."""
Check = Callable[[Graph, Mapping[str, Any]], list[Finding]]


def stack_graph(args: StackValidationArgs) -> Graph:
    """The stack as each policy sees it. Built per policy, no state shared between policies: pulumi-policy hands
    every stack policy its own freshly deserialized resources anyway, and turning them into a graph costs little
    next to that (``benchmarks/policies.py``)."""
    return Graph(from_policy_resources(args.resources))


def stack_policy(
    name: str,
    description: str,
    check: Check,
    config_properties: dict[str, Any] | None = None,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        # Sorted: the engine registers resources in the order their inputs resolve, and the report must not follow.
        for urn, message in sorted(check(stack_graph(args), args.get_config() or {})):
            report_violation(message, urn or None)

    return StackValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        validate=validate,
        config_schema=PolicyConfigSchema(properties=config_properties or {}),
    )
