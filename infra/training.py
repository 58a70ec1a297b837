"""Training jobs from config: each job mapped onto its pool and team through the platform contract.

The same mapping serves the platform stack (its own jobs) and team stacks (jobs against the
contract of the platform stack they reference), so a job renders the same either way.
"""

from collections.abc import Sequence

import pulumi

from components.train_job import PREFERRED_TOPOLOGY, REQUIRED_TOPOLOGY, TrainJobSpec
from components.training import TrainingJob, TrainingJobs, TrainingJobsArgs
from stacks.contract import PlatformContract
from stacks.model import Interconnect, TopologyPlacement
from stacks.model import TrainingJob as JobConfig
from stacks.workload_checks import job_pool

TOPOLOGY_ANNOTATIONS = {TopologyPlacement.PREFERRED: PREFERRED_TOPOLOGY, TopologyPlacement.REQUIRED: REQUIRED_TOPOLOGY}


def checkpoint_settings(storage: str, team: str, job: str) -> tuple[str | None, str | None]:
    """(CHECKPOINT_DIR, claim to mount) for a job: the team's prefix of the bucket, or its volume."""
    if not storage:
        return None, None
    if storage.startswith("pvc://"):
        claim = storage.removeprefix("pvc://")
        return f"/checkpoints/{job}/", claim
    return f"{storage}/teams/{team}/{job}/", None


def training_job(job: JobConfig, contract: PlatformContract) -> TrainingJob:
    """The job as components render it; call only on jobs that passed ``job_issues``."""
    team = contract.team(job.team)
    assert team is not None  # checked
    (pool,) = job_pool(job, team, contract)
    (resource,) = pool.node_resources
    efa = pool.efa_devices if pool.efa_devices and job.interconnect is not Interconnect.TCP else 0
    topology = None
    if job.nodes > 1 and pool.topology_levels and job.topology in TOPOLOGY_ANNOTATIONS:
        # preferred: as close as possible (the level right above the host), Kueue widens it when it must;
        # required: under one block (the outermost level), or wait until that fits.
        levels = pool.topology_levels
        level = levels[0] if job.topology is TopologyPlacement.REQUIRED else levels[max(0, len(levels) - 2)]
        topology = (TOPOLOGY_ANNOTATIONS[job.topology], level)
    checkpoint_dir, claim = (
        checkpoint_settings(contract.storage, team.name, job.name) if job.checkpoint else (None, None)
    )
    secrets = dict(job.secret_env)
    if job.hf_token is not None:
        secrets["HF_TOKEN"] = job.hf_token
    cloud_identity = contract.storage.startswith(("s3://", "gs://"))
    rp = job.run_policy
    restarts = contract.max_restarts if rp.max_restarts is None else rp.max_restarts
    ttl = (
        contract.ttl_seconds_after_finished if rp.ttl_seconds_after_finished is None else rp.ttl_seconds_after_finished
    )
    own = (restarts, ttl) != (contract.max_restarts, contract.ttl_seconds_after_finished)
    spec = TrainJobSpec(
        name=job.name,
        team=team.name,
        namespace=team.namespace,
        queue=team.queue,
        runtime=job.runtime.value,
        runtime_namespaced=own,
        image=job.image,
        nodes=job.nodes,
        gpu_resource=resource,
        gpus_per_node=job.gpus_per_node,
        node_selector=pool.node_selector,
        tolerations=pool.tolerations,
        command=tuple(job.command),
        args=tuple(job.args),
        cpu=job.cpu,
        memory=job.memory,
        env=dict(job.env),
        secret_name=f"{job.name}-env" if secrets else None,
        secret_keys=tuple(sorted(secrets)),
        efa_devices=efa,
        topology=topology,
        service_account=team.training_service_account if cloud_identity else None,
        checkpoint_dir=checkpoint_dir,
        checkpoint_claim=claim,
        shm_size_gib=job.shm_size_gib,
        active_deadline_seconds=rp.active_deadline_seconds,
    )
    return TrainingJob(spec, secrets, (restarts, ttl) if own else None)


def build_jobs(
    jobs: Sequence[JobConfig],
    contract: PlatformContract,
    depends_on: dict[str, list[pulumi.Resource]],
    opts: pulumi.ResourceOptions,
) -> dict[str, TrainingJobs]:
    """One component per team with jobs; ``depends_on``: team -> what its jobs wait for."""
    by_team: dict[str, list[TrainingJob]] = {}
    for job in jobs:
        by_team.setdefault(job.team, []).append(training_job(job, contract))
    return {
        team: TrainingJobs(f"jobs-{team}", TrainingJobsArgs(team_jobs, depends_on.get(team, [])), opts)
        for team, team_jobs in sorted(by_team.items())
    }
