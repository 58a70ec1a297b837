"""Run the policy pack exactly as ``pulumi preview --policy-pack DIR`` does, without the CLI.

The pack is started as the engine starts it (``python -u -m pulumi.policy
<engine-address> .`` in the pack directory, with the ``PULUMI_*`` environment),
prints its gRPC port, and is driven through the analyzer protocol: Handshake,
ConfigureStack, GetAnalyzerInfo, policy-config reconciliation (schema defaults,
then the pack's initial config, then the user's ``--policy-pack-config`` file,
where ``all`` sets every level; then a JSON-schema check), Configure, then
Remediate and Analyze per resource and one AnalyzeStack. The engine address is
a real Engine service that collects the pack's log messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from infra.plan.engine import PROJECT, Registration
from infra.plan.policy_config import (
    PolicyConfigError,
    PolicySpec,
    load_policy_config_file,
)
from infra.plan.policy_config import reconcile as reconcile_specs

_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
START_TIMEOUT_S = 60.0


class PolicyPackError(Exception):
    """The pack could not be started or answered with an error."""


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement_level: str
    urn: str
    message: str
    description: str = ""
    policy_pack: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "policyPack": self.policy_pack,
            "enforcementLevel": self.enforcement_level,
            "urn": self.urn,
            "message": self.message,
            "description": self.description,
        }


@dataclass
class PolicyRun:
    violations: list[Violation]
    policies: dict[str, str]
    """Policy name -> effective enforcement level after reconciliation."""
    config: dict[str, dict[str, Any]]
    """Effective policy config (properties) per policy."""
    log: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement_level == "mandatory"]


class _Engine(engine_pb2_grpc.EngineServicer):
    """The bit of the Pulumi engine a policy pack talks to: its log."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.messages.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        from pulumi.runtime.proto import engine_pb2

        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:
        from pulumi.runtime.proto import engine_pb2

        return engine_pb2.SetRootResourceResponse()


# ---------------------------------------------------------------- policy config


def reconcile(
    info: analyzer_pb2.AnalyzerInfo, user: Mapping[str, Any] | None
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Effective (levels, properties) per policy of the running pack, as the CLI computes them."""
    specs = [
        PolicySpec(
            p.name,
            _PROTO_TO_LEVEL[p.enforcementLevel],
            json_format.MessageToDict(p.configSchema.properties),
            list(p.configSchema.required),
        )
        for p in info.policies
    ]
    initial = {k: _policy_config_to_json(v) for k, v in info.initialConfig.items()}
    return reconcile_specs(specs, initial, user, info.name)


def _policy_config_to_json(config: analyzer_pb2.PolicyConfig) -> dict[str, Any]:
    out: dict[str, Any] = json_format.MessageToDict(config.properties)
    if config.HasField("properties") or config.enforcementLevel:
        out["enforcementLevel"] = _PROTO_TO_LEVEL[config.enforcementLevel]
    return out


# ---------------------------------------------------------------- the run


def _start_pack(
    pack_dir: Path, engine_address: str, stack: str, stack_config: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    env = dict(os.environ)
    env.update(
        {
            "PULUMI_PROJECT": PROJECT,
            "PULUMI_STACK": stack,
            "PULUMI_ORGANIZATION": "organization",
            "PULUMI_DRY_RUN": "true",
            "PULUMI_CONFIG": json.dumps(dict(sorted(stack_config.items()))),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", engine_address, "."],
        cwd=pack_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.isdigit():
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise PolicyPackError(f"policy pack in {pack_dir} did not start: {line} {err.decode()[-2000:]}".strip())
    return proc, int(line)


def _options(reg: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=reg.protect,
        parent=reg.parent,
        ignoreChanges=reg.ignore_changes,
        deleteBeforeReplace=reg.delete_before_replace,
    )


def _provider(reg: Registration, by_urn: Mapping[str, Registration]) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not reg.provider:
        return None
    urn = reg.provider.rsplit("::", 1)[0]
    prov = by_urn.get(urn)
    if prov is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=prov.type, properties=prov.properties, urn=prov.urn, name=prov.name
    )


def run_policies(
    registrations: Sequence[Registration],
    stack: str,
    pack_dir: Path,
    policy_config: Mapping[str, Any] | None = None,
    stack_config: Mapping[str, str] | None = None,
) -> PolicyRun:
    engine = _Engine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    engine_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    proc, port = _start_pack(pack_dir, f"127.0.0.1:{engine_port}", stack, stack_config or {})
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_S)
            analyzer = analyzer_pb2_grpc.AnalyzerStub(channel)
            return _drive(analyzer, registrations, stack, pack_dir, policy_config, engine)
    except grpc.RpcError as err:
        raise PolicyPackError(f"policy pack failed: {err.code().name}: {err.details()}") from None
    finally:
        proc.kill()
        proc.communicate(timeout=10)
        server.stop(0)


def resource_fields(reg: Registration, by_urn: Mapping[str, Registration]) -> dict[str, Any]:
    """What the engine sends about a resource besides its properties: type, URN, name, options, provider."""
    fields: dict[str, Any] = {"type": reg.type, "urn": reg.urn, "name": reg.name, "options": _options(reg)}
    if (provider := _provider(reg, by_urn)) is not None:
        fields["provider"] = provider
    return fields


def _drive(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
    registrations: Sequence[Registration],
    stack: str,
    pack_dir: Path,
    policy_config: Mapping[str, Any] | None,
    engine: _Engine,
) -> PolicyRun:
    try:
        analyzer.Handshake(
            analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address="", root_directory=str(pack_dir), program_directory=str(pack_dir)
            )
        )
    except grpc.RpcError as err:
        if err.code() is not grpc.StatusCode.UNIMPLEMENTED:  # pulumi_policy does not implement it; fine
            raise
    analyzer.ConfigureStack(
        analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=PROJECT, organization="organization", dry_run=True
        )
    )
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    levels, props = reconcile(info, policy_config)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name in levels:
        properties = struct_pb2.Struct()
        properties.update(props[name])
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_TO_PROTO[levels[name]], properties=properties)
        )
    analyzer.Configure(request)

    by_urn = {r.urn: r for r in registrations}
    diagnostics: list[Any] = []
    stack_resources = []
    for reg in registrations:
        properties = reg.properties
        fields = resource_fields(reg, by_urn)
        remediated = analyzer.Remediate(analyzer_pb2.AnalyzeRequest(properties=properties, **fields))
        for remediation in remediated.remediations:
            if remediation.HasField("properties"):
                properties = remediation.properties
        for d in analyzer.Analyze(analyzer_pb2.AnalyzeRequest(properties=properties, **fields)).diagnostics:
            # The engine attributes a resource policy's diagnostic to the analyzed resource.
            if not d.urn:
                d.urn = reg.urn
            diagnostics.append(d)
        resource = analyzer_pb2.AnalyzerResource(
            properties=properties, parent=reg.parent, dependencies=reg.dependencies, **fields
        )
        for key, urns in reg.property_dependencies.items():
            resource.propertyDependencies[key].urns.extend(urns)
        stack_resources.append(resource)
    diagnostics += analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=stack_resources)).diagnostics

    violations = [
        Violation(
            policy=d.policyName,
            enforcement_level=_PROTO_TO_LEVEL[d.enforcementLevel],
            urn=d.urn,
            # pulumi_policy prefixes the policy description; the report shows it separately.
            message=d.message.removeprefix(d.description + "\n"),
            description=d.description,
            policy_pack=d.policyPackName,
        )
        for d in diagnostics
    ]
    violations.sort(key=lambda v: (v.policy, v.urn, v.message))
    return PolicyRun(violations=violations, policies=levels, config=props, log=list(engine.messages))


__all__ = ["PolicyConfigError", "PolicyPackError", "PolicyRun", "Violation", "load_policy_config_file", "run_policies"]
