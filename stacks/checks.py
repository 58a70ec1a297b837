"""Cross-field rules of the stack config: what one field allows given the others.

Each rule is a small function returning ``(key path, message)`` pairs; ``RULES``
lists them and every rule runs, so a config with several problems reports all
of them at once. Field-local rules (ranges, enums, patterns) live on the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from components.pool_spec import SharingMode
from stacks.model import NAMESPACE, SUPPORTED_CLOUDS, Cloud, PlatformConfig

Issue = tuple[str, str]
Rule = Callable[[PlatformConfig], Iterable[Issue]]


def _key(path: str) -> str:
    return f"{NAMESPACE}:{path}"


def _supported_cloud(c: PlatformConfig) -> Iterable[Issue]:
    if c.cloud not in SUPPORTED_CLOUDS:
        allowed = ", ".join(cloud.value for cloud in SUPPORTED_CLOUDS)
        yield _key("cloud"), f"{c.cloud.value!r} is not supported by this version yet; supported: {allowed}"


def _unique_pools(c: PlatformConfig) -> Iterable[Issue]:
    seen: set[str] = set()
    for i, pool in enumerate(c.node_pools):
        if pool.name in seen:
            yield _key(f"nodePools[{i}].name"), f"{pool.name!r} is used by an earlier pool; pool names must be unique"
        seen.add(pool.name)


def _pool_fields_for_cloud(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool in enumerate(c.node_pools):
        at = f"nodePools[{i}]"
        if c.cloud is not Cloud.AWS and pool.instance_type is not None:
            yield _key(f"{at}.instanceType"), f"applies only to cloud aws (this stack is {c.cloud.value})"
        if c.cloud is not Cloud.GCP and pool.machine_type is not None:
            yield _key(f"{at}.machineType"), f"applies only to cloud gcp (this stack is {c.cloud.value})"
        if c.cloud is Cloud.EXISTING and pool.gpu is None:
            yield _key(f"{at}.gpu"), "required on cloud existing (which GPU the pool's nodes have)"
        if c.cloud is not Cloud.EXISTING and (pool.nodes or pool.simulated):
            field = "nodes" if pool.nodes else "simulated"
            yield _key(f"{at}.{field}"), f"applies only to cloud existing (this stack is {c.cloud.value})"


def _simulated_pools(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool in enumerate(c.node_pools):
        if not pool.simulated:
            continue
        if not c.gpu_software.fake_gpus.enabled:
            yield _key(f"nodePools[{i}].simulated"), "needs gpu-platform:gpuSoftware.fakeGpus.enabled: true"
        if pool.sharing.mode is not SharingMode.NONE:
            yield (
                _key(f"nodePools[{i}].sharing.mode"),
                f"{pool.sharing.mode.value!r} is not allowed on a simulated pool (fake-gpu-operator does not "
                "share GPUs); allowed: none",
            )


def _sharing_needs_device_plugin(c: PlatformConfig) -> Iterable[Issue]:
    if c.gpu_software.device_plugin.enabled or c.cloud is Cloud.GCP:
        return
    for i, pool in enumerate(c.node_pools):
        if pool.sharing.mode is not SharingMode.NONE and not pool.simulated:
            yield (
                _key(f"nodePools[{i}].sharing.mode"),
                f"{pool.sharing.mode.value!r} needs the NVIDIA device plugin "
                "(gpu-platform:gpuSoftware.devicePlugin.enabled: true); allowed without it: none",
            )


def _nodes_in_one_pool(c: PlatformConfig) -> Iterable[Issue]:
    owner: dict[str, str] = {}
    for i, pool in enumerate(c.node_pools):
        for j, node in enumerate(pool.nodes):
            if node in owner and owner[node] != pool.name:
                yield _key(f"nodePools[{i}].nodes[{j}]"), f"{node!r} already belongs to pool {owner[node]!r}"
            owner.setdefault(node, pool.name)


def _teams(c: PlatformConfig) -> Iterable[Issue]:
    pools = {p.name for p in c.node_pools}
    names: set[str] = set()
    namespaces: set[str] = set()
    for i, team in enumerate(c.teams):
        ns = team.namespace_name
        if team.name in names:
            yield _key(f"teams[{i}].name"), f"{team.name!r} is used by an earlier team; team names must be unique"
        elif ns in namespaces:
            yield _key(f"teams[{i}].namespace"), f"{ns!r} is used by an earlier team; each team needs its own namespace"
        names.add(team.name)
        namespaces.add(ns)
        if ns == c.gpu_software.namespace:
            yield _key(f"teams[{i}].namespace"), f"{ns!r} is the GPU system namespace; choose another"
        for pool in sorted(set(team.gpu_quota) - pools):
            allowed = ", ".join(sorted(pools)) or "(no pools defined)"
            yield _key(f"teams[{i}].gpuQuota.{pool}"), f"no node pool named {pool!r}; allowed: {allowed}"


def _reserved_layers(c: PlatformConfig) -> Iterable[Issue]:
    # The typed sections exist so stack files validate end to end; the layers
    # that build them are not in this version, and silently ignoring a job
    # would be worse than refusing it.
    if c.training.jobs:
        yield _key("training.jobs"), "training jobs are not supported by this version yet; allowed: []"
    if c.serving.models:
        yield _key("serving.models"), "model serving is not supported by this version yet; allowed: []"


RULES: tuple[Rule, ...] = (
    _supported_cloud,
    _unique_pools,
    _pool_fields_for_cloud,
    _simulated_pools,
    _sharing_needs_device_plugin,
    _nodes_in_one_pool,
    _teams,
    _reserved_layers,
)


def semantic_issues(config: PlatformConfig) -> list[Issue]:
    return [issue for rule in RULES for issue in rule(config)]
