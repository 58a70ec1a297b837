"""Training jobs and model endpoints checked against what their platform offers, every problem at once.

A platform stack checks its own jobs against its derived contract; a team stack checks its
jobs against the contract of the platform stack it references. Either way a job that could
never be admitted or scheduled (too many GPUs for a node, more than the team's quota, a
runtime that is not installed, EFA on a pool without it) is refused before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from components.training_network import EFA_HUGEPAGES
from stacks.clouds import Issue, key
from stacks.contract import PlatformContract, PoolContract, TeamContract
from stacks.model import EndpointKind, Interconnect, ServingEndpoint, TopologyPlacement, TrainingJob

MAX_DNS_LABEL = 63

_SUFFIX = {
    "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")
GIB = 2**30


def quantity(text: str) -> float:
    """A Kubernetes quantity (``500m``, ``64Gi``) as a number (cores, bytes); the model validated its shape."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(text)
    number, suffix = match.groups()
    return float(number) * _SUFFIX.get(suffix, 1.0)


class Placed(Protocol):
    """What names a workload's pool: a training job or a model endpoint."""

    @property
    def pool(self) -> str | None: ...
    @property
    def gpu(self) -> str | None: ...


def job_pool(job: Placed, team: TeamContract | None, contract: PlatformContract) -> list[PoolContract]:
    """The pools a workload may run on: its named pool, or the pools with its GPU the team can use."""
    if job.pool is not None:
        pool = contract.pool(job.pool)
        return [pool] if pool else []
    usable = set(team.gpu_quota) if team else set()
    if team and team.can_borrow:
        usable |= set(contract.lendable_pools)
    return [p for p in contract.pools if p.gpu == job.gpu and p.name in usable]


def placed_pool(
    workload: Placed,
    here: str,
    team: TeamContract,
    contract: PlatformContract,
    config_pools: frozenset[str] = frozenset(),
) -> tuple[PoolContract | None, list[Issue]]:
    """The one pool a workload runs on, or the problems that leave it without one (a pool the config names
    that did not resolve is reported by its own rule, not again here)."""
    pools = job_pool(workload, team, contract)
    if workload.pool is not None and not pools:
        if workload.pool in config_pools:
            return None, []
        allowed = ", ".join(p.name for p in contract.pools) or "(no pools defined)"
        return None, [(key(f"{here}.pool"), f"no node pool named {workload.pool!r}; allowed: {allowed}")]
    if workload.gpu is not None and len(pools) != 1:
        why = (
            f"several pools have it ({', '.join(p.name for p in pools)}); name one with pool"
            if pools
            else f"no pool has it that team {team.name} has quota on or may borrow"
        )
        return None, [(key(f"{here}.gpu"), f"{workload.gpu}: {why}")]
    return pools[0], []


def _resource(pool: PoolContract) -> str | None:
    """The one GPU resource a pool's nodes advertise (None for mixed MIG, which advertises several)."""
    return next(iter(pool.node_resources)) if len(pool.node_resources) == 1 else None


def job_issues(
    jobs: Sequence[TrainingJob],
    contract: PlatformContract,
    at: str = "training.jobs",
    only_team: str | None = None,
) -> Iterable[Issue]:
    """Every problem of ``jobs`` (at config path ``at``) against ``contract``.

    ``only_team``: a team stack's own team (its jobs may name no other).
    """
    seen: set[tuple[str, str]] = set()
    for i, job in enumerate(jobs):
        here = f"{at}[{i}]"
        if not contract.training:
            yield (
                key(f"{here}"),
                (
                    "Kubeflow Trainer is not installed (gpu-platform:training.enabled is false on the platform stack); "
                    "enable it or remove the job"
                ),
            )
            continue
        if (job.team, job.name) in seen:
            yield key(f"{here}.name"), f"{job.name!r} is used by an earlier job of team {job.team}; names are unique"
        seen.add((job.team, job.name))
        team = contract.team(job.team)
        if only_team is not None and job.team != only_team:
            yield key(f"{here}.team"), f"{job.team!r}: this team stack deploys only team {only_team}'s jobs"
            continue
        if team is None:
            allowed = ", ".join(t.name for t in contract.teams) or "(no teams defined)"
            yield key(f"{here}.team"), f"no team named {job.team!r}; allowed: {allowed}"
            continue
        if not team.queue:
            yield (
                key(f"{here}.team"),
                ("jobs are admitted by the team's Kueue queue, and queues are off (gpu-platform:queues.enabled)"),
            )
        if job.runtime.value not in contract.runtimes:
            yield (
                key(f"{here}.runtime"),
                (
                    f"{job.runtime.value!r} is not installed; allowed: {', '.join(contract.runtimes) or '(none)'} "
                    "(gpu-platform:training.runtimes)"
                ),
            )
        if job.checkpoint and not contract.storage:
            yield key(f"{here}.checkpoint"), "the platform has no storage (gpu-platform:storage.enabled: true)"
        pool, problems = placed_pool(job, here, team, contract)
        yield from problems
        if pool is not None:
            yield from _fits(job, here, team, pool, contract)


@dataclass(frozen=True)
class Demand:
    """What a workload asks of its pool: ``pods`` pods of ``units`` GPU units each (config keys named for errors)."""

    pods: int
    units: int
    cpu: str | None
    memory: str | None
    pods_key: str
    units_key: str
    queued: bool
    """Admitted by the team's Kueue queue (which also rations cpu and memory); else only its GPU ResourceQuota."""
    hugepages: float = 0.0
    """Bytes of hugepages each pod requests besides its memory."""


def fit_issues(d: Demand, here: str, team: TeamContract, pool: PoolContract, c: PlatformContract) -> Iterable[Issue]:
    """A workload's pods fit one node each, the pool at its maximum, and the team's quota on it."""
    resource = _resource(pool)
    if resource is None:
        yield (
            key(f"{here}.pool"),
            (
                f"pool {pool.name} advertises several MIG resources (mixed strategy); a workload needs one: use a "
                "pool with strategy single"
            ),
        )
        return
    per_node = pool.node_resources[resource]
    if d.units > pool.max_units_per_pod:
        why = (
            "its GPUs are time-sliced and the device plugin refuses pods asking for more than one"
            if pool.max_units_per_pod < per_node
            else f"a node of it advertises {per_node} {resource}"
        )
        yield (
            key(f"{here}.{d.units_key}"),
            f"{d.units} does not fit one node of pool {pool.name}: {why}; allowed: 1 to {pool.max_units_per_pod}",
        )
    total = d.pods * d.units
    nodes_needed = math.ceil(d.pods / max(1, per_node // d.units))
    if nodes_needed > pool.max_nodes:
        yield (
            key(f"{here}.{d.pods_key}"),
            (
                f"{d.pods} pods of {d.units} {resource} need {nodes_needed} nodes, but pool {pool.name} scales to "
                f"{pool.max_nodes} (maxNodes)"
            ),
        )
    quota = team.gpu_quota.get(pool.name, 0)
    gate = "Kueue would never admit it" if d.queued else "the namespace's GPU quota would refuse the pods beyond it"
    if total > quota and not team.can_borrow:
        yield (
            key(f"{here}.{d.pods_key}"),
            (
                f"{d.pods} x {d.units} = {total} {resource} on {pool.name}, but team {team.name}'s quota there is "
                f"{quota} and it may not borrow (canBorrow: false); {gate}"
            ),
        )
    elif total > quota and pool.name not in c.lendable_pools:
        yield (
            key(f"{here}.pool"),
            f"team {team.name} has no quota on {pool.name} and no team lends it; {gate}",
        )
    if d.queued and not team.can_borrow:
        yield from _cpu_memory_quota(d, here, team, pool, quota, per_node)
    yield from _node_size(d, here, pool)


def _job_demand(job: TrainingJob, pool: PoolContract) -> Demand:
    efa = pool.efa_devices and job.interconnect is not Interconnect.TCP
    return Demand(
        job.nodes,
        job.gpus_per_node,
        job.cpu,
        job.memory,
        "nodes",
        "gpusPerNode",
        queued=True,
        hugepages=quantity(EFA_HUGEPAGES) if efa else 0.0,
    )


def _fits(job: TrainingJob, here: str, team: TeamContract, pool: PoolContract, c: PlatformContract) -> Iterable[Issue]:
    yield from fit_issues(_job_demand(job, pool), here, team, pool, c)
    yield from _interconnect(job, here, pool)
    if job.shm_size_gib is not None and job.memory is not None and job.shm_size_gib * GIB > quantity(job.memory):
        yield (
            key(f"{here}.shmSizeGiB"),
            f"{job.shm_size_gib} GiB of /dev/shm counts against the pod's memory ({job.memory}); lower it or raise memory",
        )
    if job.topology is TopologyPlacement.REQUIRED and not pool.topology_levels:
        yield (
            key(f"{here}.topology"),
            (
                f"pool {pool.name} ({pool.machine_type or 'existing nodes'}) gets no Kueue Topology (its nodes report "
                "none, or it autoscales: minNodes < maxNodes, or queues.topologyAware is false); allowed: preferred "
                "or none"
            ),
        )


def _cpu_memory_quota(
    d: Demand, here: str, team: TeamContract, pool: PoolContract, quota: int, per_node: int
) -> Iterable[Issue]:
    """The team's queue also rations cpu and memory on the pool: a node's worth per node's worth of GPU units
    (components/gpu_queues.py), so a workload asking more per GPU than a node has per GPU is never admitted."""
    # The same arithmetic as the ClusterQueue's (components/gpu_queues.py: per unit, then times the units).
    cpu_quota = int(quota * (pool.cpus_per_node / per_node))
    memory_quota = int(quota * (pool.memory_gib_per_node / per_node))
    if d.cpu is not None and d.pods * quantity(d.cpu) > cpu_quota:
        yield (
            key(f"{here}.cpu"),
            (
                f"{d.pods} x {d.cpu} cpu is more than team {team.name}'s queue holds on {pool.name} ({cpu_quota}); "
                "Kueue would never admit it"
            ),
        )
    if d.memory is not None and d.pods * quantity(d.memory) > memory_quota * GIB:
        yield (
            key(f"{here}.memory"),
            (
                f"{d.pods} x {d.memory} is more than team {team.name}'s queue holds on {pool.name} "
                f"({memory_quota}Gi); Kueue would never admit it"
            ),
        )


def _interconnect(job: TrainingJob, here: str, pool: PoolContract) -> Iterable[Issue]:
    if job.interconnect is Interconnect.EFA and not pool.efa_devices:
        yield (
            key(f"{here}.interconnect"),
            f"efa: pool {pool.name} has no EFA (efa: true on the pool); allowed: auto, tcp",
        )
    if job.interconnect is Interconnect.AUTO and pool.gpudirect and job.nodes > 1:
        yield (
            key(f"{here}.interconnect"),
            (
                f"a multi-node job on {pool.machine_type} needs {pool.gpudirect} (GKE multi-networking with a VPC per "
                "GPU NIC and NCCL's GPUDirect plugin), which this version does not set up; set interconnect: tcp to "
                "run over the node's standard network at a fraction of the bandwidth, or use nodes: 1"
            ),
        )


def _node_size(d: Demand, here: str, pool: PoolContract) -> Iterable[Issue]:
    if d.cpu is not None and quantity(d.cpu) > pool.cpus_per_node:
        yield key(f"{here}.cpu"), f"{d.cpu} is more than a node of pool {pool.name} has ({pool.cpus_per_node} vCPUs)"
    memory = quantity(d.memory) if d.memory is not None else 0.0
    if memory + d.hugepages > pool.memory_gib_per_node * GIB:
        extra = f" plus {EFA_HUGEPAGES} of hugepages for EFA" if d.hugepages else ""
        yield (
            key(f"{here}.memory"),
            f"{d.memory}{extra} is more than a node of pool {pool.name} has ({pool.memory_gib_per_node} GiB)",
        )


# What KServe's LLMInferenceService needs beyond what the platform installs (KServe v0.20 docs, "LLMInferenceService").
LLM_INFERENCE_SERVICE_NEEDS = (
    "KServe's llmisvc charts (kserve-llmisvc-crd, kserve-llmisvc-resources), the Gateway API CRDs and its inference "
    "extension (InferencePool, inference.networking.k8s.io/v1), and a gateway implementation KServe supports (Envoy "
    "Gateway with Envoy AI Gateway)"
)


def _kind_issues(endpoint: ServingEndpoint, here: str) -> Iterable[Issue]:
    if endpoint.kind is EndpointKind.LLM_INFERENCE_SERVICE:
        yield (
            key(f"{here}.kind"),
            (
                f"LLMInferenceService needs {LLM_INFERENCE_SERVICE_NEEDS}; the platform installs none of them; "
                "allowed: InferenceService"
            ),
        )


def _external_issues(endpoint: ServingEndpoint, here: str, contract: PlatformContract) -> Iterable[Issue]:
    if not endpoint.external:
        return
    if not contract.external:
        yield (
            key(f"{here}.external"),
            "the platform exposes no endpoints outside the cluster: set gpu-platform:serving.external (domain, "
            "certificate) on the platform stack (aws or gcp), or remove external",
        )
        return
    if endpoint.api_key is None:
        yield (
            key(f"{here}.apiKey"),
            "an external endpoint needs an API key (a Pulumi secret: pulumi config set --secret ...); the platform "
            "never opens an unauthenticated endpoint to the outside",
        )
    label = f"{endpoint.name}-{endpoint.team}"
    if len(label) > MAX_DNS_LABEL:
        yield (
            key(f"{here}.name"),
            f"the endpoint's host {label}.{contract.external_domain} starts with a DNS label of {len(label)} "
            f"characters (name-team); allowed: at most {MAX_DNS_LABEL}: shorten the name",
        )


def endpoint_issues(
    endpoints: Sequence[ServingEndpoint],
    contract: PlatformContract,
    at: str = "serving.endpoints",
    only_team: str | None = None,
) -> Iterable[Issue]:
    """Every problem of model ``endpoints`` against ``contract``: the serving stack is there, the team and
    pool exist, a replica fits one node, and maxReplicas x GPUs fits the team's quota on the pool."""
    seen: set[tuple[str, str]] = set()
    for i, endpoint in enumerate(endpoints):
        here = f"{at}[{i}]"
        if not contract.serving:
            yield (
                key(here),
                (
                    "the serving stack is not installed (gpu-platform:serving.enabled is false on the platform stack); "
                    "enable it or remove the endpoint"
                ),
            )
            continue
        if (endpoint.team, endpoint.name) in seen:
            yield key(f"{here}.name"), f"{endpoint.name!r} is used by an earlier endpoint of team {endpoint.team}"
        seen.add((endpoint.team, endpoint.name))
        if only_team is not None and endpoint.team != only_team:
            yield key(f"{here}.team"), f"{endpoint.team!r}: this team stack deploys only team {only_team}'s endpoints"
            continue
        team = contract.team(endpoint.team)
        if team is None:
            allowed = ", ".join(t.name for t in contract.teams) or "(no teams defined)"
            yield key(f"{here}.team"), f"no team named {endpoint.team!r}; allowed: {allowed}"
            continue
        yield from _kind_issues(endpoint, here)
        yield from _external_issues(endpoint, here, contract)
        if endpoint.scaling is not None and not contract.prometheus:
            yield (
                key(f"{here}.scaling"),
                (
                    "scaling on vLLM's load reads its metrics from Prometheus: set gpu-platform:serving.prometheus on the "
                    "platform stack, or remove scaling (replicas stay at minReplicas)"
                ),
            )
        if contract.serving_mode == "plain" and endpoint.model.startswith(("s3://", "gs://")):
            yield (
                key(f"{here}.model"),
                (
                    "without KServe's storage initializer, vLLM fetches weights itself, from hf:// or a pvc:// volume; "
                    "allowed in serving.mode plain: hf://, pvc:// (or serving.mode: kserve)"
                ),
            )
        elif endpoint.model.startswith(("s3://", "gs://")) and not (
            contract.storage and endpoint.model.startswith(f"{contract.storage}/teams/{team.name}/")
        ):
            where = f"{contract.storage}/teams/{team.name}/" if contract.storage else "none configured"
            yield (
                key(f"{here}.model"),
                (
                    f"the team's model-reader identity may read only its prefix of the platform's storage ({where}); "
                    "put the model there, or use hf://"
                ),
            )
        pool, problems = placed_pool(endpoint, here, team, contract)
        yield from problems
        if pool is None:
            continue
        if pool.sharing_replicas > 1 and endpoint.gpu_memory_utilization > 1 / pool.sharing_replicas:
            most = int(100 / pool.sharing_replicas) / 100
            yield (
                key(f"{here}.gpuMemoryUtilization"),
                (
                    f"{endpoint.gpu_memory_utilization:g}: pool {pool.name} shares each GPU between "
                    f"{pool.sharing_replicas} pods, and vLLM would take that share of the GPU's memory for itself, "
                    f"leaving the others none; allowed: at most {most:g}, or a pool without sharing"
                ),
            )
        for j, window in enumerate(endpoint.schedule):
            if window.min_replicas > endpoint.max_replicas:
                yield (
                    key(f"{here}.schedule[{j}].minReplicas"),
                    (f"{window.min_replicas} is more than maxReplicas ({endpoint.max_replicas})"),
                )
        dynamic = endpoint.scaling is not None or bool(endpoint.schedule)
        if endpoint.max_replicas > endpoint.min_replicas and not dynamic:
            yield (
                key(f"{here}.maxReplicas"),
                (
                    f"{endpoint.max_replicas} above minReplicas ({endpoint.min_replicas}) without scaling or a schedule: nothing would "
                    "ever add a replica; set scaling, or maxReplicas equal to minReplicas"
                ),
            )
        if endpoint.min_replicas == 0 and not endpoint.schedule:
            # vLLM's metrics come from its own pods: with none running, KEDA reads 0 and never starts one.
            yield (
                key(f"{here}.minReplicas"),
                (
                    "0 would never start a replica (the load metric comes from running replicas, and requests to none "
                    "are refused, not queued); allowed: 1 or more, or a schedule that starts replicas"
                ),
            )
        demand = Demand(
            endpoint.max_replicas,
            endpoint.gpus_per_replica,
            endpoint.cpu,
            endpoint.memory,
            "maxReplicas",
            "gpusPerReplica",
            queued=False,
        )
        yield from fit_issues(demand, here, team, pool, contract)
