"""Find pod templates and containers in Kubernetes resource inputs. Pure functions.

Inputs arrive as the engine sends them to a policy pack: wire names
(camelCase) and every number as a float. A table maps each workload type to
the path of its pod spec, so new kinds (training jobs, inference services)
are one line each.
"""

from collections.abc import Iterator, Mapping
from typing import Any

# Pulumi type token -> path from the resource's inputs to its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:core/v1:PodTemplate": ("template", "spec"),
    "kubernetes:core/v1:ReplicationController": ("spec", "template", "spec"),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

CONTAINER_LISTS = ("initContainers", "containers")


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def pod_specs(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(path, pod spec)`` for each pod template in a resource; nothing for other kinds."""
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return
    spec = _get(props, path)
    if isinstance(spec, Mapping):
        yield ".".join(path), spec


def containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(list.name, container)`` for every init and app container of a pod spec."""
    for key in CONTAINER_LISTS:
        for container in pod_spec.get(key) or []:
            if isinstance(container, Mapping):
                yield f"{key}[{container.get('name', '?')}]", container


def matches(resource: str, patterns: list[str]) -> bool:
    """Exact names, or a trailing ``*`` for a prefix (``nvidia.com/mig-*``)."""
    return any(resource == p or (p.endswith("*") and resource.startswith(p[:-1])) for p in patterns)


def gpu_amount(container: Mapping[str, Any], section: str, patterns: list[str]) -> dict[str, Any]:
    """GPU resources (by name) a container sets in ``requests`` or ``limits``."""
    values = _get(container, ("resources", section)) or {}
    return {name: qty for name, qty in values.items() if matches(name, patterns)} if isinstance(values, Mapping) else {}


def requests_gpus(pod_spec: Mapping[str, Any], patterns: list[str]) -> bool:
    return any(
        gpu_amount(c, "requests", patterns) or gpu_amount(c, "limits", patterns) for _, c in containers(pod_spec)
    )


_SUFFIXES = {
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}
"""Kubernetes quantity suffixes (``resource.Quantity``): ``16000m`` cpu is 16, ``1k`` is 1000."""


def count(value: Any) -> int:
    """A count or quantity as a whole number (a Karpenter cpu limit may read ``"16000m"``); 0 when there is none."""
    return int(quantity(value) or 0)


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number (``1``, ``"2"``, ``2.0``, ``"16000m"``, ``"1k"``); ``None`` when it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    if not isinstance(value, str):
        return None
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if value.endswith(suffix):
            try:
                return float(value[: -len(suffix)]) * _SUFFIXES[suffix]
            except ValueError:
                return None
    return None
