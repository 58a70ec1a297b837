"""Cross-field rules of the stack config: what one field allows given the others.

Each rule is a small function returning ``(key path, message)`` pairs; ``RULES``
lists them and every rule runs, so a config with several problems reports all
of them at once. Field-local rules (ranges, enums, patterns) live on the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from components import labels as L
from components.catalog import GPUS
from components.catalog.gpus import mig_layout_problem
from components.kueue_config import MAX_FLAVORS, lendable_pools
from components.labels import SERVING_NAMESPACES, TRAINER_NAMESPACE
from components.pool_spec import PoolSpec, SharingMode
from stacks.clouds import BACKENDS, FIELD_CAPABILITIES, Capability, CloudBackend, Issue, backend, clouds_with, key
from stacks.contract import platform_contract
from stacks.model import GpuHealthMode, GpuStack, Model, NodePool, PlatformConfig
from stacks.resolve import pool_spec
from stacks.workload_checks import endpoint_issues, job_issues

Rule = Callable[[PlatformConfig], Iterable[Issue]]
SYSTEM_POOL = "system"


def _supported_cloud(c: PlatformConfig) -> Iterable[Issue]:
    if c.cloud not in BACKENDS:
        allowed = ", ".join(cloud.value for cloud in BACKENDS)
        yield key("cloud"), f"{c.cloud.value!r} is not supported by this version yet; supported: {allowed}"


def _unique_pools(c: PlatformConfig) -> Iterable[Issue]:
    seen: set[str] = set()
    for i, pool in enumerate(c.node_pools):
        if pool.name in seen:
            yield key(f"nodePools[{i}].name"), f"{pool.name!r} is used by an earlier pool; pool names must be unique"
        seen.add(pool.name)


# Keys Pulumi.yaml declares with a default: the CLI hands them to the program as if set, so at their
# default they are nobody's choice (a test keeps this list equal to Pulumi.yaml's).
DECLARED_KEYS = frozenset({"cloud", "region", "project", "zones"})


def _set_aliases(model: Model) -> list[str]:
    fields = type(model).model_fields
    return sorted(
        (fields[n].alias or n)
        for n in model.model_fields_set
        if not (
            isinstance(model, PlatformConfig)
            and n in DECLARED_KEYS
            and getattr(model, n) == fields[n].get_default(call_default_factory=True)
        )
    )


def _gated(kind: str, at: str, model: Model, cloud: CloudBackend) -> Iterable[Issue]:
    """Keys that mean something only on clouds with a capability this one lacks: a mistake worth naming
    (a typo'd cloud, a copied stack file), not a silent no-op."""
    for alias in _set_aliases(model):
        capability = FIELD_CAPABILITIES[kind].get(alias)
        if capability is not None and not cloud.has(capability):
            names = " or ".join(c.value for c in clouds_with(capability))
            yield key(f"{at}{alias}"), f"applies only to cloud {names} (this stack is {cloud.cloud.value})"


def _fields_for_cloud(c: PlatformConfig) -> Iterable[Issue]:
    cloud = backend(c.cloud)
    yield from _gated("root", "", c, cloud)
    yield from _gated("cluster", "cluster.", c.cluster, cloud)
    yield from _gated("gpuSoftware", "gpuSoftware.", c.gpu_software, cloud)
    yield from _gated("systemPool", "cluster.systemPool.", c.cluster.system_pool, cloud)
    yield from _gated("storage", "storage.", c.storage, cloud)
    yield from _gated("nodeHealth", "nodeHealth.", c.node_health, cloud)
    yield from _gated("serving", "serving.", c.serving, cloud)
    for i, team in enumerate(c.teams):
        yield from _gated("team", f"teams[{i}].", team, cloud)
    for i, pool in enumerate(c.node_pools):
        yield from _gated("pool", f"nodePools[{i}].", pool, cloud)


def _cloud_rules(c: PlatformConfig) -> Iterable[Issue]:
    yield from backend(c.cloud).check(c)


def _simulated_pools(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool in enumerate(c.node_pools):
        if not pool.simulated:
            continue
        if not c.gpu_software.fake_gpus.enabled:
            yield key(f"nodePools[{i}].simulated"), "needs gpu-platform:gpuSoftware.fakeGpus.enabled: true"
        if pool.sharing.mig is not None:
            yield key(f"nodePools[{i}].sharing.mig"), "fake-gpu-operator does not simulate MIG here; remove mig"
        if pool.sharing.mode is not SharingMode.NONE:
            yield (
                key(f"nodePools[{i}].sharing.mode"),
                f"{pool.sharing.mode.value!r} is not allowed on a simulated pool (fake-gpu-operator does not "
                "share GPUs); allowed: none",
            )


def _sharing_needs_device_plugin(c: PlatformConfig) -> Iterable[Issue]:
    if backend(c.cloud).gpu_stack(c) != "none" or not backend(c.cloud).has(Capability.GPU_SOFTWARE_CHOICE):
        return
    for i, pool in enumerate(c.node_pools):
        if pool.sharing.mode is not SharingMode.NONE and not pool.simulated:
            yield (
                key(f"nodePools[{i}].sharing.mode"),
                f"{pool.sharing.mode.value!r} needs the NVIDIA device plugin "
                "(gpu-platform:gpuSoftware.devicePlugin.enabled: true); allowed without it: none",
            )


def _nodes_in_one_pool(c: PlatformConfig) -> Iterable[Issue]:
    owner: dict[str, str] = {}
    for i, pool in enumerate(c.node_pools):
        for j, node in enumerate(pool.nodes):
            if node in owner and owner[node] != pool.name:
                yield key(f"nodePools[{i}].nodes[{j}]"), f"{node!r} already belongs to pool {owner[node]!r}"
            owner.setdefault(node, pool.name)


# Namespaces the platform must never create (it would own them, and delete them on destroy).
KUBERNETES_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def _reserved_namespaces(c: PlatformConfig) -> dict[str, str]:
    """Namespace -> who owns it: Kubernetes itself, or a component of this stack that installs into it."""
    owners = dict.fromkeys(KUBERNETES_NAMESPACES, "Kubernetes")
    # Kueue's, whether or not queues are on yet: adding a team later must not collide.
    owners[L.KUEUE_NAMESPACE] = "Kueue (gpu-platform:queues)"
    owners[TRAINER_NAMESPACE] = "Kubeflow Trainer (gpu-platform:training)"
    owners.update(dict.fromkeys(SERVING_NAMESPACES, "the serving stack (gpu-platform:serving)"))
    return owners


def _namespaces(c: PlatformConfig) -> Iterable[Issue]:
    owners = _reserved_namespaces(c)
    software = c.gpu_software.namespace
    if backend(c.cloud).has(Capability.GPU_SOFTWARE_CHOICE) and software in owners:
        yield (
            key("gpuSoftware.namespace"),
            f"{software!r} belongs to {owners[software]}; the platform would own (and on destroy delete) it; "
            "choose another",
        )
    for i, team in enumerate(c.teams):
        ns = team.namespace_name
        if ns in owners:
            where = "namespace" if team.namespace else "name"
            yield key(f"teams[{i}].{where}"), f"namespace {ns!r} belongs to {owners[ns]}; choose another"


def _teams(c: PlatformConfig) -> Iterable[Issue]:
    pools = {p.name for p in c.node_pools}
    names: set[str] = set()
    namespaces: set[str] = set()
    for i, team in enumerate(c.teams):
        ns = team.namespace_name
        if team.name in names:
            yield key(f"teams[{i}].name"), f"{team.name!r} is used by an earlier team; team names must be unique"
        elif ns in namespaces:
            yield key(f"teams[{i}].namespace"), f"{ns!r} is used by an earlier team; each team needs its own namespace"
        names.add(team.name)
        namespaces.add(ns)
        if ns == c.gpu_software.namespace:
            yield key(f"teams[{i}].namespace"), f"{ns!r} is the GPU system namespace; choose another"
        for pool in sorted(set(team.gpu_quota) - pools):
            allowed = ", ".join(sorted(pools)) or "(no pools defined)"
            yield key(f"teams[{i}].gpuQuota.{pool}"), f"no node pool named {pool!r}; allowed: {allowed}"


# Label keys the platform sets on every GPU node (and selects on): config labels cannot override them.
PLATFORM_LABEL_PREFIXES = ("gpu-platform.io/",)
# Karpenter refuses NodePool template labels in its own domains.
KARPENTER_LABEL_PREFIXES = ("karpenter.sh/", "karpenter.k8s.aws/")
PLATFORM_LABELS = frozenset(
    {
        L.GPU_PRODUCT_LABEL,
        L.DEVICE_PLUGIN_CONFIG_LABEL,
        L.MIG_CONFIG_LABEL,
        L.SIMULATED_POOL_LABEL,
        "k8s.amazonaws.com/accelerator",
    }
)
# The kubelet may set only these labels in the kubernetes.io and k8s.io namespaces (NodeRestriction).
KUBELET_LABEL_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")
KUBELET_LABELS = frozenset(
    {
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "beta.kubernetes.io/os",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "kubernetes.io/arch",
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "node.kubernetes.io/instance-type",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    }
)
NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _label_problem(label: str) -> str | None:
    if label in PLATFORM_LABELS or label.startswith(PLATFORM_LABEL_PREFIXES):
        return "is set by the platform on every GPU node (queues and plugins select on it); use another key"
    if label.startswith(KARPENTER_LABEL_PREFIXES):
        return "is in Karpenter's own domain, which it refuses in NodePool labels; use another key"
    prefix = label.split("/", 1)[0] if "/" in label else ""
    restricted = prefix.endswith(("kubernetes.io", "k8s.io"))
    if restricted and label not in KUBELET_LABELS and not label.startswith(KUBELET_LABEL_PREFIXES):
        return (
            "is in a namespace the kubelet may not label nodes with (NodeRestriction); allowed there: "
            f"{', '.join(KUBELET_LABEL_PREFIXES)}* and well-known labels; or use your own domain"
        )
    return None


def _node_fields(c: PlatformConfig) -> Iterable[Issue]:
    managed = backend(c.cloud).has(Capability.MANAGED_CLUSTER)
    for i, pool in enumerate(c.node_pools):
        at = f"nodePools[{i}]"
        for label in sorted(pool.labels):
            if problem := _label_problem(label):
                yield key(f"{at}.labels.{label}"), problem
        seen: dict[tuple[str, str], str] = {(L.GPU_TAINT_KEY, L.GPU_TAINT_EFFECT): "the GPU taint the platform adds"}
        for j, taint in enumerate(pool.taints):
            pair = (taint.key, taint.effect.value)
            if pair in seen and not (
                pair == (L.GPU_TAINT_KEY, L.GPU_TAINT_EFFECT) and taint.value == L.GPU_TAINT_VALUE
            ):
                yield (
                    key(f"{at}.taints[{j}]"),
                    f"{taint.key}:{taint.effect.value} is already {seen[pair]}; a node takes one taint per key and "
                    "effect",
                )
            seen.setdefault(pair, f"taints[{j}]")
        for j, node in enumerate(pool.nodes):
            if not NODE_NAME.match(node):
                yield (
                    key(f"{at}.nodes[{j}]"),
                    f"{node!r} is not a Kubernetes node name; allowed: lowercase letters, digits, '-' and '.'",
                )
        if managed and pool.name == SYSTEM_POOL:
            yield key(f"{at}.name"), f"{SYSTEM_POOL!r} is the system node pool's name; choose another"
        if managed and pool.max_nodes < 1:
            yield key(f"{at}.maxNodes"), "0: the pool could never hold a node; allowed: an integer >= 1"


def _pool_specs(c: PlatformConfig) -> Iterable[tuple[int, NodePool, PoolSpec]]:
    """(index, pool, spec) for every pool that resolves and whose MIG layout is valid."""
    cloud = backend(c.cloud)
    for i, pool in enumerate(c.node_pools):
        gpu = cloud.pool_gpu(pool)
        if gpu is None:
            continue
        try:
            yield i, pool, pool_spec(pool, gpu[0], gpu[1])
        except (KeyError, ValueError):
            continue  # an invalid MIG profile: reported by _mig


def _mig(c: PlatformConfig) -> Iterable[Issue]:
    cloud = backend(c.cloud)
    # Where the platform installs the GPU software, the GPU Operator's MIG manager partitions GPUs
    # (one strategy per cluster); elsewhere the cloud does (GKE: its own rules, in its backend).
    operator_mig = cloud.has(Capability.GPU_SOFTWARE_CHOICE)
    strategies: dict[str, list[str]] = {}
    for i, pool in enumerate(c.node_pools):
        mig, resolved = pool.sharing.mig, cloud.pool_gpu(pool)
        if mig is None or resolved is None:
            continue
        at = f"nodePools[{i}].sharing.mig"
        gpu = GPUS[resolved[0]]
        if not gpu.mig_capable:
            capable = ", ".join(n for n, g in GPUS.items() if g.mig_capable)
            yield key(at), f"{gpu.name} does not support MIG; MIG-capable GPUs: {capable}"
            continue
        if mig.profile is not None and mig.profile not in gpu.mig_profiles:
            yield (
                key(f"{at}.profile"),
                f"{mig.profile!r} is not a MIG profile of {gpu.name}; allowed: {', '.join(gpu.mig_profiles)}",
            )
            continue
        if mig.layout is not None and (problem := mig_layout_problem(gpu, dict(mig.layout))):
            yield key(f"{at}.layout"), problem
            continue
        if operator_mig and c.gpu_software.stack is not GpuStack.GPU_OPERATOR:
            yield (
                key(at),
                "MIG needs gpu-platform:gpuSoftware.stack: gpu-operator (its MIG manager partitions the GPUs)",
            )
        strategies.setdefault(mig.strategy.value, []).append(pool.name)
    if operator_mig and len(strategies) > 1:
        pools = "; ".join(f"{s}: {', '.join(p)}" for s, p in sorted(strategies.items()))
        yield (
            key("nodePools"),
            f"the GPU Operator has one MIG strategy per cluster, but pools use several ({pools}); use one",
        )


def _software_choices(c: PlatformConfig) -> Iterable[Issue]:
    if backend(c.cloud).gpu_stack(c) == GpuStack.GPU_OPERATOR.value and c.gpu_software.fake_gpus.enabled:
        yield (
            key("gpuSoftware.fakeGpus.enabled"),
            "fake-gpu-operator conflicts with the real GPU Operator; allowed: false",
        )


def _team_quotas_fit(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool, spec in _pool_specs(c):
        holders = [(t.name, t.gpu_quota[pool.name]) for t in c.teams if t.gpu_quota.get(pool.name)]
        if not holders:
            continue
        resources = spec.resources()
        if len(resources) > 1:
            yield (
                key(f"nodePools[{i}].sharing.mig.strategy"),
                f"teams {', '.join(n for n, _ in holders)} have quota on {pool.name}, which advertises several MIG "
                "resources (mixed); queues need one: use strategy single",
            )
            continue
        total, capacity = sum(q for _, q in holders), spec.max_schedulable_gpus
        if total > capacity and not c.queues.allow_overcommit:
            shares = ", ".join(f"{n} ({q})" for n, q in holders)
            (unit,) = resources
            yield (
                key("teams"),
                f"pool {pool.name} advertises at most {capacity} {unit} but teams {shares} hold {total}; "
                "lower the quotas, raise maxNodes, or set gpu-platform:queues.allowOvercommit: true",
            )


def _queue_flavors(c: PlatformConfig) -> Iterable[Issue]:
    """Kueue refuses a ClusterQueue with more than 64 flavors in a resource group (one flavor per pool)."""
    if not c.queues.enabled:
        return
    lendable = lendable_pools(t.gpu_quota for t in c.teams)
    for i, team in enumerate(c.teams):
        reach = set(team.gpu_quota) | (lendable if team.can_borrow else set())
        if len(reach) > MAX_FLAVORS:
            why = "quota on, or may borrow on," if team.can_borrow else "quota on"
            yield (
                key(f"teams[{i}]"),
                f"team {team.name} has {why} {len(reach)} pools, but a Kueue ClusterQueue holds at most "
                f"{MAX_FLAVORS} flavors (one per pool); give it fewer pools, or canBorrow: false",
            )


def _workloads(c: PlatformConfig) -> Iterable[Issue]:
    if c.platform is not None:
        return  # a team stack: checked against its platform's contract by the loader
    try:
        contract = platform_contract(c)
    except (KeyError, ValueError):
        return  # a pool that does not resolve (reported by its own rule); jobs are checked once it does
    yield from job_issues(c.training.jobs, contract)
    yield from endpoint_issues(c.serving.endpoints, contract)


# Bucket names the clouds reserve (S3 "Bucket naming rules"; Cloud Storage "Bucket names").
BUCKET_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # cloud: (reserved prefixes, reserved suffixes, reserved substrings)
    "aws": (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", "--x-s3", "--table-s3"), ()),
    "gcp": (("goog",), (), ("google", "g00gle")),
}


def _storage(c: PlatformConfig) -> Iterable[Issue]:
    s = c.storage
    if not s.enabled:
        return
    cloud = c.cloud.value
    if cloud in BUCKET_RULES:
        if s.bucket is None:
            yield key("storage.bucket"), "a bucket name is required on aws and gcp (globally unique, 3-63 characters)"
            return
        prefixes, suffixes, inside = BUCKET_RULES[cloud]
        if s.bucket.startswith(prefixes) or s.bucket.endswith(suffixes) or any(w in s.bucket for w in inside):
            reserved = ", ".join(
                [*(f"{p}*" for p in prefixes), *(f"*{x}" for x in suffixes), *(f"*{w}*" for w in inside)]
            )
            yield key("storage.bucket"), f"{s.bucket!r} uses a form {cloud} reserves ({reserved}); choose another"


# What a team deployer is, per cloud: the identity the cloud's cluster access understands.
DEPLOYER_FORMS: dict[str, tuple[str | tuple[str, ...], str]] = {
    "aws": ("arn:aws", "an IAM role or user ARN"),
    "gcp": (
        ("user:", "serviceAccount:"),
        "user: or serviceAccount: and an email (group: needs Google Groups for RBAC, which this platform's GKE "
        "clusters do not set up)",
    ),
}


def _deployers(c: PlatformConfig) -> Iterable[Issue]:
    form = DEPLOYER_FORMS.get(c.cloud.value)
    if form is None:
        return
    prefix, what = form
    for i, team in enumerate(c.teams):
        seen: set[str] = set()
        for j, deployer in enumerate(team.deployers):
            if not deployer.startswith(prefix):
                yield key(f"teams[{i}].deployers[{j}]"), f"{deployer!r} is not {what} ({c.cloud.value})"
            if deployer in seen:
                yield key(f"teams[{i}].deployers[{j}]"), f"{deployer!r} is listed twice"
            elif deployer in c.cluster.admins:
                # EKS keeps one access entry per principal: it cannot be both admin and a team's deployer.
                yield key(f"teams[{i}].deployers[{j}]"), f"{deployer!r} is a cluster admin already (cluster.admins)"
            seen.add(deployer)


def _warm_capacity(c: PlatformConfig) -> Iterable[Issue]:
    for i, pool in enumerate(c.node_pools):
        for j, window in enumerate(pool.warm):
            if window.nodes > pool.max_nodes:
                yield (
                    key(f"nodePools[{i}].warm[{j}].nodes"),
                    f"{window.nodes} warm nodes, but the pool scales to {pool.max_nodes} (maxNodes); allowed: 1 to "
                    f"{pool.max_nodes}",
                )


def _external_endpoints(c: PlatformConfig) -> Iterable[Issue]:
    if c.serving.external is None or c.platform is not None:
        return
    if not c.serving.enabled:
        yield (
            key("serving.external"),
            "exposes the serving stack's endpoints, but serving.enabled is false; enable serving or remove external",
        )
    # External hosts are <endpoint>-<team>.<domain>, and each team may serve only hosts ending in -<team>.<domain>:
    # with teams `ml` and `research-ml`, `ml` could serve research-ml's hosts.
    for i, team in enumerate(c.teams):
        for other in c.teams:
            if other.name != team.name and team.name.endswith(f"-{other.name}"):
                yield (
                    key(f"teams[{i}].name"),
                    f"{team.name!r} ends in '-{other.name}': with external endpoints (<endpoint>-<team>.<domain>), "
                    f"team {other.name} could serve {team.name}'s hosts; rename one of them",
                )


def _node_health(c: PlatformConfig) -> Iterable[Issue]:
    if c.node_health.gpu_health is GpuHealthMode.REMEDIATE and c.gpu_software.dcgm.enabled:
        yield (
            key("nodeHealth.gpuHealth"),
            (
                "remediate lets EKS replace nodes the node monitoring agent reports unhealthy, but next to the "
                "platform's DCGM (gpuSoftware.dcgm.enabled) the agent reports healthy GPUs as failed "
                "(aws/containers-roadmap#2763), and nodes would be replaced mid-job; allowed with DCGM on: monitor, off"
            ),
        )


def _team_stack(c: PlatformConfig) -> Iterable[Issue]:
    """A team stack holds the team's jobs and its platform reference; everything else is the platform's."""
    if c.platform is None:
        return
    allowed = {"platform", "training", "serving"}
    for alias in _set_aliases(c):
        if alias not in allowed:
            yield key(alias), "a team stack takes this from its platform stack (gpu-platform:platform); remove it"
    for alias in _set_aliases(c.training):
        if alias != "jobs":
            yield key(f"training.{alias}"), "a team stack has only training.jobs; the platform stack installs the rest"
    for alias in _set_aliases(c.serving):
        if alias != "endpoints":
            yield (
                key(f"serving.{alias}"),
                "a team stack has only serving.endpoints; the platform stack installs the rest",
            )


RULES: tuple[Rule, ...] = (
    _supported_cloud,
    _unique_pools,
    _fields_for_cloud,
    _cloud_rules,
    _simulated_pools,
    _sharing_needs_device_plugin,
    _nodes_in_one_pool,
    _mig,
    _software_choices,
    _team_quotas_fit,
    _teams,
    _namespaces,
    _node_fields,
    _queue_flavors,
    _workloads,
    _storage,
    _team_stack,
    _node_health,
    _deployers,
    _warm_capacity,
    _external_endpoints,
)


def semantic_issues(config: PlatformConfig) -> list[Issue]:
    return [issue for rule in RULES for issue in rule(config)]
