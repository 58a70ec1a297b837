"""Kubeflow Trainer on the platform, and teams' training jobs.

``TrainingOperator``: the pinned Trainer chart (with its JobSet subchart) and the platform's
ClusterTrainingRuntimes, which wait for it (the chart brings their CRDs).
``TrainingJobs``: one team's jobs: per job a Secret for its credentials (from Pulumi secrets,
never in the job), an own TrainingRuntime where its restart/TTL policy differs, and the TrainJob.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components import labels as L
from components.manifests import manifest_resource
from components.secrets import workload_secret
from components.train_job import TrainJobSpec, train_job_manifest
from components.training_runtimes import runtime_manifest
from components.versions import KUBEFLOW_TRAINER

NAMESPACE = L.TRAINER_NAMESPACE


def helm_values() -> dict[str, Any]:
    """The subset of the chart's values the platform sets (paths checked against the chart's values.yaml)."""
    return {
        "jobset": {"install": True},
        # The platform renders and pins its runtimes itself (components/training_runtimes.py); the chart's
        # would be applied by a hook Job that downloads kubectl at install time.
        "runtimes": {"defaultEnabled": False},
        "manager": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
    }


@dataclass(frozen=True)
class TrainingOperatorArgs:
    runtimes: Sequence[str]
    max_restarts: int
    ttl_seconds: int
    namespace: str = NAMESPACE


class TrainingOperator(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    runtimes: list[pulumi.CustomResource]

    def __init__(self, name: str, args: TrainingOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:TrainingOperator", name, None, opts)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = helm.release(
            f"{name}-trainer", "kubeflow-trainer", KUBEFLOW_TRAINER, ns.metadata.name, helm_values(), self
        )
        self.runtimes = [
            manifest_resource(
                f"{name}-runtime-{runtime}",
                runtime_manifest(runtime, args.max_restarts, args.ttl_seconds),
                pulumi.ResourceOptions(parent=self, depends_on=[self.release], **REPLACE_ON_SPEC_CHANGE),
            )
            for runtime in args.runtimes
        ]
        self.register_outputs({})


REPLACE_ON_SPEC_CHANGE: dict[str, Any] = {"replace_on_changes": ["spec"], "delete_before_replace": True}
"""Trainer refuses in-place changes to a TrainJob's trainer, runtime reference and patches, and to a runtime's
failure policy (CEL ``self == oldSelf``): a changed spec is a new object of the same name, so the old one
goes first. For a TrainJob that means re-submitting it; a runtime in use waits for its jobs (Trainer's
finalizer), so change ``training.maxRestarts`` / ``ttlSecondsAfterFinished`` between runs."""


@dataclass(frozen=True)
class TrainingJob:
    spec: TrainJobSpec
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Variable -> secret value (a Pulumi secret; becomes the job's Kubernetes Secret)."""
    own_runtime: tuple[int, int] | None = None
    """(maxRestarts, ttlSecondsAfterFinished) of the job's own TrainingRuntime, when it differs."""


@dataclass(frozen=True)
class TrainingJobsArgs:
    jobs: Sequence[TrainingJob]
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first: the operator (CRDs, runtimes), the team's namespace and queue."""


class TrainingJobs(pulumi.ComponentResource):
    """One team's jobs (a component per team keeps URNs stable when other teams' jobs change)."""

    def __init__(self, name: str, args: TrainingJobsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:TrainingJobs", name, None, opts)
        for job in args.jobs:
            spec = job.spec
            deps: list[pulumi.Resource] = list(args.depends_on)
            if job.secrets and spec.secret_name:
                deps.append(
                    workload_secret(
                        f"{name}-{spec.name}-secret",
                        spec.secret_name,
                        spec.namespace,
                        job.secrets,
                        self,
                        args.depends_on,
                    )
                )
            if job.own_runtime is not None:
                restarts, ttl = job.own_runtime
                manifest = runtime_manifest(spec.runtime, restarts, ttl, namespace=spec.namespace, name=spec.name)
                deps.append(
                    manifest_resource(
                        f"{name}-{spec.name}-runtime",
                        manifest,
                        pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on), **REPLACE_ON_SPEC_CHANGE),
                    )
                )
            manifest_resource(
                f"{name}-{spec.name}",
                train_job_manifest(spec),
                # Kueue unsuspends an admitted job: that field is Kueue's once the job exists.
                pulumi.ResourceOptions(
                    parent=self, depends_on=deps, ignore_changes=["spec.suspend"], **REPLACE_ON_SPEC_CHANGE
                ),
            )
        self.register_outputs({})
