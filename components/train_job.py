"""A team's training job as a Kubeflow Trainer ``TrainJob`` manifest. Pure data.

What the job needs from its pool is derived, never typed by hand: the node selector and
tolerations of the pool, the GPU resource the pool advertises (``nvidia.com/gpu``, its shared
or MIG name), EFA devices and hugepages on EFA pools, the Kueue queue label, the topology
annotation Kueue's topology-aware scheduling reads, and a memory-backed ``/dev/shm``. Pod-level
settings go through the TrainJob's ``runtimePatches`` (one entry the platform owns, keyed by
its manager name, so Kueue's own entry never conflicts with it).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components import labels as L
from components.kueue_config import QUEUE_LABEL
from components.training_network import EFA_ENV, EFA_HUGEPAGES, EFA_RESOURCE, HUGEPAGES_RESOURCE
from components.training_runtimes import API_GROUP, API_VERSION, NODE, replicated_jobs

PATCH_MANAGER = "gpu-platform.io/platform"
"""runtimePatches entry the platform owns (Kueue owns ``kueue.x-k8s.io/manager``)."""
TEAM_LABEL = "gpu-platform.io/team"
JOB_LABEL = "gpu-platform.io/job"
SHM_VOLUME = "dshm"
CHECKPOINT_VOLUME = "checkpoints"
CHECKPOINT_MOUNT = "/checkpoints"
PREFERRED_TOPOLOGY = "kueue.x-k8s.io/podset-preferred-topology"
REQUIRED_TOPOLOGY = "kueue.x-k8s.io/podset-required-topology"


@dataclass(frozen=True)
class TrainJobSpec:
    name: str
    team: str
    namespace: str
    queue: str
    runtime: str
    """Runtime name (``torch-distributed`` ...)."""
    image: str
    nodes: int
    gpu_resource: str
    """The resource a node of the pool advertises GPUs as (``nvidia.com/gpu``, ``nvidia.com/gpu.shared`` ...)."""
    gpus_per_node: int
    node_selector: Mapping[str, str]
    tolerations: Sequence[Mapping[str, str]]
    runtime_namespaced: bool = False
    """The job has its own ``TrainingRuntime`` (named like the job) for its restart/TTL policy."""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    cpu: str | None = None
    memory: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secret_name: str | None = None
    """Kubernetes Secret holding ``secret_keys`` (one key per variable)."""
    secret_keys: tuple[str, ...] = ()
    efa_devices: int = 0
    topology: tuple[str, str] | None = None
    """(annotation, node label): where Kueue should keep the job's pods together."""
    service_account: str | None = None
    checkpoint_dir: str | None = None
    """``CHECKPOINT_DIR`` for the job (a bucket URL, or a path on the checkpoint volume)."""
    checkpoint_claim: str | None = None
    """PersistentVolumeClaim mounted at /checkpoints (existing clusters)."""
    shm_size_gib: int | None = None
    active_deadline_seconds: int | None = None


def _resources(job: TrainJobSpec) -> dict[str, Any]:
    # Extended resources and hugepages must have requests equal to limits; memory too, so NCCL's
    # pinned buffers and /dev/shm never make the pod the node's first eviction candidate.
    limits: dict[str, str] = {job.gpu_resource: str(job.gpus_per_node)}
    requests = dict(limits)
    if job.efa_devices:
        limits[EFA_RESOURCE] = requests[EFA_RESOURCE] = str(job.efa_devices)
        limits[HUGEPAGES_RESOURCE] = requests[HUGEPAGES_RESOURCE] = EFA_HUGEPAGES
    if job.memory is not None:
        limits["memory"] = requests["memory"] = job.memory
    if job.cpu is not None:
        requests["cpu"] = job.cpu
    return {"requests": dict(sorted(requests.items())), "limits": dict(sorted(limits.items()))}


def _env(job: TrainJobSpec) -> list[dict[str, Any]]:
    plain: dict[str, str] = dict(EFA_ENV) if job.efa_devices else {}
    if job.checkpoint_dir is not None:
        plain["CHECKPOINT_DIR"] = job.checkpoint_dir
    plain.update(job.env)  # the team's own settings win over the platform's defaults
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    out += [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": job.secret_name, "key": k}}} for k in sorted(job.secret_keys)
    ]
    return out


def _pod_patch(job: TrainJobSpec) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [
        # The container runtime's 64 MiB /dev/shm breaks NCCL's shared-memory transport and data loaders.
        {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", **_size(job.shm_size_gib)}}
    ]
    mounts = [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    if job.checkpoint_claim is not None:
        volumes.append({"name": CHECKPOINT_VOLUME, "persistentVolumeClaim": {"claimName": job.checkpoint_claim}})
        mounts.append({"name": CHECKPOINT_VOLUME, "mountPath": CHECKPOINT_MOUNT})
    spec: dict[str, Any] = {
        "nodeSelector": dict(job.node_selector),
        "tolerations": [dict(t) for t in job.tolerations],
        "volumes": volumes,
        "containers": [{"name": NODE, "volumeMounts": mounts}],
    }
    if job.service_account is not None:
        spec["serviceAccountName"] = job.service_account
    pod: dict[str, Any] = {"spec": spec}
    if job.topology is not None:
        annotation, level = job.topology
        pod["metadata"] = {"annotations": {annotation: level}}
    return pod


def _size(gib: int | None) -> dict[str, str]:
    return {"sizeLimit": f"{gib}Gi"} if gib else {}


def train_job_manifest(job: TrainJobSpec) -> dict[str, Any]:
    trainer: dict[str, Any] = {"image": job.image, "numNodes": job.nodes, "resourcesPerNode": _resources(job)}
    if job.command:
        trainer["command"] = list(job.command)
    if job.args:
        trainer["args"] = list(job.args)
    if env := _env(job):
        trainer["env"] = env
    pod = _pod_patch(job)
    spec: dict[str, Any] = {
        "runtimeRef": {
            "apiGroup": API_GROUP,
            "kind": "TrainingRuntime" if job.runtime_namespaced else "ClusterTrainingRuntime",
            "name": job.name if job.runtime_namespaced else job.runtime,
        },
        # Kueue admits a job by unsuspending it: a queued job must be created suspended.
        "suspend": True,
        "trainer": trainer,
        "runtimePatches": [
            {
                "manager": PATCH_MANAGER,
                "trainingRuntimeSpec": {
                    "template": {
                        "spec": {
                            "replicatedJobs": [
                                {"name": name, "template": {"spec": {"template": pod}}}
                                for name in replicated_jobs(job.runtime)
                            ]
                        }
                    }
                },
            }
        ],
    }
    if job.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = job.active_deadline_seconds
    return {
        "apiVersion": API_VERSION,
        "kind": "TrainJob",
        "metadata": {
            "name": job.name,
            "namespace": job.namespace,
            "labels": {
                QUEUE_LABEL: job.queue,
                TEAM_LABEL: job.team,
                JOB_LABEL: job.name,
                L.MANAGED_BY_LABEL: L.MANAGED_BY,
            },
        },
        "spec": spec,
    }
