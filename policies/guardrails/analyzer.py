"""pulumi-policy's analyzer, deserializing the stack once per ``AnalyzeStack`` instead of once per stack policy
(and a resource once per ``Analyze`` instead of once per resource policy).

pulumi-policy 1.21 turns every resource of the request into a ``PolicyResource`` again for each stack policy
(protobuf to JSON, then unknown-checking proxies): with the pack's 20 stack policies that conversion is most of
the time a preview spends in the pack (``benchmarks/policies.py``). This servicer does exactly what the
library's ``AnalyzeStack`` does (same skipped levels, same diagnostics for unknown values and not-applicable
policies), converting the request once; each policy gets its own ``StackValidationArgs`` and list, over the same resource
objects: a policy that wrote to them would be seen by the next, so the pack's policies only read them
(``tests/test_policy_analyzer.py`` checks that a whole analysis leaves every resource as it was, and runs the
example stacks through both analyzers comparing every diagnostic and how each resource is wired). ``__main__`` installs it before the
``PolicyPack`` is built; the gRPC protocol and everything the CLI sees stay the same.
"""

from __future__ import annotations

import asyncio
from inspect import isawaitable
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy import policy as library
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

PINNED = "1.21.0"
"""The pulumi-policy version whose ``AnalyzeStack`` this one follows (policies/requirements.txt pins it)."""

_Servicer: Any = library._PolicyAnalyzerServicer


class SharedStackAnalyzer(_Servicer):  # type: ignore[misc]
    def _stack_resources(self, request: Any) -> list[PolicyResource]:
        resources: dict[str, PolicyResource] = {}
        links: list[tuple[PolicyResource, Any]] = []
        for r in request.resources:
            props = unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(r.properties)))
            resource = PolicyResource(
                r.type,
                props,
                r.urn,
                r.name,
                self._get_resource_options(r),
                self._get_provider_resource(r),
                None,
                [],
                {},
            )
            resources[r.urn] = resource
            links.append((resource, r))
        for resource, r in links:
            if r.parent in resources:
                resource.parent = resources[r.parent]
            resource.dependencies.extend(resources[d] for d in r.dependencies if d in resources)
            for key, deps in r.propertyDependencies.items():
                resource.property_dependencies[key] = [resources[d] for d in deps.urns if d in resources]
        return [resource for resource, _ in links]

    def _pack(self) -> tuple[str, str]:
        return self._PolicyAnalyzerServicer__policy_pack_name, self._PolicyAnalyzerServicer__policy_pack_version

    def Analyze(self, request: Any, _context: Any) -> Any:
        """One resource, every resource policy: the library's ``Analyze``, deserializing the resource once."""
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        pack, version = self._pack()
        resource: tuple[Any, Any, Any] | None = None
        for policy in self._PolicyAnalyzerServicer__policies:
            level = self._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(policy, ResourceValidationPolicy):
                continue
            if not policy.has_validation():
                reason = "Policy does not implement validate"
                response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name, reason=reason))
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY  # a violation after remediation is reported as mandatory
            report = self._create_report_violation(response, policy.name, policy.description, level, policy.severity)
            if resource is None:
                props = unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(request.properties)))
                resource = (props, self._get_resource_options(request), self._get_provider_resource(request))
            props, opts, provider = resource
            config = self._get_policy_config(policy.name)
            tags = self._PolicyAnalyzerServicer__stack_tags
            args = ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider, config, tags)
            self._run(policy, args, report, response, pack, version)
        return response

    def _run(self, policy: Any, args: Any, report: Any, response: Any, pack: str, version: str) -> None:
        """Validate as the library does: an unknown value is an advisory "can't run during preview"."""
        try:
            result = policy.validate(args, report)
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                loop.run_until_complete(asyncio.Task(result, loop=loop))  # type: ignore[arg-type]
                loop.close()
        except UnknownValueError as e:
            response.diagnostics.append(
                proto.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=pack,
                    policyPackVersion=version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack '{pack}@v{version}' during preview: "
                        f"{e.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._map_enforcement_level(EnforcementLevel.ADVISORY),
                )
            )
        except library._NotApplicableError as e:
            response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or ""))

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        pack, version = self._pack()
        resources: list[PolicyResource] | None = None
        for policy in self._PolicyAnalyzerServicer__policies:
            level = self._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(policy, StackValidationPolicy):
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY  # stack policies cannot remediate: the library treats it so
            report = self._create_report_violation(response, policy.name, policy.description, level, policy.severity)
            if resources is None:
                resources = self._stack_resources(request)
            args = StackValidationArgs(
                list(resources), self._get_policy_config(policy.name), self._PolicyAnalyzerServicer__stack_tags
            )
            self._run(policy, args, report, response, pack, version)
        return response


def install() -> None:
    """Make ``PolicyPack`` serve ``SharedStackAnalyzer`` (with the pinned pulumi-policy only; another keeps its own)."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("pulumi-policy")
    except PackageNotFoundError:
        found = "unknown"
    if found != PINNED:
        # Another version: keep the library's own analyzer rather than follow code this was not checked on.
        print(f"gpu-platform: pulumi-policy {found}, not {PINNED}: using its own (slower) analyzer", file=sys.stderr)
        return
    library._PolicyAnalyzerServicer = SharedStackAnalyzer  # type: ignore[misc]
