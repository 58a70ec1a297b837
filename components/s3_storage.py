"""S3 checkpoint and model storage (aws): see ``components/model_storage.py``."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws_iam import irsa_role, policy_document
from components.model_storage import (
    MULTIPART_ABORT_DAYS,
    SERVING_S3_ACTIONS,
    SERVING_SERVICE_ACCOUNT,
    TRAINING_S3_ACTIONS,
    TRAINING_SERVICE_ACCOUNT,
    _check_teams,
    team_prefix,
)

# ------------------------------------------------------------------------------------------------ AWS


@dataclass(frozen=True)
class S3ModelStorageArgs:
    bucket_name: str
    """Bucket name (globally unique; the caller validates it against S3's naming rules)."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the EKS cluster's IAM OIDC provider (IRSA)."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer URL (``https://oidc.eks...``)."""
    teams: tuple[tuple[str, str], ...] = ()
    """``(team, namespace)`` per team; each gets a training and a serving role."""
    noncurrent_days: int = 30
    """Days an overwritten or deleted object version stays recoverable before S3 expires it. Default 30."""
    partition: str = "aws"
    """AWS partition of the bucket ARNs (``aws``, ``aws-cn``, ``aws-us-gov``). Default ``aws``."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags on the bucket."""


def s3_training_policy(bucket: str, team: str, partition: str = "aws") -> str:
    """Read, write, delete and abort uploads under ``teams/<team>/``, and list only that prefix."""
    return _s3_team_policy(bucket, team, TRAINING_S3_ACTIONS, partition)


def s3_serving_policy(bucket: str, team: str, partition: str = "aws") -> str:
    """Read and list under ``teams/<team>/``; no write action at all."""
    return _s3_team_policy(bucket, team, SERVING_S3_ACTIONS, partition)


def _s3_team_policy(bucket: str, team: str, actions: Sequence[str], partition: str) -> str:
    prefix = team_prefix(team)
    return policy_document(
        [
            {
                "Sid": "TeamObjects",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
            },
            {
                # ListBucket is a bucket-level action: its only scope is the s3:prefix condition
                # (S3 user guide, "Bucket policy examples using condition keys", s3:prefix). StringLike
                # `teams/<team>/*` also matches the bare prefix `teams/<team>/` clients list with.
                "Sid": "TeamListing",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
        ]
    )


def s3_tls_only_policy(bucket: str, partition: str = "aws") -> str:
    """Bucket policy refusing every request that does not come over TLS (``aws:SecureTransport`` false)."""
    arn = f"arn:{partition}:s3:::{bucket}"
    return policy_document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


class S3ModelStorage(pulumi.ComponentResource):
    """A protected, versioned, private S3 bucket and per-team IRSA roles scoped to ``teams/<team>/``."""

    bucket_name: pulumi.Output[str]
    location: pulumi.Output[str]
    """``s3://<bucket>`` (an Output, so whatever uses it waits for the bucket)."""
    training_role_arns: dict[str, pulumi.Output[str]]
    """Per team: the role ``<namespace>/trainer`` assumes (annotate it ``eks.amazonaws.com/role-arn``)."""
    serving_role_arns: dict[str, pulumi.Output[str]]
    """Per team: the role ``<namespace>/model-reader`` assumes."""

    def __init__(self, name: str, args: S3ModelStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Validated before registering anything: a bad entry must not leave a half-built component.
        _check_teams(args.teams, "S3ModelStorageArgs")
        super().__init__("gpu-platform:index:S3ModelStorage", name, None, opts)
        bucket = self._create_bucket(name, args)
        self.bucket_name = bucket.bucket
        self.location = bucket.bucket.apply(lambda b: f"s3://{b}")
        self.training_role_arns = {}
        self.serving_role_arns = {}
        for team, namespace in args.teams:
            # Roles are named by logical name only (irsa_role): the bucket name is in the policy, not the role.
            training, _ = irsa_role(
                f"{name}-{team}-training",
                self,
                args.oidc_provider_arn,
                args.oidc_issuer,
                namespace,
                TRAINING_SERVICE_ACCOUNT,
                s3_training_policy(args.bucket_name, team, args.partition),
            )
            serving, _ = irsa_role(
                f"{name}-{team}-serving",
                self,
                args.oidc_provider_arn,
                args.oidc_issuer,
                namespace,
                SERVING_SERVICE_ACCOUNT,
                s3_serving_policy(args.bucket_name, team, args.partition),
            )
            self.training_role_arns[team] = training.arn
            self.serving_role_arns[team] = serving.arn
        self.register_outputs({"bucketName": self.bucket_name, "location": self.location})

    def prefix(self, team: str) -> str:
        return team_prefix(team)

    def _create_bucket(self, name: str, args: S3ModelStorageArgs) -> aws.s3.Bucket:
        # The bucket can be neither deleted nor replaced by an update (protect), and once someone unprotects
        # it, `pulumi destroy` only forgets it (retain_on_delete). force_destroy stays off: S3 refuses to
        # delete a non-empty bucket even if both guards are lifted.
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            force_destroy=False,
            tags=dict(args.tags) or None,
            opts=kept,
        )
        # Satellites whose deletion would weaken the bucket get the same guards: deleting the versioning
        # resource suspends versioning (overwrites then destroy data), the public access block and
        # ownership controls would let ACLs or a later policy open it, the encryption config would
        # re-allow SSE-C uploads, the policy would re-allow plain HTTP. The lifecycle is not guarded:
        # deleting it only keeps more old versions (costs money, loses nothing).
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True, depends_on=[bucket])
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.bucket,
            versioning_configuration={"status": "Enabled"},
            opts=kept,
        )
        # SSE-S3 (AES256), not SSE-KMS with the AWS-managed aws/s3 key: that key's policy lets every principal
        # of the account use it through S3, so it adds no access control over the IAM policies here; it can't
        # be shared cross-account (a serving account could never read the models); and large parallel
        # checkpoint writes would draw on KMS request quotas (bucket keys cut, not remove, those). A stack
        # that needs key-level control wants a customer-managed key, which is its own loss risk (a deleted
        # key makes every checkpoint unreadable) and its own decision. SSE-C uploads are blocked: an object
        # encrypted with a key the client then loses is a lost checkpoint.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.bucket,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "blocked_encryption_types": ["SSE-C"],
                }
            ],
            opts=kept,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=kept,
        )
        # ACLs off: every object belongs to the bucket owner whoever wrote it, and only IAM decides access.
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.bucket,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=kept,
        )
        # After the public access block: S3 answers concurrent PutBucketPolicy/PutPublicAccessBlock calls on
        # one bucket with OperationAborted.
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.bucket,
            policy=s3_tls_only_policy(args.bucket_name, args.partition),
            opts=pulumi.ResourceOptions(
                parent=self, protect=True, retain_on_delete=True, depends_on=[bucket, public_access]
            ),
        )
        # Every rule needs a Filter (S3 API LifecycleRule: "Filter is required if the LifecycleRule does not
        # contain a Prefix element", and the rule-level Prefix is deprecated); an empty Prefix selects the
        # whole bucket. `filter: {}` alone draws the AWS provider's "one of prefix, tag, ... is required"
        # warning (hashicorp/terraform-provider-aws#42714). After versioning: a noncurrent-version rule
        # only means something on a versioned bucket.
        whole_bucket: aws.s3.BucketLifecycleConfigurationRuleFilterArgsDict = {"prefix": ""}
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": whole_bucket,
                "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_days},
                # Delete markers left with no version behind them once those expire.
                "expiration": {"expired_object_delete_marker": True},
            },
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": whole_bucket,
                "abort_incomplete_multipart_upload": {"days_after_initiation": MULTIPART_ABORT_DAYS},
            },
        ]
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.bucket,
            rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket, versioning]),
        )
        return bucket
