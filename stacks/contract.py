"""What a platform stack offers its teams' workloads: the contract team stacks build on.

The platform program exports it as the ``platform`` stack output; a team stack reads it through a
``StackReference`` and checks its jobs against it. It is derived from the platform's config alone
(pools resolved through the catalog, teams, queues, runtimes, storage), so a team stack can be
checked and planned offline from the platform's stack file, and a test keeps the export equal to
the derivation. Plain JSON in and out: it crosses stacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from components import labels as L
from components.endpoint_exposure import KINDS, security_policy_name
from components.kueue_config import LOCAL_QUEUE, lendable_pools
from components.pool_spec import PoolSpec, SharingMode
from components.training_network import gpudirect_stack
from stacks.model import PlatformConfig
from stacks.resolve import pool_specs, resolve_pools

CONTRACT_VERSION = 1
"""Bumped when a field changes meaning; part of the exported contract, so a team stack deployed against a
platform of another version reports the difference (``infra/team_stack.py``)."""

TRAINING_SERVICE_ACCOUNT = L.TRAINING_SERVICE_ACCOUNT
SERVING_SERVICE_ACCOUNT = L.SERVING_SERVICE_ACCOUNT


@dataclass(frozen=True)
class PoolContract:
    name: str
    gpu: str
    gpus_per_node: int
    max_nodes: int
    node_resources: dict[str, int]
    """Extended resources one node advertises after sharing and MIG (``nvidia.com/gpu``: 8 ...)."""
    node_selector: dict[str, str]
    tolerations: list[dict[str, str]]
    """The pool's taints as pod tolerations (the GPU taint first)."""
    cpus_per_node: int
    memory_gib_per_node: int
    machine_type: str = ""
    """Instance or machine type on clouds; empty on existing clusters."""
    efa_devices: int = 0
    """EFA devices per node (``vpc.amazonaws.com/efa``); 0 when the pool has no EFA."""
    gpudirect: str = ""
    """The GPUDirect networking GKE machines of this family need for multi-node training ("" if none)."""
    topology_levels: list[str] = field(default_factory=list)
    """Node labels of the pool's network topology, outermost first (empty: no Kueue Topology)."""
    sharing_replicas: int = 1
    """Pods one GPU (or MIG slice) is shared by (time-slicing, MPS); 1 when not shared."""
    max_units_per_pod: int = 0
    """Most GPU units one pod may request (1 where time-slicing refuses more; else what a node advertises)."""


@dataclass(frozen=True)
class TeamContract:
    name: str
    namespace: str
    queue: str
    """LocalQueue of the team's namespace ("" when queues are off)."""
    gpu_quota: dict[str, int]
    can_borrow: bool
    training_service_account: str = TRAINING_SERVICE_ACCOUNT
    serving_service_account: str = SERVING_SERVICE_ACCOUNT


@dataclass(frozen=True)
class PlatformContract:
    cloud: str
    cluster: str
    training: bool
    """Kubeflow Trainer is installed."""
    runtimes: list[str]
    max_restarts: int
    ttl_seconds_after_finished: int
    storage: str
    """Checkpoint/model storage location (``s3://b``, ``gs://b``, ``pvc://checkpoints``), "" when none."""
    pools: list[PoolContract]
    teams: list[TeamContract]
    lendable_pools: list[str]
    """Pools some team has quota on: where a borrowing team can borrow."""
    serving: bool = False
    """The serving stack (KServe, the vLLM runtime) is installed."""
    serving_mode: str = "kserve"
    """``kserve`` (InferenceServices) or ``plain`` (vLLM Deployments)."""
    prometheus: str = ""
    """Prometheus that scrapes the endpoints ("" when none): endpoints scale on load only with it."""
    external: str = ""
    """How endpoints are exposed outside the cluster (``components.endpoint_exposure.KINDS``: ``alb``,
    ``gke-gateway``); "" when they cannot be."""
    external_domain: str = ""
    """Domain of the external endpoints (``<name>-<team>.<domain>``)."""
    external_security_policy: str = ""
    """gke-gateway: the Cloud Armor policy the endpoints' backends name ("" when anyone may connect)."""
    version: int = CONTRACT_VERSION

    def pool(self, name: str) -> PoolContract | None:
        return next((p for p in self.pools if p.name == name), None)

    def team(self, name: str) -> TeamContract | None:
        return next((t for t in self.teams if t.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> PlatformContract:
        values = dict(data)
        values["pools"] = [PoolContract(**p) for p in values.get("pools", [])]
        values["teams"] = [TeamContract(**t) for t in values.get("teams", [])]
        return PlatformContract(**values)


def storage_location(config: PlatformConfig) -> str:
    s = config.storage
    if not s.enabled:
        return ""
    scheme = {"aws": "s3", "gcp": "gs"}.get(config.cloud.value)
    return f"{scheme}://{s.bucket}" if scheme and s.bucket else "pvc://checkpoints"


def _pool(spec: PoolSpec, machine_type: str, efa_devices: int, cloud: str) -> PoolContract:
    return PoolContract(
        name=spec.name,
        gpu=spec.gpu,
        gpus_per_node=spec.gpus_per_node,
        max_nodes=spec.max_nodes,
        node_resources=dict(spec.node_resources()),
        node_selector={L.POOL_LABEL: spec.name},
        tolerations=[
            {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
            if t.value
            else {"key": t.key, "operator": "Exists", "effect": t.effect}
            for t in spec.taints
        ],
        cpus_per_node=spec.cpus_per_node,
        memory_gib_per_node=spec.memory_gib_per_node,
        machine_type=machine_type,
        efa_devices=efa_devices,
        gpudirect=gpudirect_stack(cloud, machine_type),
        topology_levels=list(spec.topology_levels),
        sharing_replicas=spec.sharing.replicas,
        max_units_per_pod=1 if one_unit_per_pod(spec) else max(spec.node_resources().values(), default=0),
    )


def one_unit_per_pod(spec: PoolSpec) -> bool:
    """Time-slicing with ``failRequestsGreaterThanOne``: the device plugin refuses pods asking for more than one."""
    sharing = spec.sharing
    return sharing.mode is SharingMode.TIME_SLICING and sharing.fail_requests_greater_than_one


def _external(config: PlatformConfig) -> tuple[str, str, str]:
    """(exposure kind, domain, Cloud Armor policy) of the platform's external endpoints; empty when it has none."""
    external = config.serving.external
    kind = KINDS.get(config.cloud.value, "")
    if external is None or not config.serving.enabled or not kind:
        return "", "", ""
    armor = security_policy_name(config.cluster.name, external.source_ranges) if kind == "gke-gateway" else ""
    return kind, external.domain, armor


def platform_contract(config: PlatformConfig) -> PlatformContract:
    """The contract of a platform stack whose config passed the checks (pools resolve)."""
    resolved = {rp.pool.name: rp for rp in resolve_pools(config)}
    pools = []
    for spec in pool_specs(config, list(resolved.values())):
        rp = resolved.get(spec.name)
        machine = rp.offering.instance_type if rp else ""
        efa = rp.offering.max_efa_interfaces if rp and rp.pool.efa else 0
        pools.append(_pool(spec, machine, efa, config.cloud.value))
    queues = config.queues.enabled and bool(config.teams)
    teams = [
        TeamContract(
            name=t.name,
            namespace=t.namespace_name,
            queue=LOCAL_QUEUE if queues else "",
            gpu_quota=dict(t.gpu_quota),
            can_borrow=t.can_borrow,
        )
        for t in config.teams
    ]
    external, domain, armor = _external(config)
    return PlatformContract(
        cloud=config.cloud.value,
        cluster=config.cluster.name,
        training=config.training.enabled,
        runtimes=[r.value for r in config.training.runtimes] if config.training.enabled else [],
        max_restarts=config.training.max_restarts,
        ttl_seconds_after_finished=config.training.ttl_seconds_after_finished,
        storage=storage_location(config),
        serving=config.serving.enabled,
        serving_mode=config.serving.mode.value,
        prometheus=config.serving.prometheus or "",
        external=external,
        external_domain=domain,
        external_security_policy=armor,
        pools=pools,
        teams=teams,
        lendable_pools=sorted(lendable_pools(t.gpu_quota for t in config.teams)),
    )
