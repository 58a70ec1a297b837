"""GCS checkpoint and model storage (gcp): see ``components/model_storage.py``."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.model_storage import (
    MULTIPART_ABORT_DAYS,
    ROLES,
    SERVING_GCS_ROLE,
    SERVING_SERVICE_ACCOUNT,
    TRAINING_GCS_ROLE,
    TRAINING_SERVICE_ACCOUNT,
    _check_teams,
    gsa_account_id,
    gsa_account_id_problem,
    team_prefix,
)

# ------------------------------------------------------------------------------------------------ GCP


@dataclass(frozen=True)
class GcsModelStorageArgs:
    bucket_name: str
    """Bucket name (globally unique; the caller validates it against GCS's naming rules)."""
    project: str
    """Project of the bucket, the service accounts and the GKE cluster (its Workload Identity pool)."""
    region: str
    """Bucket location: the cluster's region, so checkpoint traffic stays in-region."""
    cluster_name: str
    """Cluster name: the service-account ids derive from it (``gsa_account_id``)."""
    teams: tuple[tuple[str, str], ...] = ()
    """``(team, namespace)`` per team; each gets a training and a serving service account."""
    noncurrent_days: int = 30
    """Days an overwritten or deleted object generation stays before GCS deletes it. Default 30."""
    labels: dict[str, str] = field(default_factory=dict)
    """Labels on the bucket."""
    workload_identity_ready: Sequence[pulumi.Resource] = ()
    """What creates the project's Workload Identity pool (the GKE cluster): IAM refuses a binding to a
    ``<project>.svc.id.goog`` member until the pool exists ("Identity Pool does not exist")."""


def gcs_prefix_condition(bucket: str, team: str) -> gcp.storage.BucketIAMMemberConditionArgsDict:
    """IAM condition limiting a bucket-level grant to ``teams/<team>/``, listing included.

    Objects are named ``projects/_/buckets/<bucket>/objects/<object>`` in conditions (IAM docs,
    "Resource attributes for IAM Conditions", Cloud Storage resource names). ``storage.objects.list`` is
    checked against the *bucket* (``projects/_/buckets/<bucket>``, type ``storage.googleapis.com/Bucket``),
    not an object, so a condition on object names alone silently denies listing; hence the bucket clause,
    which lets the identity list object *names* across the bucket (not read them). Everything else the
    roles grant (get, create, delete objects; multipart uploads) is checked per object and stays under the
    prefix. IAM conditions on a bucket need uniform bucket-level access, which the bucket enforces.
    """
    objects = f"projects/_/buckets/{bucket}/objects/{team_prefix(team)}"
    return {
        "title": f"team-{team}-prefix",
        "description": f"Objects under {team_prefix(team)} only; listing is checked on the bucket itself",
        "expression": (
            f'resource.name.startsWith("{objects}") || '
            f'(resource.type == "storage.googleapis.com/Bucket" && resource.name == "projects/_/buckets/{bucket}")'
        ),
    }


def workload_identity_member(project: str, namespace: str, service_account: str) -> str:
    """The Workload Identity principal of Kubernetes service account ``namespace/service_account``."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]"


class GcsModelStorage(pulumi.ComponentResource):
    """A protected, versioned, private GCS bucket and per-team service accounts scoped to ``teams/<team>/``."""

    bucket_name: pulumi.Output[str]
    location: pulumi.Output[str]
    """``gs://<bucket>``."""
    training_service_accounts: dict[str, pulumi.Output[str]]
    """Per team: email of the GSA ``<namespace>/trainer`` acts as (annotate ``iam.gke.io/gcp-service-account``)."""
    serving_service_accounts: dict[str, pulumi.Output[str]]
    """Per team: email of the GSA ``<namespace>/model-reader`` acts as."""

    def __init__(self, name: str, args: GcsModelStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Validated before registering anything: a bad entry must not leave a half-built component.
        _check_teams(args.teams, "GcsModelStorageArgs")
        problems = [
            p
            for team, _ in args.teams
            for role in ROLES
            if (p := gsa_account_id_problem(args.cluster_name, team, role))
        ]
        if problems:
            raise ValueError("; ".join(dict.fromkeys(problems)))
        super().__init__("gpu-platform:index:GcsModelStorage", name, None, opts)
        bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=args.bucket_name,
            project=args.project,
            location=args.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            lifecycle_rules=[
                # ARCHIVED: only noncurrent generations, never the live checkpoint, whatever its age.
                {
                    "action": {"type": "Delete"},
                    "condition": {"days_since_noncurrent_time": args.noncurrent_days, "with_state": "ARCHIVED"},
                },
                # XML-API multipart uploads (parallel composite uploads) otherwise keep their parts forever.
                {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": MULTIPART_ABORT_DAYS}},
            ],
            # soft_delete_policy unset: GCS's default (7 days) still covers a generation a trainer deletes
            # outright (objectUser may delete noncurrent generations too).
            force_destroy=False,
            labels=dict(args.labels) or None,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        self.bucket_name = bucket.name
        self.location = bucket.name.apply(lambda b: f"gs://{b}")
        self.training_service_accounts = {}
        self.serving_service_accounts = {}
        for team, namespace in args.teams:
            for role, ksa, gcs_role, out in (
                ("train", TRAINING_SERVICE_ACCOUNT, TRAINING_GCS_ROLE, self.training_service_accounts),
                ("serve", SERVING_SERVICE_ACCOUNT, SERVING_GCS_ROLE, self.serving_service_accounts),
            ):
                out[team] = self._identity(name, args, bucket, team, namespace, role, ksa, gcs_role)
        self.register_outputs({"bucketName": self.bucket_name, "location": self.location})

    def prefix(self, team: str) -> str:
        return team_prefix(team)

    def _identity(
        self,
        name: str,
        args: GcsModelStorageArgs,
        bucket: gcp.storage.Bucket,
        team: str,
        namespace: str,
        role: str,
        ksa: str,
        gcs_role: str,
    ) -> pulumi.Output[str]:
        """One GSA, the KSA that may act as it, and its prefix-scoped grant on the bucket; its email."""
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-{team}-{role}",
            account_id=gsa_account_id(args.cluster_name, team, role),
            project=args.project,
            display_name=f"{team} model storage ({'read-write' if role == 'train' else 'read-only'})",
            opts=child,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-{team}-{role}-workload-identity",
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=workload_identity_member(args.project, namespace, ksa),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.workload_identity_ready)),
        )
        gcp.storage.BucketIAMMember(
            f"{name}-{team}-{role}-objects",
            bucket=bucket.name,
            role=gcs_role,
            member=account.email.apply(lambda email: f"serviceAccount:{email}"),
            condition=gcs_prefix_condition(args.bucket_name, team),
            opts=child,
        )
        return account.email
