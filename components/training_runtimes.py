"""The ClusterTrainingRuntimes the platform manages, as manifests. Pure data.

Kubeflow Trainer v2.3.0's own runtime manifests (``manifests/base/runtimes``) with their images pinned
and the failure and clean-up policy a platform sets for everyone: restart the whole job a bounded
number of times when a node fails (JobSet ``failurePolicy``), and delete finished jobs' pods after a
while (``ttlSecondsAfterFinished``). The chart can install its runtimes too, but from a post-install
hook Job that downloads kubectl at run time; rendering them here keeps them pinned, planned and
validated like every other object. A job with its own restart or TTL policy gets a namespaced
``TrainingRuntime`` built by the same function.
"""

from typing import Any

from components import labels as L
from components.versions import TRAINING_RUNTIME_IMAGES

API_VERSION = "trainer.kubeflow.org/v1alpha1"
API_GROUP = "trainer.kubeflow.org"
NODE = "node"
"""Name of the replicated job (and its container) that runs the training code on every node."""
LAUNCHER = "launcher"
ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
"""Marks the replicated job the TrainJob's ``trainer`` section (image, command, resources) applies to."""
FRAMEWORK_LABEL = "trainer.kubeflow.org/framework"


def _container(image: str, **extra: Any) -> dict[str, Any]:
    return {"name": NODE, "image": image, **extra}


def _job(name: str, spec: dict[str, Any], trainer: bool, **extra: Any) -> dict[str, Any]:
    template: dict[str, Any] = {"spec": {"template": {"spec": spec}}}
    if trainer:
        template["metadata"] = {"labels": {ANCESTOR_LABEL: "trainer"}}
    return {"name": name, **extra, "template": template}


def _torch(image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"torch": {}}, {"replicatedJobs": [_job(NODE, {"containers": [_container(image)]}, trainer=True)]}


def _jax(image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"jax": {}}, {"replicatedJobs": [_job(NODE, {"containers": [_container(image)]}, trainer=True)]}


def _deepspeed(image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # MPI: every node runs sshd; the launcher (itself a node: runLauncherAsNode) starts mpirun once they are ready.
    user = {"securityContext": {"runAsUser": 1000}}
    node = _container(
        image,
        **user,
        command=["/usr/sbin/sshd"],
        args=["-De", "-f", "/home/mpiuser/.sshd_config"],
        readinessProbe={"tcpSocket": {"port": 2222}, "initialDelaySeconds": 5},
    )
    pod = {"securityContext": {"fsGroup": 1000}}
    policy = {
        "mpi": {
            "numProcPerNode": 1,
            "mpiImplementation": "OpenMPI",
            "sshAuthMountPath": "/home/mpiuser/.ssh",
            "runLauncherAsNode": True,
        }
    }
    spec = {
        "network": {"publishNotReadyAddresses": True},
        "successPolicy": {"operator": "All", "targetReplicatedJobs": [LAUNCHER]},
        "replicatedJobs": [
            _job(NODE, {**pod, "containers": [node]}, trainer=False),
            _job(
                LAUNCHER,
                {**pod, "containers": [_container(image, **user)]},
                trainer=True,
                dependsOn=[{"name": NODE, "status": "Ready"}],
            ),
        ],
    }
    return policy, spec


RUNTIMES = {"torch-distributed": _torch, "deepspeed-distributed": _deepspeed, "jax-distributed": _jax}
FRAMEWORKS = {"torch-distributed": "torch", "deepspeed-distributed": "deepspeed", "jax-distributed": "jax"}


def replicated_jobs(runtime: str) -> tuple[str, ...]:
    """The replicated jobs of a runtime: every one runs on GPU nodes and needs the job's placement."""
    return (NODE, LAUNCHER) if runtime == "deepspeed-distributed" else (NODE,)


def runtime_manifest(
    runtime: str, max_restarts: int, ttl_seconds: int, namespace: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """A ClusterTrainingRuntime (or, with ``namespace``, a TrainingRuntime named ``name``) for ``runtime``."""
    ml_policy, spec = RUNTIMES[runtime](TRAINING_RUNTIME_IMAGES[runtime])
    metadata: dict[str, Any] = {
        "name": name or runtime,
        "labels": {FRAMEWORK_LABEL: FRAMEWORKS[runtime], L.MANAGED_BY_LABEL: L.MANAGED_BY},
    }
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "TrainingRuntime" if namespace is not None else "ClusterTrainingRuntime",
        "metadata": metadata,
        "spec": {
            "mlPolicy": {"numNodes": 1, **ml_policy},
            "template": {
                "spec": {
                    # A node lost (bad GPU, spot reclaim) restarts every node from the last checkpoint.
                    "failurePolicy": {"maxRestarts": max_restarts},
                    "ttlSecondsAfterFinished": ttl_seconds,
                    **spec,
                }
            },
        },
    }
