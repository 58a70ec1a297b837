"""Build a mandatory-by-default resource policy from a pure ``violations`` function.

Every resource policy here has the same shape: a pure function
``(resource type, props, config) -> messages`` that tests call directly, wrapped
once so the pack reports each message against the analyzed resource.
"""

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

Violations = Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[str]]


def resource_policy(
    name: str,
    description: str,
    violations: Violations,
    config_properties: dict[str, Any],
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in violations(args.resource_type, args.props, args.get_config() or {}):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        validate=validate,
        config_schema=PolicyConfigSchema(properties=config_properties),
    )
