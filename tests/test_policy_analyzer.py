"""The pack's analyzer (the stack deserialized once per analysis) answers exactly what pulumi-policy's own does:
every example stack, with its policy config, and a stack with values unknown in preview, through both."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

# What the engine sends for values unknown in preview.
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE as UNKNOWN_NUMBER
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE as UNKNOWN_OBJECT

from infra.plan import policy_runner
from policies.guardrails.analyzer import PINNED, SharedStackAnalyzer
from policies.guardrails.pack import LEVEL, NAME, POLICIES
from tests.conftest import ROOT, STACKS


def _resource_requests(registrations: list[Any]) -> list[Any]:
    """What the engine sends ``Analyze`` for each resource."""
    by_urn = {r.urn: r for r in registrations}
    return [
        analyzer_pb2.AnalyzeRequest(properties=reg.properties, **policy_runner.resource_fields(reg, by_urn))
        for reg in registrations
    ]


def _request(registrations: list[Any]) -> Any:
    by_urn = {r.urn: r for r in registrations}
    resources = []
    for reg in registrations:
        fields = policy_runner.resource_fields(reg, by_urn)
        resource = analyzer_pb2.AnalyzerResource(
            properties=reg.properties, parent=reg.parent, dependencies=reg.dependencies, **fields
        )
        for key, urns in reg.property_dependencies.items():
            resource.propertyDependencies[key].urns.extend(urns)
        resources.append(resource)
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


def _analyze(
    servicer_type: type, request: Any, user_config: dict[str, Any] | None, resources: list[Any] | None = None
) -> list[Any]:
    servicer = servicer_type(NAME, "0.0.1", POLICIES, LEVEL)
    levels, props = policy_runner.reconcile(servicer.GetAnalyzerInfo(empty_pb2.Empty(), None), user_config)
    configure = analyzer_pb2.ConfigureAnalyzerRequest()
    for name in levels:
        properties = struct_pb2.Struct()
        properties.update(props[name])
        configure.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(
                enforcementLevel=policy_runner._LEVEL_TO_PROTO[levels[name]], properties=properties
            )
        )
    servicer.Configure(configure, None)
    responses = [servicer.Analyze(r, None) for r in resources or []] + [servicer.AnalyzeStack(request, None)]
    return [
        item
        for response in responses
        for item in (
            *(json.dumps(_dict(d), sort_keys=True) for d in response.diagnostics),
            *map(str, response.not_applicable),
        )
    ]


def _dict(message: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(message)


@pytest.mark.parametrize("stack", STACKS)
def test_same_diagnostics_as_pulumi_policy_on_every_example(stack: str, plan: Any) -> None:
    from tests.conftest import fresh_raw

    capture = plan(fresh_raw(stack), stack if stack.endswith(("-inference", "-research")) else "test")
    path = ROOT / "stacks" / f"policy-config.{stack}.json"
    config = json.loads(path.read_text()) if path.exists() else None
    request, resources = _request(capture.registrations), _resource_requests(capture.registrations)
    ours = _analyze(SharedStackAnalyzer, request, config, resources)
    assert ours == _analyze(_PolicyAnalyzerServicer, request, config, resources)
    # Not vacuous: the comparison covers what the stacks report (three of them an open development endpoint).
    if stack in ("aws-dev", "aws-train", "gcp-dev"):
        assert any("cluster-endpoint-restricted" in d for d in ours)


def test_same_diagnostics_when_values_are_unknown_in_preview(plan: Any) -> None:
    from tests.conftest import fresh_raw

    registrations = plan(fresh_raw("aws-dev")).registrations
    request = _request(registrations)
    for resource in request.resources:
        if resource.type == "aws:eks/nodeGroup:NodeGroup":
            resource.properties["scalingConfig"]["maxSize"] = UNKNOWN_NUMBER  # what the engine sends for an unknown
    config = {"gpu-cost-ceiling": {"monthlyBudget": 1}}
    ours = _analyze(SharedStackAnalyzer, request, config)
    assert ours == _analyze(_PolicyAnalyzerServicer, request, config)
    assert any("can't run policy 'gpu-cloud-quota'" in d and "during preview" in d for d in ours)


@pytest.fixture(scope="module")
def bad_workload() -> Any:
    from tests.test_policies import plan_with_bad_workload

    return plan_with_bad_workload()


def test_resource_policies_report_as_the_library_reports(bad_workload: Any) -> None:
    registrations = bad_workload.registrations
    request, resources = _request(registrations), _resource_requests(registrations)
    for config in (None, {"gpu-limits": "advisory", "pinned-versions": "disabled"}):
        ours = _analyze(SharedStackAnalyzer, request, config, resources)
        assert ours == _analyze(_PolicyAnalyzerServicer, request, config, resources)
        assert any('"policyName": "gpu-limits"' in d for d in ours)
    # A value unknown in preview: the library's advisory "can't run", from each resource policy that reads it.
    for resource in resources:
        if resource.type == "kubernetes:apps/v1:Deployment":
            resource.properties["spec"]["template"]["spec"]["containers"][0]["resources"] = UNKNOWN_OBJECT
    ours = _analyze(SharedStackAnalyzer, request, None, resources)
    assert ours == _analyze(_PolicyAnalyzerServicer, request, None, resources)
    assert any("can't run policy 'gpu-limits'" in d for d in ours)


def test_disabled_policies_are_skipped_as_the_library_skips_them(plan: Any) -> None:
    from tests.conftest import fresh_raw

    request = _request(plan(fresh_raw("aws-dev")).registrations)
    config = {"all": "disabled"}
    assert _analyze(SharedStackAnalyzer, request, config) == _analyze(_PolicyAnalyzerServicer, request, config) == []


def test_the_pack_serves_it_only_with_the_pinned_pulumi_policy() -> None:
    from importlib.metadata import version

    assert version("pulumi-policy") == PINNED
    assert f"pulumi-policy=={PINNED}" in (ROOT / "policies" / "requirements.txt").read_text()
    assert "install()" in (ROOT / "policies" / "__main__.py").read_text()
    assert EnforcementLevel.MANDATORY == LEVEL


def _probe(name: str) -> Any:
    """A stack policy that reports, per resource, how it is wired and what it holds: equal reports from both
    analyzers mean equal resources; equal reports before and after the pack's policies mean none wrote to them."""
    from pulumi_policy import StackValidationPolicy

    from policies.guardrails.graph import plain

    def validate(args: Any, report: Any) -> None:
        for r in args.resources:
            wiring = {
                "type": r.resource_type,
                "parent": r.parent.urn if r.parent else "",
                "dependencies": sorted(d.urn for d in r.dependencies),
                "propertyDependencies": {
                    k: sorted(d.urn for d in v) for k, v in sorted(r.property_dependencies.items())
                },
                "provider": r.provider.urn if r.provider else "",
                "protect": bool(r.opts.protect),
                "props": plain(r.props),
            }
            report(json.dumps(wiring, sort_keys=True, default=str), r.urn)

    return StackValidationPolicy(name=name, description=name, validate=validate)


def _probe_reports(servicer_type: type, request: Any, policies: list[Any]) -> dict[str, list[str]]:
    servicer = servicer_type(NAME, "0.0.1", policies, LEVEL)
    out: dict[str, list[str]] = {}
    for d in servicer.AnalyzeStack(request, None).diagnostics:
        if d.policyName.startswith("probe-"):
            out.setdefault(d.policyName, []).append(f"{d.urn} {d.message.split(chr(10), 1)[1]}")  # minus description
    return out


@pytest.mark.parametrize("stack", ["aws-dev", "gcp-dev"])
def test_resources_are_wired_as_the_library_wires_them_and_never_written(stack: str, plan: Any) -> None:
    from tests.conftest import fresh_raw

    request = _request(plan(fresh_raw(stack)).registrations)
    policies = [_probe("probe-first"), *POLICIES, _probe("probe-last")]
    ours = _probe_reports(SharedStackAnalyzer, request, policies)
    assert _PolicyAnalyzerServicer is not SharedStackAnalyzer  # the baseline is the library's own class
    assert ours["probe-first"] == _probe_reports(_PolicyAnalyzerServicer, request, policies)["probe-first"]
    assert ours["probe-first"] == ours["probe-last"]  # the pack's 20 stack policies between them wrote nothing
    wired = [json.loads(m.split(" ", 1)[1]) for m in ours["probe-first"]]
    assert any(w["parent"] for w in wired) and any(w["propertyDependencies"] for w in wired)
