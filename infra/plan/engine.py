"""Run the real program under Pulumi's mock engine and capture every registration.

The stock ``MockMonitor`` builds URNs that differ from the engine's (parent
chains truncated); ``CaptureMonitor`` builds engine-style URNs instead, so URNs
in ``resources.json``, parent links and dependency lists agree with what
``pulumi preview`` shows and what the policy pack sees.
"""

from __future__ import annotations

import json
import math
import runpy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "gpu-platform"
STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_TEXT = "[secret]"
UNKNOWN_TEXT = "[unknown]"


@dataclass
class Registration:
    """One resource as the engine would have received it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    properties: struct_pb2.Struct
    """Inputs exactly as serialized on the wire (secrets and unknowns marked)."""
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """URNs the resource had before (the engine moves their state to it instead of replacing)."""

    def inputs(self) -> dict[str, Any]:
        """Inputs as plain JSON: secrets shown as ``[secret]``, integral floats as ints."""
        return dict(_plain(rpc.deserialize_properties(self.properties, keep_unknowns=True)))

    def inputs_revealed(self) -> dict[str, Any]:
        """Inputs with secret values visible (for rendering manifests only; never written out as is)."""
        return dict(_plain(rpc.deserialize_properties(self.properties, keep_unknowns=True), reveal=True))


def _masked(value: Any) -> Any:
    """A secret with its values hidden and its shape kept (a Secret's ``stringData`` stays a mapping of names
    to ``[secret]``), so what is written out and validated never shows a value yet still has its type."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return SECRET_TEXT


def _plain(value: Any, reveal: bool = False) -> Any:
    if isinstance(value, dict):
        if rpc.is_rpc_secret(value):
            inner = _plain(rpc.unwrap_rpc_secret(value), reveal)
            return inner if reveal else _masked(inner)
        return {k: _plain(v, reveal) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, reveal) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        # The wire has only doubles; Kubernetes rejects `replicas: 2.0`.
        return int(value)
    if isinstance(value, Unknown) or value == rpc.UNKNOWN:
        # A value the cloud computes at apply time, unknown in a preview.
        return UNKNOWN_TEXT
    return value


# Outputs the cloud computes that the program reads back (endpoints, CA data,
# issuers, emails). Documentation-range values, derived from names only, so
# plans stay deterministic and nothing looks like a real endpoint.
_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm9mZmxpbmUtcGxhbgotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
_COMPUTED: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": lambda name, i: {
        "arn": f"arn:aws:eks:offline:123456789012:cluster/{i.get('name', name)}",
        "endpoint": f"https://{i.get('name', name)}.eks.offline.example",
        "certificateAuthority": {"data": _CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.offline.example/id/{i.get('name', name)}"}]}],
        "vpcConfig": {**i.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{name}"},
    },
    "aws:iam/role:Role": lambda name, i: {"arn": f"arn:aws:iam::123456789012:role/{name}", "name": name},
    "aws:kms/key:Key": lambda name, i: {"arn": f"arn:aws:kms:offline:123456789012:key/{name}", "keyId": name},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, i: {"latestVersion": 1},
    "aws:eks/nodeGroup:NodeGroup": lambda name, i: {
        "nodeGroupName": i.get("nodeGroupName", name),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{i.get('nodeGroupName', name)}-offline"}]}],
    },
    "aws:ec2/placementGroup:PlacementGroup": lambda name, i: {"name": name},
    "aws:sqs/queue:Queue": lambda name, i: {
        "arn": f"arn:aws:sqs:offline:123456789012:{name}",
        "url": f"https://sqs.offline.example/123456789012/{name}",
        "name": name,
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda name, i: {
        "arn": f"arn:aws:iam::123456789012:oidc-provider/{name}"
    },
    "gcp:container/cluster:Cluster": lambda name, i: {
        "endpoint": "203.0.113.10",
        "masterAuth": {"clusterCaCertificate": _CA},
    },
    "gcp:serviceaccount/account:Account": lambda name, i: {
        "email": f"{i.get('accountId', name)}@{i.get('project', 'offline')}.iam.gserviceaccount.com"
    },
}


OFFLINE_STACKS: dict[str, tuple[dict[str, Any], list[str]]] = {}
"""Stack name (as a StackReference names it) -> (outputs, secret output names) of a stack planned offline:
the plan of a team stack plans its platform stack first and answers the reference from it."""


def _stack_reference(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    stack = str(inputs.get("name", name))
    if stack not in OFFLINE_STACKS:
        raise ProgramError(
            f"StackReference {stack!r}: no offline plan of that stack; plan it first (the team stack's plan does)"
        )
    outputs, secret = OFFLINE_STACKS[stack]
    return {"outputs": outputs, "secretOutputNames": secret}


class _Mocks(Mocks):
    """Deterministic mocks: ids derive from names, outputs echo inputs plus what the cloud would compute."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return str(args.inputs.get("name", args.name)), _stack_reference(args.name, dict(args.inputs))
        computed = _COMPUTED.get(args.typ)
        state = dict(args.inputs)
        if computed is not None:
            state.update(computed(args.name, state))
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answer = _INVOKES.get(args.token)
        return (answer(dict(args.args)) if answer else {}), []


def _aws_offerings(args: dict[str, Any]) -> dict[str, Any]:
    """EC2 DescribeInstanceTypeOfferings by zone ID, answered from the catalog's zone table."""
    from components.catalog import aws_zone_ids

    types = [v for f in args.get("filters") or [] if f.get("name") == "instance-type" for v in f.get("values", [])]
    region = str(args.get("region") or "")
    rows = [(t, z) for t in types for z in aws_zone_ids(t, region)]
    return {
        "instanceTypes": [t for t, _ in rows],
        "locations": [z for _, z in rows],
        "locationTypes": ["availability-zone-id" for _ in rows],
    }


def _gcp_machine_types(args: dict[str, Any]) -> dict[str, Any]:
    """Compute machineTypes.list in one zone, filtered by name, answered from the catalog's zone table."""
    from components.catalog import GCP_MACHINE_TYPES, gcp_zones

    zone = str(args.get("zone") or "")
    name = str(args.get("filter") or "").partition("=")[2].strip().strip('"')
    machine = GCP_MACHINE_TYPES.get(name)
    found = []
    if machine is not None and zone in gcp_zones(machine.accelerator, zone.rpartition("-")[0]):
        found.append(
            {
                "name": machine.name,
                "guestCpus": machine.vcpus,
                "memoryMb": machine.memory_mib,
                "accelerators": [{"guestAcceleratorType": machine.accelerator, "guestAcceleratorCount": machine.gpus}],
            }
        )
    return {"machineTypes": found, "zone": zone, "filter": args.get("filter")}


# Invokes the program makes (deploy-time lookups), answered offline from the catalog.
_INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _aws_offerings,
    "gcp:compute/getMachineTypes:getMachineTypes": _gcp_machine_types,
}


class ProgramError(Exception):
    """The program did something the Pulumi engine refuses (the plan reports it as the engine would)."""


class CaptureMonitor(MockMonitor):
    def __init__(self, mocks: Mocks, stack: str) -> None:
        super().__init__(mocks)
        self.stack = stack
        self.registrations: list[Registration] = []
        self.duplicates: list[str] = []
        self._urns: set[str] = set()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Engine rule: a child's type is qualified by its parent's qualified
        # type, except under the root stack.
        if parent and f"::{STACK_TYPE}::" not in parent:
            type_ = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{self.stack}::{PROJECT}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        if urn in self._urns:
            self.duplicates.append(urn)  # the engine fails the whole update on this
        self._urns.add(urn)
        self.registrations.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                protect=bool(request.protect),
                provider=request.provider,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                properties=request.object,
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=list(request.replaceOnChanges),
                aliases=[a.urn for a in request.aliases if a.urn] + list(request.aliasURNs),
            )
        )
        return response


@dataclass
class Capture:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    """Stack outputs as plain JSON, secrets shown as ``[secret]``."""
    secret_outputs: list[str]


def run_program(program: Callable[[], Mapping[str, Any] | None], stack: str, preview: bool = True) -> Capture:
    """Run ``program`` under the mock engine; outputs are what it exports and what it returns."""
    mocks = _Mocks()
    monitor = CaptureMonitor(mocks, stack)
    settings.ROOT.set(None)  # set_mocks makes a fresh root stack only when none is set
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    result: dict[str, Any] = {}

    def body() -> None:
        result.update(program() or {})

    try:
        _sync_await(run_pulumi_func(body))
        # `pulumi.export` calls land on the root stack resource, as in a real run.
        exported = getattr(settings.get_root_resource(), "outputs", {})
        result = {**exported, **result}
        outputs: dict[str, Any] = {}
        secret: list[str] = []
        for key in sorted(result):
            out = pulumi.Output.from_input(result[key])
            value = _sync_await(out.future(with_unknowns=True))
            if _sync_await(out.is_secret()):
                secret.append(key)
                value = SECRET_TEXT
            outputs[key] = _plain(value)
    finally:
        settings.ROOT.set(None)
    # The mock stack registers itself before our monitor sees any call; add it
    # the way the engine lists it, first, so parent links resolve.
    stack_resource = Registration(
        urn=f"urn:pulumi:{stack}::{PROJECT}::{STACK_TYPE}::{PROJECT}-{stack}",
        type=STACK_TYPE,
        name=f"{PROJECT}-{stack}",
        parent="",
        custom=False,
        protect=False,
        provider="",
        dependencies=[],
        property_dependencies={},
        properties=struct_pb2.Struct(),
    )
    if monitor.duplicates:
        raise ProgramError(
            "the Pulumi engine would refuse this program: duplicate resource URN(s) "
            + ", ".join(sorted(set(monitor.duplicates)))
            + "; every resource needs a unique name under its parent"
        )
    registrations = [stack_resource, *(r for r in monitor.registrations if r.type != STACK_TYPE)]
    return Capture(stack=stack, registrations=registrations, outputs=outputs, secret_outputs=secret)


def config_env(raw: Mapping[str, Any], namespace: str = PROJECT) -> dict[str, str]:
    """Stack config as the engine hands it to a program: full keys, strings, structured values as JSON."""
    return {f"{namespace}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in sorted(raw.items())}


def run_entry_point(
    program_dir: Path, config: Mapping[str, str], stack: str, secret_keys: Sequence[str] = ()
) -> Capture:
    """Run the project's real entry point (``infra/__main__.py``) as the language host would.

    The language host runs the ``main`` directory with ``runpy`` after setting
    the stack config; so does this, so the offline plan exercises exactly the
    code ``pulumi up`` runs.
    """
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    try:
        return run_program(lambda: runpy.run_path(str(program_dir), run_name="__main__") and None, stack)
    finally:
        pulumi.runtime.set_all_config({}, [])
