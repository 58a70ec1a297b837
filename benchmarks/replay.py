"""The bare floor, derived from the plan itself: ours' custom resources registered again with the bare SDKs.

``plan(capture)`` turns the custom resources one run of ours registered into
replay steps; ``replay(steps)`` (the body of a program for
``infra.plan.engine.run_program``) registers each of them again with the
provider SDK's typed resource class for its type token, the same logical name
and the same inputs, options, provider and dependencies, and nothing else: no
component resources, no config model, no parents, no stack outputs.
``check_same_resources(ours, bare)`` then proves that both captures hold the
same custom registrations before anything is timed.

Nothing here names a resource type, so new resource types in the program need
no change here.

Token to class, from the SDKs' own tables: every Pulumi provider SDK registers,
when its top-level package is imported, each resource type token with the
module and class that implement it (``pulumi.runtime.rpc.get_resource_module``;
the table Pulumi uses to rehydrate resources), and each provider token
(``pulumi:providers:<pkg>``) with its ``Provider`` class
(``get_resource_package``). ``aws:eks/nodeGroup:NodeGroup`` is
``pulumi_aws.eks.NodeGroup``; ``kubernetes:helm.sh/v3:Release`` is
``pulumi_kubernetes.helm.v3.Release``. One exception: a Kubernetes token the SDK
does not register is a custom resource kind, which
``pulumi_kubernetes.apiextensions.CustomResource`` registers as
``kubernetes:<apiVersion>:<kind>`` (``kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue``);
its ``apiVersion`` and ``kind`` are inputs like any other.

Wire names to keyword arguments: the class's ``<Class>Args`` input type is the
table the SDK itself serializes with (``cidr_block`` -> ``cidrBlock``); it is
read backwards. A wire name not in it goes through a generic camelCase ->
snake_case. A wire name that is no constructor argument even then is one the
class fills in itself (``apiVersion`` and ``kind`` of typed Kubernetes objects,
a Helm ``Release``'s ``compat``) and is left out; the identity check proves the
class wrote the same value. Nested values are passed as the plain dicts and
lists of the wire (the SDK leaves their keys alone), integral floats as ints.
Provider classes JSON-encode every config value that is not a string, so for a
provider a string input whose constructor argument does not accept ``str`` is
JSON-decoded first (``defaultTags``, ``enableServerSideApply``).

Secrets, unknowns and dependencies:

* a secret (at any depth) is passed as a secret ``pulumi.Output`` at the same place;
* a value unknown in ours (a cloud-computed output the mocks do not answer) is
  passed as an unknown ``pulumi.Output`` at the same place, so the engine
  receives the same unknown marker and the same number of values to
  serialize. The identity check ignores those places anyway;
* a top-level input that depended on other resources in ours (an ``Output`` of
  theirs) is passed as an ``Output`` carrying those same replayed resources,
  so the property dependencies, and the waiting for them, are the same;
* ``depends_on`` is every dependency ours sent (the SDK sends the union of
  explicit and property dependencies); ``provider`` is the replayed provider
  object (providers register before the resources that use them, because ours
  registered them first); ``protect``, ``retain_on_delete`` and
  ``ignore_changes`` as captured.

Steps run in ours' registration order, which puts every dependency before its
dependents (the SDK registers a resource only once its dependencies have URNs).
Each run builds its input values afresh from the plan, as a program builds its
literals (about 3 ms per run at 100 pools), so bare's peak memory includes its
inputs; deserializing, finding classes and mapping names happen once, in ``plan``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pulumi
from pulumi import _types as pulumi_types
from pulumi.output import Unknown
from pulumi.runtime import rpc

from infra.plan.engine import UNKNOWN_TEXT, Capture, Registration

PROVIDER_PREFIX = "pulumi:providers:"
UNREGISTERED: dict[str, tuple[str, str]] = {
    # package -> (module, class) for tokens the SDK does not register.
    "kubernetes": ("pulumi_kubernetes.apiextensions", "CustomResource"),
}
"""The one exception to the SDKs' token tables: Kubernetes custom resource kinds."""
_NOT_ARGUMENTS = frozenset({"self", "__self__", "resource_name", "opts", "__props__", "__name__", "__opts__"})


class ReplayError(SystemExit):
    """The plan holds something the replay cannot register faithfully: the benchmark stops."""


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class _Secret:
    value: Any


class _Unknown:
    def __repr__(self) -> str:
        return UNKNOWN_TEXT


_UNKNOWN = _Unknown()


def _from_wire(value: Any) -> Any:
    """A deserialized wire value as a plan value: plain dicts and lists, ints for integral floats, markers
    for secrets and unknowns."""
    if isinstance(value, dict):
        if rpc.is_rpc_secret(value):
            return _Secret(_from_wire(rpc.unwrap_rpc_secret(value)))
        return {k: _from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_wire(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return _UNKNOWN
    return value


async def _resolved(value: Any) -> Any:
    return value


def _output(value: Any, resources: set[pulumi.Resource], known: bool, secret: bool) -> pulumi.Output[Any]:
    return pulumi.Output(resources, _resolved(value), _resolved(known), _resolved(secret))


def _build(value: Any) -> Any:
    """A fresh copy of a plan value, as a program would build it: secrets and unknowns become Outputs."""
    kind = type(value)
    if kind is dict:
        return {k: _build(v) for k, v in value.items()}
    if kind is list:
        return [_build(v) for v in value]
    if kind is _Secret:
        if value.value is _UNKNOWN:
            return _output(None, set(), known=False, secret=True)
        return _output(_build(value.value), set(), known=True, secret=True)
    if kind is _Unknown:
        return _output(None, set(), known=False, secret=False)
    return value


def _build_top(value: Any, resources: set[pulumi.Resource] | None) -> Any:
    """A top-level input: as ``_build``, and an Output carrying ``resources`` when ours' value depended on them."""
    if not resources:
        return _build(value)
    secret = isinstance(value, _Secret)
    if secret:
        value = value.value
    if value is _UNKNOWN:
        return _output(None, resources, known=False, secret=secret)
    return _output(_build(value), resources, known=True, secret=secret)


# ---------------------------------------------------------------- token -> class, wire name -> keyword


def _import_sdk(package: str) -> None:
    """The provider SDK registers its token tables when its top-level package is imported."""
    module = f"pulumi_{package.replace('-', '_')}"
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise ReplayError(f"replay: no SDK {module} for package {package!r}: {e}") from None


@cache
def resource_class(token: str) -> type[pulumi.CustomResource]:
    """The SDK's typed class for a custom resource type token (see the module docstring)."""
    if token.startswith(PROVIDER_PREFIX):
        package = token.removeprefix(PROVIDER_PREFIX)
        _import_sdk(package)
        registered = rpc.get_resource_package(package, "")
        info = getattr(registered, "pkg_info", None)
        if not info or info.get("token") != token:
            raise ReplayError(f"replay: the {package} SDK registers no provider class for {token}")
        return typing.cast(type[pulumi.CustomResource], getattr(importlib.import_module(info["fqn"]), info["class"]))
    package, module, _ = token.split(":", 2)
    _import_sdk(package)
    registered_module = rpc.get_resource_module(package, module, "")
    info = getattr(registered_module, "mod_info", None) or {}
    class_name = info.get("classes", {}).get(token)
    if class_name:
        return typing.cast(type[pulumi.CustomResource], getattr(importlib.import_module(info["fqn"]), class_name))
    if package in UNREGISTERED:
        module_name, class_name = UNREGISTERED[package]
        return typing.cast(type[pulumi.CustomResource], getattr(importlib.import_module(module_name), class_name))
    raise ReplayError(f"replay: the {package} SDK registers no class for {token}")


def _constructor(cls: type) -> Mapping[str, inspect.Parameter]:
    # Typed classes take ``__init__(resource_name, *args, **kwargs)`` and spell their arguments out in
    # ``_internal_init``.
    init: Callable[..., Any] | None = getattr(cls, "_internal_init", None)
    return {
        name: p
        for name, p in inspect.signature(init if init is not None else cls).parameters.items()
        if name not in _NOT_ARGUMENTS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class _Keywords:
    """How a class takes its wire inputs."""

    keyword: Mapping[str, str | None]
    """wire name -> keyword argument (None: the class fills it in itself)."""
    json_encoded: frozenset[str]
    """Keyword arguments the class JSON-encodes (provider config that is not a string)."""

    def of(self, wire: str) -> str | None:
        return self.keyword.get(wire)


_KEYWORDS: dict[tuple[type, frozenset[str]], _Keywords] = {}


def _keywords(cls: type, wire_names: frozenset[str]) -> _Keywords:
    known = _KEYWORDS.get((cls, wire_names))
    if known is None:
        known = _KEYWORDS[(cls, wire_names)] = _read_keywords(cls, wire_names)
    return known


def _read_keywords(cls: type, wire_names: frozenset[str]) -> _Keywords:
    params = _constructor(cls)
    args_type = getattr(sys.modules[cls.__module__], f"{cls.__name__}Args", None)
    table: dict[str, str] = {}
    if args_type is not None and pulumi_types.is_input_type(args_type):
        table = {wire: py for py, wire in pulumi_types.input_type_py_to_pulumi_names(args_type).items()}
    keyword: dict[str, str | None] = {}
    for wire in wire_names:
        name = table.get(wire) if table.get(wire) in params else _snake(wire)
        keyword[wire] = name if name in params else None
    json_encoded: set[str] = set()
    if issubclass(cls, pulumi.ProviderResource):
        json_encoded = {name for name in keyword.values() if name and not _accepts_str(params[name].annotation)}
    return _Keywords(keyword, frozenset(json_encoded))


def _accepts_str(annotation: Any) -> bool:
    if annotation is str or annotation is inspect.Parameter.empty:
        return True
    if isinstance(annotation, str):  # postponed annotations
        return re.search(r"\bstr\b", annotation) is not None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_accepts_str(a) for a in typing.get_args(annotation) if a is not type(None))
    return False


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Step:
    """One custom resource to register again."""

    cls: type[pulumi.CustomResource]
    name: str
    urn: str
    inputs: tuple[tuple[str, Any, tuple[str, ...]], ...]
    """(keyword, plan value, property dependency URNs)."""
    depends_on: tuple[str, ...]
    provider: str
    """URN of the provider resource, or ""."""
    protect: bool
    retain_on_delete: bool
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False


def _provider_urn(reference: str) -> str:
    """A provider reference is ``<urn>::<id>``."""
    return reference.rsplit("::", 1)[0] if reference else ""


def plan(capture: Capture) -> list[Step]:
    """The replay steps for every custom resource of ``capture``, in its registration order."""
    customs = [r for r in capture.registrations if r.custom]
    seen: dict[tuple[str, str], str] = {}
    for r in customs:
        if (r.type, r.name) in seen:
            raise ReplayError(
                f"replay: two custom resources {r.type} named {r.name!r} ({seen[(r.type, r.name)]}, {r.urn}); "
                "the replay registers every one under the root stack, where they would collide"
            )
        seen[(r.type, r.name)] = r.urn
    registered: set[str] = set()
    steps: list[Step] = []
    for r in customs:
        steps.append(_step(r, registered))
        registered.add(r.urn)
    return steps


def _step(r: Registration, registered: set[str]) -> Step:
    provider = _provider_urn(r.provider)
    refers = [
        *r.dependencies,
        *(u for us in r.property_dependencies.values() for u in us),
        *([provider] if provider else []),
    ]
    missing = [u for u in refers if u not in registered]
    if missing:
        raise ReplayError(
            f"replay: {r.urn} refers to {missing[0]}, which is no custom resource registered before it "
            "(the replay registers no component resources)"
        )
    cls = resource_class(r.type)
    wire = {k: _from_wire(v) for k, v in rpc.deserialize_properties(r.properties, keep_unknowns=True).items()}
    keywords = _keywords(cls, frozenset(wire))
    inputs = []
    for name, value in wire.items():
        keyword = keywords.of(name)
        if keyword is None:
            continue  # the class fills it in itself; the identity check compares the result
        if keyword in keywords.json_encoded:
            value = _json_decoded(value, f"{r.type} {r.name} {name}")
        deps = tuple(dict.fromkeys(r.property_dependencies.get(name, ())))
        inputs.append((keyword, value, deps))
    return Step(
        cls=cls,
        name=r.name,
        urn=r.urn,
        inputs=tuple(inputs),
        depends_on=tuple(dict.fromkeys(r.dependencies)),
        provider=provider,
        protect=r.protect,
        retain_on_delete=r.retain_on_delete,
        ignore_changes=tuple(r.ignore_changes),
        replace_on_changes=tuple(r.replace_on_changes),
        delete_before_replace=r.delete_before_replace,
    )


def _json_decoded(value: Any, where: str) -> Any:
    """A provider config value the class JSON-encodes, decoded (inside its secret, if it is one)."""
    if isinstance(value, _Secret):
        return _Secret(_json_decoded(value.value, where))
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ReplayError(f"replay: {where}: the provider class JSON-encodes it, but {value!r} is no JSON") from None


def replay(steps: Sequence[Step]) -> None:
    """The bare program: register every step with its typed class (run it under ``run_program``)."""
    made: dict[str, pulumi.CustomResource] = {}
    for step in steps:
        kwargs = {
            keyword: _build_top(value, {made[u] for u in deps} if deps else None)
            for keyword, value, deps in step.inputs
        }
        opts = pulumi.ResourceOptions(
            provider=typing.cast(pulumi.ProviderResource, made[step.provider]) if step.provider else None,
            depends_on=[made[u] for u in step.depends_on] if step.depends_on else None,
            protect=True if step.protect else None,
            retain_on_delete=True if step.retain_on_delete else None,
            ignore_changes=list(step.ignore_changes) if step.ignore_changes else None,
            replace_on_changes=list(step.replace_on_changes) if step.replace_on_changes else None,
            delete_before_replace=True if step.delete_before_replace else None,
        )
        made[step.urn] = step.cls(step.name, opts=opts, **kwargs)


# ---------------------------------------------------------------- the identity check


def _ref(urn: str) -> str:
    """``type::name`` of a URN, the type without its parents' qualification (parents differ by design)."""
    _, type_, name = urn.rsplit("::", 2)
    return f"{type_.rsplit('$', 1)[-1]}::{name}"


def _mask(ours: Any, bare: Any) -> Any:
    """``bare`` with every place that was unknown in ``ours`` shown as unknown (the check ignores those)."""
    if ours == UNKNOWN_TEXT:
        return UNKNOWN_TEXT
    if isinstance(ours, dict) and isinstance(bare, dict):
        return {k: _mask(ours[k], v) if k in ours else v for k, v in bare.items()}
    if isinstance(ours, list) and isinstance(bare, list) and len(ours) == len(bare):
        return [_mask(o, b) for o, b in zip(ours, bare, strict=True)]
    return bare


def _record(r: Registration, unknowns_from: Registration) -> dict[str, Any]:
    """Everything the engine would diff or order by; places unknown in ``unknowns_from`` masked."""
    return {
        "inputs": _mask(unknowns_from.inputs_revealed(), r.inputs_revealed()),
        "secret_marked": _mask(unknowns_from.inputs(), r.inputs()),
        "dependencies": sorted(_ref(d) for d in r.dependencies),
        "property_dependencies": {k: sorted(_ref(d) for d in v) for k, v in r.property_dependencies.items()},
        "provider": _ref(_provider_urn(r.provider)) if r.provider else "",
        "protect": r.protect,
        "retain_on_delete": r.retain_on_delete,
        "ignore_changes": sorted(r.ignore_changes),
        "replace_on_changes": sorted(r.replace_on_changes),
        "delete_before_replace": r.delete_before_replace,
    }


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'ours' if k in a else 'bare'}"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: ours {json.dumps(a)[:300]} bare {json.dumps(b)[:300]}"


def check_same_resources(ours: Capture, bare: Capture) -> int:
    """Both captures hold the same custom resources (type, name), each with identical inputs (values and
    secretness; places unknown in ours ignored), dependencies and property dependencies (by type and name),
    provider, protect, retainOnDelete and ignoreChanges; return how many. Parents differ by design, and
    component resources and the root stack are not compared. Raises ``ReplayError`` naming the first
    difference."""
    a = {(r.type, r.name): r for r in ours.registrations if r.custom}
    b = {(r.type, r.name): r for r in bare.registrations if r.custom}
    if a.keys() != b.keys():
        raise ReplayError(
            "bare replay differs from ours: only in ours "
            f"{sorted(a.keys() - b.keys())[:5]}, only in bare {sorted(b.keys() - a.keys())[:5]}"
        )
    differ = []
    for key in sorted(a):
        mine, theirs = _record(a[key], a[key]), _record(b[key], a[key])
        if mine != theirs:
            differ.append(f"{key[0]} {key[1]}: {_first_difference(mine, theirs)}")
    if differ:
        raise ReplayError(f"bare replay registered {len(differ)} resource(s) differently, first " + differ[0])
    return len(a)
