"""The stack as a graph the deployability policies can reason about. Pure functions.

A ``Node`` is one resource with plain-JSON properties (values unknown in a
preview read as ``UNKNOWN``), its parent, its dependencies and its provider.
``Graph.waits_for`` answers what the engine will have created before a
resource: everything it depends on, its parent and its provider, and what
those wait for, transitively (a child is registered only after its parent,
and a resource is created only after its provider, whose own dependencies
come first).
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError, _DictProxy, _is_unknown, _ListProxy

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, in C when the wheel has libyaml (several policies parse the same embedded YAML)."""

UNKNOWN = "[unknown]"
"""What a value only the cloud knows (unknown in a preview) reads as."""


def plain(value: Any) -> Any:
    """A policy proxy (or anything JSON-like) as plain dicts and lists; unknowns become ``UNKNOWN``."""
    return _plain_data(value)


_PROXIES = (_DictProxy, _ListProxy)
_SCALARS = (str, int, float, bool, type(None))


def _plain_data(value: Any) -> Any:
    kind = type(value)
    if kind in _PROXIES:
        # pulumi-policy's proxies hand out the data they wrap under "__target" (their own escape hatch): reading
        # it directly skips an unknown-check per key, most of the cost of turning a stack into a graph.
        value, kind = value["__target"], type(value["__target"])
    if kind is dict:
        return {str(k): _plain_data(v) for k, v in value.items()}
    if kind is list:
        return [_plain_data(v) for v in value]
    if kind in _SCALARS:
        return UNKNOWN if kind is str and _is_unknown(value) else value
    return _plain_checked(value)  # any other mapping or sequence: key by key


def _plain_checked(value: Any) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value.keys()):
            try:
                out[str(key)] = _plain_data(value[key])
            except UnknownValueError:
                out[str(key)] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(_plain_data(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def get(obj: Any, *path: str | int) -> Any:
    """``obj[path[0]][path[1]]...``, or ``None`` where a step is missing or unknown."""
    if isinstance(obj, LazyProps) and path:
        obj, path = obj.step(path[0]), path[1:]  # converts only what is read, not the whole resource
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or step >= len(obj):
                return None
            obj = obj[step]
        else:
            if not isinstance(obj, Mapping):
                return None
            obj = obj.get(step)
    return None if obj == UNKNOWN else obj


@dataclass(frozen=True)
class Node:
    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    provider: str = ""
    """URN of the provider resource, or empty."""
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False
    """The resource is protected from deletion (``protect=True``)."""

    def is_kubernetes_object(self) -> bool:
        return self.type.startswith("kubernetes:") and not self.type.startswith("pulumi:")


class LazyProps(Mapping[str, Any]):
    """A resource's properties, turned into plain data on first read: most policies read a few resource types,
    so most resources of a stack are never converted."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._data: dict[str, Any] | None = None

    def step(self, key: str | int) -> Any:
        """The plain value under one top-level key (``None`` when missing), converting only that value."""
        if self._data is not None:
            return self._data.get(key) if isinstance(key, str) else None
        source = self._source
        target = source["__target"] if type(source) in _PROXIES else source
        if not isinstance(key, str) or not isinstance(target, Mapping) or key not in target:
            return None
        return _plain_data(target[key])

    def _plain(self) -> dict[str, Any]:
        if self._data is None:
            converted = plain(self._source)
            self._data = converted if isinstance(converted, dict) else {}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._plain()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._plain())

    def __len__(self) -> int:
        return len(self._plain())

    def __eq__(self, other: object) -> bool:
        return self._plain() == (dict(other) if isinstance(other, Mapping) else other)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like dict

    def __repr__(self) -> str:
        return repr(self._plain())


def from_policy_resources(resources: Iterable[PolicyResource]) -> list["Node"]:
    return [
        Node(
            urn=r.urn,
            type=r.resource_type,
            name=r.name,
            props=LazyProps(r.props),
            parent=r.parent.urn if r.parent is not None else "",
            dependencies=tuple(d.urn for d in r.dependencies),
            provider=r.provider.urn if r.provider is not None else "",
            property_dependencies={k: tuple(d.urn for d in v) for k, v in r.property_dependencies.items()},
            protect=bool(r.opts.protect),
        )
        for r in resources
    ]


class Graph:
    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes = list(nodes)
        self.by_urn = {n.urn: n for n in self.nodes}
        self._waits: dict[str, frozenset[str]] = {}

    def of_type(self, *types: str) -> list[Node]:
        return [n for n in self.nodes if n.type in types]

    def waits_for(self, urn: str) -> frozenset[str]:
        """URNs created before ``urn`` (its dependencies, parent and provider, transitively)."""
        cached = self._waits.get(urn)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = list(self._direct(urn))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in self._waits:
                seen |= self._waits[current]
                continue
            stack.extend(self._direct(current))
        result = frozenset(seen)
        self._waits[urn] = result
        return result

    def _direct(self, urn: str) -> Sequence[str]:
        node = self.by_urn.get(urn)
        if node is None:
            return ()
        return [u for u in (*node.dependencies, node.parent, node.provider) if u]


def short(urn: str) -> str:
    """The resource's name part of a URN, for messages."""
    return urn.rsplit("::", 1)[-1]
