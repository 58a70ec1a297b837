"""Checkpoint and model storage: what keeps it from being lost or opened, as the engine would receive it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.gcs_storage import GcsModelStorage, GcsModelStorageArgs
from components.model_storage import gsa_account_id, gsa_account_id_problem, team_prefix
from components.pvc_storage import PvcModelStorage, PvcModelStorageArgs
from components.s3_storage import S3ModelStorage, S3ModelStorageArgs
from infra.plan.engine import Capture, Registration, run_program

BUCKET = "acme-checkpoints"
TEAMS = (("ml", "team-ml"), ("vision", "vision-ns"))
ISSUER = "https://oidc.eks.offline.example/id/abc"
WRITE_ACTIONS = {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:DeleteObjectVersion"}
GSA_ID = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")


def of_type(capture: Capture, type_: str) -> list[Registration]:
    return [r for r in capture.registrations if r.type == type_]


def one(capture: Capture, type_: str) -> Registration:
    found = of_type(capture, type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def named(capture: Capture, name: str) -> Registration:
    return next(r for r in capture.registrations if r.name == name)


@pytest.fixture
def s3() -> Capture:
    def program() -> dict[str, Any]:
        storage = S3ModelStorage(
            "models",
            S3ModelStorageArgs(
                bucket_name=BUCKET,
                oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.offline.example/id/abc",
                oidc_issuer=ISSUER,
                teams=TEAMS,
                noncurrent_days=45,
            ),
        )
        return {
            "location": storage.location,
            **{f"train-{t}": arn for t, arn in storage.training_role_arns.items()},
            **{f"serve-{t}": arn for t, arn in storage.serving_role_arns.items()},
        }

    return run_program(program, "test")


@pytest.fixture
def gcs() -> Capture:
    def program() -> dict[str, Any]:
        storage = GcsModelStorage(
            "models",
            GcsModelStorageArgs(
                bucket_name=BUCKET,
                project="acme-ml",
                region="us-central1",
                cluster_name="gpu-platform",
                teams=TEAMS,
                noncurrent_days=45,
            ),
        )
        return {
            "location": storage.location,
            **{f"train-{t}": email for t, email in storage.training_service_accounts.items()},
            **{f"serve-{t}": email for t, email in storage.serving_service_accounts.items()},
        }

    return run_program(program, "test")


# ---------------------------------------------------------------------------------------------- S3


def test_s3_bucket_is_protected_retained_and_never_force_destroyed(s3: Capture) -> None:
    bucket = one(s3, "aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete
    assert bucket.inputs()["bucket"] == BUCKET
    assert bucket.inputs()["forceDestroy"] is False


@pytest.mark.parametrize(
    "type_",
    [
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
    ],
)
def test_s3_settings_whose_deletion_weakens_the_bucket_are_protected(s3: Capture, type_: str) -> None:
    setting = one(s3, type_)
    assert setting.protect and setting.retain_on_delete
    assert setting.inputs()["bucket"] == BUCKET


def test_s3_versioning_encryption_and_ownership(s3: Capture) -> None:
    assert one(s3, "aws:s3/bucketVersioning:BucketVersioning").inputs()["versioningConfiguration"] == {
        "status": "Enabled"
    }
    (rule,) = one(
        s3, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs()["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]
    ownership = one(s3, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs()
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_s3_public_access_block_sets_all_four_flags(s3: Capture) -> None:
    block = one(s3, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs()
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {f: block.get(f) for f in flags} == dict.fromkeys(flags, True)


def test_s3_lifecycle_expires_noncurrent_versions_and_aborts_uploads(s3: Capture) -> None:
    rules = {
        r["id"]: r
        for r in one(s3, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs()["rules"]
    }
    assert set(rules) == {"expire-noncurrent-versions", "abort-incomplete-multipart-uploads"}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 45}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    for rule in rules.values():
        assert rule["status"] == "Enabled"
        # The S3 API wants a Filter (the rule-level Prefix is deprecated); "" selects the whole bucket.
        assert rule["filter"] == {"prefix": ""}
        assert "prefix" not in rule
        # Never expire current objects: only noncurrent versions and orphaned delete markers go.
        assert set(rule.get("expiration", {})) <= {"expiredObjectDeleteMarker"}


def test_s3_bucket_policy_denies_plain_http(s3: Capture) -> None:
    (statement,) = json.loads(one(s3, "aws:s3/bucketPolicy:BucketPolicy").inputs()["policy"])["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


@pytest.mark.parametrize(("role", "service_account"), [("training", "trainer"), ("serving", "model-reader")])
def test_irsa_trust_names_exactly_the_team_service_account(s3: Capture, role: str, service_account: str) -> None:
    host = ISSUER.removeprefix("https://")
    for team, namespace in TEAMS:
        trust = json.loads(named(s3, f"models-{team}-{role}").inputs()["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"]["StringEquals"][f"{host}:sub"] == (
            f"system:serviceaccount:{namespace}:{service_account}"
        )


def _policy(capture: Capture, name: str) -> list[dict[str, Any]]:
    policy = next(r for r in of_type(capture, "aws:iam/rolePolicy:RolePolicy") if r.name == name)
    statements: list[dict[str, Any]] = json.loads(policy.inputs()["policy"])["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


def test_training_policy_writes_only_under_the_team_prefix(s3: Capture) -> None:
    for team, _ in TEAMS:
        statements = _policy(s3, f"models-{team}-training")
        assert all(s["Effect"] == "Allow" for s in statements)
        writes = [s for s in statements if _actions(s) & WRITE_ACTIONS]
        assert writes, "the training role must be able to write checkpoints"
        assert {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:GetObject"} <= set().union(
            *(_actions(s) for s in statements)
        )
        assert "s3:DeleteObjectVersion" not in set().union(*(_actions(s) for s in statements))
        for statement in writes:
            assert _resources(statement) == [f"arn:aws:s3:::{BUCKET}/teams/{team}/*"]
        (listing,) = [s for s in statements if "s3:ListBucket" in _actions(s)]
        assert _resources(listing) == [f"arn:aws:s3:::{BUCKET}"]
        assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"teams/{team}/*"]}}


def test_serving_policy_reads_its_prefix_and_writes_nothing(s3: Capture) -> None:
    for team, _ in TEAMS:
        statements = _policy(s3, f"models-{team}-serving")
        actions = set().union(*(_actions(s) for s in statements))
        assert actions == {"s3:GetObject", "s3:ListBucket"}
        for statement in statements:
            if "s3:GetObject" in _actions(statement):
                assert _resources(statement) == [f"arn:aws:s3:::{BUCKET}/teams/{team}/*"]
            else:
                assert statement["Condition"] == {"StringLike": {"s3:prefix": [f"teams/{team}/*"]}}


def test_s3_outputs_location_and_role_arns_per_team(s3: Capture) -> None:
    assert s3.outputs["location"] == f"s3://{BUCKET}"
    for team, _ in TEAMS:
        assert s3.outputs[f"train-{team}"].endswith(f":role/models-{team}-training")
        assert s3.outputs[f"serve-{team}"].endswith(f":role/models-{team}-serving")


# --------------------------------------------------------------------------------------------- GCS


def test_gcs_bucket_is_protected_private_versioned(gcs: Capture) -> None:
    bucket = one(gcs, "gcp:storage/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete
    inputs = bucket.inputs()
    assert inputs["name"] == BUCKET
    assert inputs["location"] == "us-central1"
    assert inputs["project"] == "acme-ml"
    assert inputs["forceDestroy"] is False
    assert inputs["uniformBucketLevelAccess"] is True
    assert inputs["publicAccessPrevention"] == "enforced"
    assert inputs["versioning"] == {"enabled": True}
    # Left at GCS's default (7 days), the backstop for a generation deleted outright.
    assert "softDeletePolicy" not in inputs


def test_gcs_lifecycle_deletes_only_noncurrent_versions(gcs: Capture) -> None:
    rules = one(gcs, "gcp:storage/bucket:Bucket").inputs()["lifecycleRules"]
    deletes = [r for r in rules if r["action"]["type"] == "Delete"]
    assert deletes == [
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 45, "withState": "ARCHIVED"}}
    ]


def test_gcs_grants_are_limited_to_the_team_prefix_and_still_list(gcs: Capture) -> None:
    members = of_type(gcs, "gcp:storage/bucketIAMMember:BucketIAMMember")
    assert len(members) == 2 * len(TEAMS)
    roles = {"train": "roles/storage.objectUser", "serve": "roles/storage.objectViewer"}
    for team, _ in TEAMS:
        for role, gcs_role in roles.items():
            inputs = named(gcs, f"models-{team}-{role}-objects").inputs()
            assert inputs["role"] == gcs_role
            assert (
                inputs["member"]
                == f"serviceAccount:{gsa_account_id('gpu-platform', team, role)}@acme-ml.iam.gserviceaccount.com"
            )
            expression = inputs["condition"]["expression"]
            # Objects under the prefix, OR the bucket itself: listing is authorized on the bucket, not on an
            # object, so without the second clause list is denied.
            assert expression == (
                f'resource.name.startsWith("projects/_/buckets/{BUCKET}/objects/teams/{team}/") || '
                f'(resource.type == "storage.googleapis.com/Bucket" && resource.name == "projects/_/buckets/{BUCKET}")'
            )
            other = next(t for t, _ in TEAMS if t != team)
            assert f"/objects/teams/{other}/" not in expression


def test_gcs_workload_identity_binds_the_team_service_accounts(gcs: Capture) -> None:
    for team, namespace in TEAMS:
        for role, ksa in (("train", "trainer"), ("serve", "model-reader")):
            binding = named(gcs, f"models-{team}-{role}-workload-identity").inputs()
            assert binding["role"] == "roles/iam.workloadIdentityUser"
            assert binding["member"] == f"serviceAccount:acme-ml.svc.id.goog[{namespace}/{ksa}]"
            account = named(gcs, f"models-{team}-{role}").inputs()
            assert account["accountId"] == gsa_account_id("gpu-platform", team, role)
            assert account["project"] == "acme-ml"


def test_gcs_outputs_location_and_emails_per_team(gcs: Capture) -> None:
    assert gcs.outputs["location"] == f"gs://{BUCKET}"
    for team, _ in TEAMS:
        assert (
            gcs.outputs[f"train-{team}"]
            == f"{gsa_account_id('gpu-platform', team, 'train')}@acme-ml.iam.gserviceaccount.com"
        )
        assert (
            gcs.outputs[f"serve-{team}"]
            == f"{gsa_account_id('gpu-platform', team, 'serve')}@acme-ml.iam.gserviceaccount.com"
        )


def test_gsa_ids_are_valid_distinct_and_stable_for_long_names() -> None:
    cluster = "c" * 40  # DNS labels reach 40 characters in the stack model
    teams = ["t" * 39 + "a", "t" * 39 + "b", "short", "x"]
    ids = [gsa_account_id(cluster, team, role) for team in teams for role in ("train", "serve")]
    assert all(GSA_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert ids == [gsa_account_id(cluster, team, role) for team in teams for role in ("train", "serve")]
    assert gsa_account_id("gpu-platform", "ml", "train").startswith("gpu-platform-ml-trn-")
    # Distinct from the node pools' ids in the same project (`<cluster[:10]>-<pool>`, `<cluster>-system`).
    assert gsa_account_id("gpu", "ml", "train") not in {"gpu-ml-trn", "gpu-system"}


def test_gsa_id_problems_are_reported_not_mangled() -> None:
    assert gsa_account_id_problem("gpu-platform", "ml", "train") is None
    assert "letter" in (gsa_account_id_problem("9lives", "ml", "train") or "")
    assert gsa_account_id_problem("gpu", "ml", "admin") is not None
    with pytest.raises(ValueError, match="letter"):
        gsa_account_id("9lives", "ml", "serve")


# --------------------------------------------------------------------------------------------- PVC


def test_pvc_per_team_is_protected_and_shared_across_nodes() -> None:
    def program() -> dict[str, Any]:
        storage = PvcModelStorage("models", PvcModelStorageArgs(size_gib=500, teams=TEAMS))
        return {"location": storage.location, **{f"claim-{t}": c for t, c in storage.claims.items()}}

    capture = run_program(program, "test")
    claims = of_type(capture, "kubernetes:core/v1:PersistentVolumeClaim")
    assert {c.inputs()["metadata"]["namespace"] for c in claims} == {ns for _, ns in TEAMS}
    for claim in claims:
        assert claim.protect and claim.retain_on_delete
        inputs = claim.inputs()
        assert inputs["metadata"]["name"] == "checkpoints"
        assert inputs["spec"]["accessModes"] == ["ReadWriteMany"]
        assert inputs["spec"]["resources"] == {"requests": {"storage": "500Gi"}}
        assert "storageClassName" not in inputs["spec"]  # the cluster's default class
    assert capture.outputs["location"] == "pvc://checkpoints"
    assert capture.outputs["claim-ml"] == "team-ml/checkpoints"


def test_pvc_storage_class_and_access_modes_are_passed_through() -> None:
    args = PvcModelStorageArgs(
        size_gib=10, teams=TEAMS[:1], storage_class="efs-retain", access_modes=("ReadWriteOnce",)
    )
    capture = run_program(lambda: {"location": PvcModelStorage("models", args).location}, "test")
    spec = one(capture, "kubernetes:core/v1:PersistentVolumeClaim").inputs()["spec"]
    assert spec["storageClassName"] == "efs-retain"
    assert spec["accessModes"] == ["ReadWriteOnce"]


# ------------------------------------------------------------------------------------------ common


def test_team_prefix_ends_with_a_slash() -> None:
    assert team_prefix("ml") == "teams/ml/"
    assert not "teams/mlops/x".startswith(team_prefix("ml"))


def test_duplicate_teams_fail_before_anything_is_registered() -> None:
    with pytest.raises(ValueError, match="'ml' is listed twice"):
        PvcModelStorage("m", PvcModelStorageArgs(size_gib=1, teams=(("ml", "a"), ("ml", "b"))))
