"""Cross-field rules of the stack config: what one field allows given the others.

Each rule is a small function returning ``(key path, message)`` pairs; ``RULES``
lists them and every rule runs, so a config with several problems reports all
of them at once. Field-local rules (ranges, enums, patterns) live on the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from components.catalog import GCP_ZONE_REGIONS, GPUS, CatalogError, aws_regions
from components.catalog.gpus import mig_layout_problem
from components.pool_spec import PoolSpec, SharingMode
from stacks.model import (
    NAMESPACE,
    SUPPORTED_CLOUDS,
    AmiType,
    Cloud,
    GpuStack,
    MigStrategy,
    Model,
    NodePool,
    PlatformConfig,
    Provisioner,
)
from stacks.resolve import offering_for, offering_zones, pool_spec

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


# Fields that mean something on one cloud only: setting them elsewhere is a
# mistake worth naming (a typo'd cloud, a copied stack file), not a no-op.
_CLOUD_ONLY: dict[str, dict[str, tuple[Cloud, ...]]] = {
    "pool": {
        "instanceType": (Cloud.AWS,),
        "machineType": (Cloud.GCP,),
        "amiType": (Cloud.AWS,),
        "efa": (Cloud.AWS,),
        "provisioner": (Cloud.AWS,),
        "driverVersion": (Cloud.GCP,),
        "nodes": (Cloud.EXISTING,),
        "simulated": (Cloud.EXISTING,),
        "capacity": (Cloud.AWS, Cloud.GCP),
        "diskSizeGiB": (Cloud.AWS, Cloud.GCP),
        "minNodes": (Cloud.AWS, Cloud.GCP),
        "zones": (Cloud.AWS, Cloud.GCP),
        "cpusPerNode": (Cloud.EXISTING,),
        "memoryGiBPerNode": (Cloud.EXISTING,),
    },
    "gpuSoftware": {
        "stack": (Cloud.EXISTING, Cloud.AWS),
        "gpuOperator": (Cloud.EXISTING, Cloud.AWS),
        "devicePlugin": (Cloud.EXISTING, Cloud.AWS),
        "fakeGpus": (Cloud.EXISTING,),
    },
    "cluster": {
        "context": (Cloud.EXISTING,),
        "kubeconfigPath": (Cloud.EXISTING,),
        "kubeconfig": (Cloud.EXISTING,),
        "kubernetesVersion": (Cloud.AWS, Cloud.GCP),
        "releaseChannel": (Cloud.GCP,),
        "networkCidr": (Cloud.AWS, Cloud.GCP),
        "publicEndpointCidrs": (Cloud.AWS, Cloud.GCP),
        "admins": (Cloud.AWS,),
        "singleNatGateway": (Cloud.AWS,),
        "systemPool": (Cloud.AWS, Cloud.GCP),
        "karpenter": (Cloud.AWS,),
    },
    "root": {"region": (Cloud.AWS, Cloud.GCP), "project": (Cloud.GCP,), "zones": (Cloud.AWS, Cloud.GCP)},
}


def _set_aliases(model: Model) -> list[str]:
    fields = type(model).model_fields
    return sorted((fields[n].alias or n) for n in model.model_fields_set)


def _cloud_only(kind: str, at: str, model: Model, cloud: Cloud) -> Iterable[Issue]:
    for alias in _set_aliases(model):
        clouds = _CLOUD_ONLY[kind].get(alias)
        if clouds is not None and cloud not in clouds:
            names = " or ".join(c.value for c in clouds)
            yield _key(f"{at}{alias}"), f"applies only to cloud {names} (this stack is {cloud.value})"


def _fields_for_cloud(c: PlatformConfig) -> Iterable[Issue]:
    yield from _cloud_only("root", "", c, c.cloud)
    yield from _cloud_only("cluster", "cluster.", c.cluster, c.cloud)
    yield from _cloud_only("gpuSoftware", "gpuSoftware.", c.gpu_software, c.cloud)
    for i, pool in enumerate(c.node_pools):
        yield from _cloud_only("pool", f"nodePools[{i}].", pool, c.cloud)
        if c.cloud is Cloud.EXISTING and pool.gpu is None:
            yield _key(f"nodePools[{i}].gpu"), "required on cloud existing (which GPU the pool's nodes have)"


_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def _cloud_location(c: PlatformConfig) -> Iterable[Issue]:
    if c.cloud is Cloud.EXISTING:
        return
    pattern = _AWS_REGION if c.cloud is Cloud.AWS else _GCP_REGION
    example = "us-east-1" if c.cloud is Cloud.AWS else "us-central1"
    if not pattern.match(c.region):
        yield _key("region"), f"{c.region!r} is not a {c.cloud.value} region; allowed: a region name like {example}"
    if c.cloud is Cloud.GCP and not _GCP_PROJECT.match(c.project):
        yield _key("project"), f"{c.project!r} is not a Google Cloud project id; required for cloud gcp"
    if not c.node_pools:
        yield _key("nodePools"), f"cloud {c.cloud.value} needs at least one GPU node pool"


def _pool_offerings(c: PlatformConfig) -> Iterable[Issue]:
    if c.cloud is Cloud.EXISTING:
        return
    field = "instanceType" if c.cloud is Cloud.AWS else "machineType"
    for i, pool in enumerate(c.node_pools):
        at = f"nodePools[{i}]"
        try:
            offering = offering_for(c.cloud, pool)
        except CatalogError as err:
            explicit = pool.instance_type if c.cloud is Cloud.AWS else pool.machine_type
            yield _key(f"{at}.{field}" if explicit else f"{at}.gpu"), str(err)
            continue
        offered = offering_zones(c, offering)
        what = offering.instance_type + (f" ({offering.accelerator})" if offering.accelerator else "")
        if c.cloud is Cloud.GCP and c.region not in GCP_ZONE_REGIONS:
            # No zone data is not the same as no GPUs: say which, and what is known.
            known = ", ".join(GCP_ZONE_REGIONS)
            yield _key("region"), f"{c.region!r}: the GPU catalog has no zone data for this region; known: {known}"
            return
        if not offered:
            regions = aws_regions(offering.instance_type) if c.cloud is Cloud.AWS else ()
            also = f"; regions that offer it: {', '.join(regions)}" if regions else ""
            yield _key("region"), f"{c.region!r} does not offer {what} (pool {pool.name}){also}"
            continue
        for zone in pool.zones:
            if c.zones and zone not in c.zones:
                yield _key(f"{at}.zones"), f"{zone!r} is not one of the stack's zones; allowed: {', '.join(c.zones)}"
            elif zone not in offered:
                yield _key(f"{at}.zones"), f"{zone!r} does not offer {what}; zones that do: {', '.join(offered)}"
        if c.zones and not pool.zones and not set(c.zones) & set(offered):
            yield (
                _key(f"{at}.gpu"),
                f"none of the stack's zones ({', '.join(c.zones)}) offers {what}; zones that do: {', '.join(offered)}",
            )
        if pool.efa and offering.max_efa_interfaces == 0:
            yield _key(f"{at}.efa"), f"{offering.instance_type} does not support EFA; allowed: false"
        if pool.provisioner is Provisioner.KARPENTER:
            if not c.cluster.karpenter:
                yield _key(f"{at}.provisioner"), "karpenter needs gpu-platform:cluster.karpenter: true"
            if pool.efa:
                yield (
                    _key(f"{at}.efa"),
                    "EFA pools use managed node groups (placement group, interfaces); allowed: false",
                )
            if pool.ami_type is not AmiType.AL2023:
                yield (
                    _key(f"{at}.amiType"),
                    f"{pool.ami_type.value!r} is not available for Karpenter pools; allowed: al2023",
                )


def _stack_zones(c: PlatformConfig) -> Iterable[Issue]:
    for i, zone in enumerate(c.zones):
        if not zone.startswith(c.region):
            yield _key(f"zones[{i}]"), f"{zone!r} is not a zone of region {c.region!r}"


def _simulated_pools(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool in enumerate(c.node_pools):
        if not pool.simulated:
            continue
        if not c.gpu_software.fake_gpus.enabled:
            yield _key(f"nodePools[{i}].simulated"), "needs gpu-platform:gpuSoftware.fakeGpus.enabled: true"
        if pool.sharing.mig is not None:
            yield _key(f"nodePools[{i}].sharing.mig"), "fake-gpu-operator does not simulate MIG here; remove mig"
        if pool.sharing.mode is not SharingMode.NONE:
            yield (
                _key(f"nodePools[{i}].sharing.mode"),
                f"{pool.sharing.mode.value!r} is not allowed on a simulated pool (fake-gpu-operator does not "
                "share GPUs); allowed: none",
            )


def _sharing_needs_device_plugin(c: PlatformConfig) -> Iterable[Issue]:
    software = c.gpu_software
    if software.device_plugin.enabled or software.stack is GpuStack.GPU_OPERATOR or c.cloud is Cloud.GCP:
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


def _pool_gpu(c: PlatformConfig, pool: NodePool) -> tuple[str, int] | None:
    """(GPU name, GPUs per node), or ``None`` when the pool does not resolve (reported by another rule)."""
    if c.cloud is Cloud.EXISTING:
        return (pool.gpu, pool.gpus_per_node) if pool.gpu else None
    try:
        offering = offering_for(c.cloud, pool)
    except CatalogError:
        return None
    return offering.gpu, offering.gpus_per_node


def _pool_specs(c: PlatformConfig) -> Iterable[tuple[int, NodePool, PoolSpec]]:
    """(index, pool, spec) for every pool that resolves and whose MIG layout is valid."""
    for i, pool in enumerate(c.node_pools):
        gpu = _pool_gpu(c, pool)
        if gpu is None:
            continue
        try:
            yield i, pool, pool_spec(pool, gpu[0], gpu[1])
        except (KeyError, ValueError):
            continue  # an invalid MIG profile: reported by _mig


def _mig(c: PlatformConfig) -> Iterable[Issue]:
    strategies: dict[str, list[str]] = {}
    for i, pool in enumerate(c.node_pools):
        mig, resolved = pool.sharing.mig, _pool_gpu(c, pool)
        if mig is None or resolved is None:
            continue
        at = f"nodePools[{i}].sharing.mig"
        gpu = GPUS[resolved[0]]
        if not gpu.mig_capable:
            capable = ", ".join(n for n, g in GPUS.items() if g.mig_capable)
            yield _key(at), f"{gpu.name} does not support MIG; MIG-capable GPUs: {capable}"
            continue
        if mig.profile is not None and mig.profile not in gpu.mig_profiles:
            yield (
                _key(f"{at}.profile"),
                f"{mig.profile!r} is not a MIG profile of {gpu.name}; allowed: {', '.join(gpu.mig_profiles)}",
            )
            continue
        if mig.layout is not None and (problem := mig_layout_problem(gpu, dict(mig.layout))):
            yield _key(f"{at}.layout"), problem
            continue
        if c.cloud is Cloud.GCP and (mig.strategy is MigStrategy.MIXED or mig.layout is not None):
            yield _key(at), "GKE splits every GPU of a node pool into one profile: use profile with strategy single"
        if c.cloud is not Cloud.GCP and c.gpu_software.stack is not GpuStack.GPU_OPERATOR:
            yield (
                _key(at),
                "MIG needs gpu-platform:gpuSoftware.stack: gpu-operator (its MIG manager partitions the GPUs)",
            )
        strategies.setdefault(mig.strategy.value, []).append(pool.name)
    if c.cloud is not Cloud.GCP and len(strategies) > 1:
        pools = "; ".join(f"{s}: {', '.join(p)}" for s, p in sorted(strategies.items()))
        yield (
            _key("nodePools"),
            f"the GPU Operator has one MIG strategy per cluster, but pools use several ({pools}); use one",
        )


def _software_choices(c: PlatformConfig) -> Iterable[Issue]:
    software = c.gpu_software
    operator = software.stack is GpuStack.GPU_OPERATOR and c.cloud is not Cloud.GCP
    if operator and software.fake_gpus.enabled:
        yield (
            _key("gpuSoftware.fakeGpus.enabled"),
            "fake-gpu-operator conflicts with the real GPU Operator; allowed: false",
        )
    for i, pool in enumerate(c.node_pools):
        if c.cloud is not Cloud.AWS or pool.ami_type is not AmiType.BOTTLEROCKET:
            continue
        if operator:
            yield (
                _key(f"nodePools[{i}].amiType"),
                "the GPU Operator does not manage Bottlerocket nodes; allowed: al2023",
            )
        if pool.sharing.mode is SharingMode.MPS or pool.sharing.mig is not None:
            yield (
                _key(f"nodePools[{i}].sharing"),
                "Bottlerocket's own device plugin shares GPUs by time-slicing only; allowed: mode none or time-slicing",
            )


def _team_quotas_fit(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool, spec in _pool_specs(c):
        holders = [(t.name, t.gpu_quota[pool.name]) for t in c.teams if t.gpu_quota.get(pool.name)]
        if not holders:
            continue
        resources = spec.resources()
        if len(resources) > 1:
            yield (
                _key(f"nodePools[{i}].sharing.mig.strategy"),
                f"teams {', '.join(n for n, _ in holders)} have quota on {pool.name}, which advertises several MIG "
                "resources (mixed); queues need one: use strategy single",
            )
            continue
        total, capacity = sum(q for _, q in holders), spec.max_schedulable_gpus
        if total > capacity and not c.queues.allow_overcommit:
            shares = ", ".join(f"{n} ({q})" for n, q in holders)
            (unit,) = resources
            yield (
                _key("teams"),
                f"pool {pool.name} advertises at most {capacity} {unit} but teams {shares} hold {total}; "
                "lower the quotas, raise maxNodes, or set gpu-platform:queues.allowOvercommit: true",
            )


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
    _fields_for_cloud,
    _cloud_location,
    _stack_zones,
    _pool_offerings,
    _simulated_pools,
    _sharing_needs_device_plugin,
    _nodes_in_one_pool,
    _mig,
    _software_choices,
    _team_quotas_fit,
    _teams,
    _reserved_layers,
)


def semantic_issues(config: PlatformConfig) -> list[Issue]:
    return [issue for rule in RULES for issue in rule(config)]
