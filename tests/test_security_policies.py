"""The security policies on captured plans: the examples' nodes, storage and workloads pass (their open
development endpoints are reported, advisory); each weakened graph is refused with what would be right."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from policies.guardrails import security
from policies.guardrails.graph import UNKNOWN, Graph, Node, short
from tests.conftest import STACKS, changed


def of_type(type_: str) -> Callable[[Node], bool]:
    return lambda n: n.type == type_


def run(check: Callable[..., Any], nodes: list[Node], config: dict[str, Any] | None = None) -> list[str]:
    return [m for _, m in check(Graph(nodes), config or {})]


@pytest.mark.parametrize("stack", STACKS)
def test_examples_are_hardened(graphs: dict[str, list[Node]], stack: str) -> None:
    for check in (security.check_nodes, security.check_storage, security.check_workloads):
        assert run(check, graphs[stack]) == [], check.__name__


def test_open_development_endpoints_are_reported(graphs: dict[str, list[Node]]) -> None:
    for stack in ("aws-dev", "gcp-dev", "aws-train"):
        (message,) = run(security.check_endpoints, graphs[stack])
        assert "API endpoint is open to 0.0.0.0/0" in message and "publicEndpointCidrs" in message
    assert run(security.check_endpoints, graphs["local"]) == []  # an existing cluster: not the stack's


def test_restricted_or_private_endpoints_pass(graphs: dict[str, list[Node]]) -> None:
    def allowlist(props: dict[str, Any]) -> None:
        props["vpcConfig"]["publicAccessCidrs"] = ["198.51.100.7/32"]

    assert run(security.check_endpoints, changed(graphs["aws-dev"], of_type(security.EKS_CLUSTER), allowlist)) == []

    def private(props: dict[str, Any]) -> None:
        props["privateClusterConfig"]["enablePrivateEndpoint"] = True

    assert run(security.check_endpoints, changed(graphs["gcp-dev"], of_type(security.GKE_CLUSTER), private)) == []

    def unset(props: dict[str, Any]) -> None:
        del props["vpcConfig"]["publicAccessCidrs"]  # EKS's default: any address

    (message,) = run(security.check_endpoints, changed(graphs["aws-dev"], of_type(security.EKS_CLUSTER), unset))
    assert "0.0.0.0/0" in message


def test_imds_reachable_from_pods_is_refused(graphs: dict[str, list[Node]]) -> None:
    def loosen(props: dict[str, Any]) -> None:
        props["metadataOptions"] = {"httpTokens": "optional", "httpPutResponseHopLimit": 2}

    broken = changed(graphs["aws-dev"], of_type(security.LAUNCH_TEMPLATE), loosen)
    (message,) = run(security.check_nodes, broken)
    assert "httpTokens 'optional', hop limit 2; required: httpTokens required, hop limit 1" in message


def test_gke_nodes_need_shielding_and_workload_identity(graphs: dict[str, list[Node]]) -> None:
    def weaken(props: dict[str, Any]) -> None:
        props["nodeConfig"]["shieldedInstanceConfig"] = {"enableSecureBoot": False}
        props["nodeConfig"]["workloadMetadataConfig"] = {"mode": "GCE_METADATA"}

    broken = changed(graphs["gcp-dev"], lambda n: n.type == security.GKE_NODE_POOL and "h100" in n.name, weaken)
    messages = run(security.check_nodes, broken)
    assert len(messages) == 2
    assert any("secure boot" in m for m in messages) and any("required: GKE_METADATA" in m for m in messages)


def test_bucket_must_be_versioned_private_and_protected(graphs: dict[str, list[Node]]) -> None:
    def open_up(props: dict[str, Any]) -> None:
        props["publicAccessPrevention"] = "inherited"
        props["versioning"] = {"enabled": False}

    broken = changed(graphs["gcp-dev"], of_type(security.GCS_BUCKET), open_up, protect=False)
    messages = run(security.check_storage, broken)
    assert [m.split(": ", 1)[1] for m in messages] == [
        "versioning is not enabled",
        "publicAccessPrevention is not enforced",
        "it is not protected (protect=True): a `pulumi destroy` would delete the models",
    ]


def test_s3_bucket_without_its_public_access_block(graphs: dict[str, list[Node]]) -> None:
    broken = [n for n in graphs["aws-train"] if n.type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]
    (message,) = run(security.check_storage, broken)
    assert "public access is not blocked" in message


def test_plaintext_secret_and_privilege_in_a_workload(graphs: dict[str, list[Node]]) -> None:
    def leak(props: dict[str, Any]) -> None:
        props["spec"]["trainer"]["env"].append({"name": "WANDB_API_KEY", "value": "abc123"})

    job = lambda n: n.type.endswith(":TrainJob") and "llama-pretrain" in n.name  # noqa: E731
    (message,) = run(security.check_workloads, changed(graphs["aws-train"], job, leak))
    assert "WANDB_API_KEY is a plaintext value" in message and "valueFrom.secretKeyRef" in message

    def privileged(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod["containers"][0]["securityContext"] = {"privileged": True}
        pod["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]

    warm = lambda n: n.type == "kubernetes:apps/v1:Deployment" and n.name.startswith("warm-")  # noqa: E731
    broken = changed(graphs["aws-dev"], warm, privileged)
    # The warm placeholders live in the GPU software's namespace: allowed there by default, not elsewhere.
    assert run(security.check_workloads, broken) == []
    messages = run(security.check_workloads, broken, {"systemNamespaces": ["kube-system"]})
    assert len(messages) == 2 and "is privileged" in messages[0] and "host paths (host)" in messages[1]


def test_security_policies_are_in_the_pack() -> None:
    from policies.guardrails.pack import POLICIES

    names = {p.name for p in POLICIES}
    assert {
        "gpu-nodes-hardened",
        "cluster-endpoint-restricted",
        "storage-protected",
        "workloads-least-privilege",
        "workload-storage-scoped",
    } <= names


# ---------------------------------------------------------------- workload-storage-scoped

BUCKET = "gpu-train-checkpoints-example"  # aws-train's model storage
GCS = "gpu-dev-models-example"  # gcp-dev's
RESEARCH_ROLE = "role storage-research-training (assumed by team-research/trainer, team research)"
RESEARCH_GSA = "service account storage-research-train (bound to team-research/trainer, team research)"


def named(type_: str, name: str) -> Callable[[Node], bool]:
    return lambda n: n.type == type_ and n.name == name


def urn_of(nodes: list[Node], type_: str, name: str) -> str:
    (node,) = [n for n in nodes if named(type_, name)(n)]
    return node.urn


def scoped(nodes: list[Node]) -> list[tuple[str, str]]:
    return security.check_storage_scope(Graph(nodes), {})


def research_policy(graphs: dict[str, list[Node]], edit: Callable[[list[dict[str, Any]]], None]) -> list[Node]:
    """aws-train with the research trainer's inline policy statements (TeamObjects, TeamListing) edited."""

    def change(props: dict[str, Any]) -> None:
        document = json.loads(props["policy"])
        edit(document["Statement"])
        props["policy"] = json.dumps(document)

    return changed(graphs["aws-train"], named(security.IAM_ROLE_POLICY, "storage-research-training"), change)


def added(nodes: list[Node], type_: str, name: str, props: dict[str, Any], deps: dict[str, str]) -> list[Node]:
    """The graph with one more resource, its inputs ``props`` depending on ``deps`` (input -> URN)."""
    stack = nodes[0].urn.split("::")[0].removeprefix("urn:pulumi:")
    urn = f"urn:pulumi:{stack}::gpu-platform::{type_}::{name}"
    node = Node(urn, type_, name, props, property_dependencies={k: (v,) for k, v in deps.items()})
    return [*nodes, node]


@pytest.mark.parametrize("stack", STACKS)
def test_examples_keep_workload_storage_scoped(graphs: dict[str, list[Node]], stack: str) -> None:
    assert scoped(graphs[stack]) == []


def test_examples_with_storage_are_in_scope(graphs: dict[str, list[Node]]) -> None:
    """The examples the policy has something to check in: aws-train's IRSA roles, gcp-dev's GSAs."""
    aws = security._aws_tenants(Graph(graphs["aws-train"]), {"team-research": "research", "team-training": "training"})
    assert sorted(short(u) for u in aws) == [
        "storage-research-serving",
        "storage-research-training",
        "storage-training-serving",
        "storage-training-training",
    ]
    checked = [n for n in graphs["gcp-dev"] if n.type in security.GCS_BUCKET_IAM]
    assert len(checked) == 4 and all(security.GCP_ACCOUNT in str(n.property_dependencies["member"]) for n in checked)


def test_s3_grant_on_another_teams_prefix_is_refused(graphs: dict[str, list[Node]]) -> None:
    def theirs(statements: list[dict[str, Any]]) -> None:
        statements[0]["Resource"] = f"arn:aws:s3:::{BUCKET}/teams/training/*"
        statements[1]["Condition"]["StringLike"]["s3:prefix"] = ["teams/training/*"]

    broken = research_policy(graphs, theirs)
    findings = scoped(broken)
    policy = urn_of(broken, security.IAM_ROLE_POLICY, "storage-research-training")
    assert [u for u, _ in findings] == [policy, policy]  # reported on the policy at fault
    objects, listing = (m for _, m in findings)
    assert objects.startswith(f"{RESEARCH_ROLE}: inline policy storage-research-training statement TeamObjects")
    assert f"on arn:aws:s3:::{BUCKET}/teams/training/*, under team training's prefix teams/training/" in objects
    assert f"not team research's; only arn:aws:s3:::{BUCKET}/teams/research/* is right" in objects
    assert "statement TeamListing lets s3:ListBucket" in listing
    assert "list 'teams/training/*', team training's prefix, not team research's" in listing
    assert 'required: Condition StringLike s3:prefix ["teams/research/*"]' in listing


def test_s3_grant_on_the_whole_bucket_is_refused(graphs: dict[str, list[Node]]) -> None:
    def whole(statements: list[dict[str, Any]]) -> None:
        statements[0]["Resource"] = f"arn:aws:s3:::{BUCKET}/*"

    (message,) = [m for _, m in scoped(research_policy(graphs, whole))]
    assert message.startswith(RESEARCH_ROLE)
    assert f"on arn:aws:s3:::{BUCKET}/*, beyond team research's prefix teams/research/" in message
    assert f"scope it to arn:aws:s3:::{BUCKET}/teams/research/*" in message

    def bucket_actions(statements: list[dict[str, Any]]) -> None:
        statements[1]["Action"] = "s3:*"  # on the bucket ARN itself: DeleteBucket, PutBucketPolicy ...

    (message,) = [m for _, m in scoped(research_policy(graphs, bucket_actions))]
    assert (
        f"grants s3:* on the bucket itself (arn:aws:s3:::{BUCKET}); only s3:GetBucketLocation, and s3:ListBucket"
        in message
    )


def test_s3_grant_on_any_resource_is_refused(graphs: dict[str, list[Node]]) -> None:
    def anything(statements: list[dict[str, Any]]) -> None:
        statements[0]["Resource"] = "*"

    (message,) = [m for _, m in scoped(research_policy(graphs, anything))]
    assert 'grants s3:AbortMultipartUpload, s3:DeleteObject, s3:GetObject, s3:PutObject on Resource "*"' in message
    assert "every bucket of the account; name arn:<partition>:s3:::<bucket>/teams/research/*" in message

    def star(statements: list[dict[str, Any]]) -> None:  # `*` is an S3 action too; other services' stay out
        statements.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        statements.append({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"})

    (message,) = [m for _, m in scoped(research_policy(graphs, star))]
    assert 'statement #2 grants * on Resource "*"' in message


def test_listing_without_the_prefix_condition_is_refused(graphs: dict[str, list[Node]]) -> None:
    def unconditional(statements: list[dict[str, Any]]) -> None:
        del statements[1]["Condition"]

    (message,) = [m for _, m in scoped(research_policy(graphs, unconditional))]
    assert f"{RESEARCH_ROLE}: inline policy storage-research-training statement TeamListing" in message
    assert f"grants s3:ListBucket on arn:aws:s3:::{BUCKET} without an s3:prefix condition" in message
    assert 'add Condition StringLike s3:prefix ["teams/research/*"]' in message

    def if_exists(statements: list[dict[str, Any]]) -> None:  # a request without a prefix passes ...IfExists
        statements[1]["Condition"] = {"StringLikeIfExists": {"s3:prefix": ["teams/research/*"]}}

    (message,) = [m for _, m in scoped(research_policy(graphs, if_exists))]
    assert "without an s3:prefix condition" in message


@pytest.mark.parametrize(
    "arn", ["arn:aws:iam::aws:policy/AmazonS3FullAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"]
)
def test_attached_s3_managed_policy_is_refused(graphs: dict[str, list[Node]], arn: str) -> None:
    nodes = graphs["aws-train"]
    role = urn_of(nodes, security.IAM_ROLE, "storage-research-training")
    attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    broken = added(
        nodes, attachment, "research-s3", {"role": "storage-research-training", "policyArn": arn}, {"role": role}
    )
    ((urn, message),) = scoped(broken)
    assert urn.endswith("::research-s3")
    assert message == (
        f"{RESEARCH_ROLE}: managed policy {arn} grants S3 on every bucket of the account; grant an inline policy "
        "on arn:<partition>:s3:::<bucket>/teams/research/* instead"
    )


def test_bucket_metadata_and_listing_actions_on_the_bucket(graphs: dict[str, list[Node]]) -> None:
    """s3:GetBucketLocation carries no object data (SDKs call it for the region): allowed on the bucket ARN;
    s3:ListBucketVersions and s3:ListBucketMultipartUploads list keys: scoped by s3:prefix like s3:ListBucket."""

    def region(statements: list[dict[str, Any]]) -> None:
        bucket = f"arn:aws:s3:::{BUCKET}"
        statements.append({"Sid": "Region", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket})
        statements[1]["Action"] = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]

    assert scoped(research_policy(graphs, region)) == []

    def unconditional(statements: list[dict[str, Any]]) -> None:
        region(statements)
        del statements[1]["Condition"]

    (message,) = [m for _, m in scoped(research_policy(graphs, unconditional))]
    assert (
        "statement TeamListing grants s3:ListBucket, s3:ListBucketVersions, s3:ListBucketMultipartUploads on "
        f"arn:aws:s3:::{BUCKET} without an s3:prefix condition: it lists every team's keys" in message
    )

    def versions_of_theirs(statements: list[dict[str, Any]]) -> None:
        statements[1]["Action"] = "s3:ListBucketVersions"
        statements[1]["Condition"]["StringLike"]["s3:prefix"] = ["teams/training/*"]

    (message,) = [m for _, m in scoped(research_policy(graphs, versions_of_theirs))]
    assert "statement TeamListing lets s3:ListBucketVersions" in message
    assert "list 'teams/training/*', team training's prefix, not team research's" in message

    def with_objects(statements: list[dict[str, Any]]) -> None:  # object data on the bucket ARN: still refused
        statements[1]["Action"] = ["s3:GetBucketLocation", "s3:GetObject"]

    (message,) = [m for _, m in scoped(research_policy(graphs, with_objects))]
    assert f"grants s3:GetBucketLocation, s3:GetObject on the bucket itself (arn:aws:s3:::{BUCKET}); only " in message
    assert (
        "only s3:GetBucketLocation, and s3:ListBucket, s3:ListBucketVersions, s3:ListBucketMultipartUploads" in message
    )


def test_policy_variables_in_the_team_prefix_are_refused(graphs: dict[str, list[Node]]) -> None:
    """The platform writes literal prefixes; a variable standing for the team cannot be checked statically."""

    def tagged(statements: list[dict[str, Any]]) -> None:
        statements[0]["Resource"] = f"arn:aws:s3:::{BUCKET}/teams/${{aws:PrincipalTag/team}}/*"
        statements[1]["Condition"]["StringLike"]["s3:prefix"] = ["teams/${aws:PrincipalTag/team}/*"]

    objects, listing = (m for _, m in scoped(research_policy(graphs, tagged)))
    assert objects.startswith(f"{RESEARCH_ROLE}: inline policy storage-research-training statement TeamObjects")
    assert f"on arn:aws:s3:::{BUCKET}/teams/${{aws:PrincipalTag/team}}/*: an IAM policy variable" in objects
    assert (
        f"(${{...}}) cannot be checked statically; write team research's literal prefix: "
        f"arn:aws:s3:::{BUCKET}/teams/research/*" in objects
    )
    assert "list 'teams/${aws:PrincipalTag/team}/*': an IAM policy variable (${...}) cannot be checked" in listing
    assert 'literal prefix: Condition StringLike s3:prefix ["teams/research/*"]' in listing

    def below_the_team(statements: list[dict[str, Any]]) -> None:  # under teams/research/ a variable only narrows
        statements[0]["Resource"] = f"arn:aws:s3:::{BUCKET}/teams/research/${{aws:username}}/*"
        statements[1]["Condition"]["StringLike"]["s3:prefix"] = ["teams/research/${aws:username}/*"]

    assert scoped(research_policy(graphs, below_the_team)) == []


def test_gcs_condition_alternatives_cannot_widen_the_prefix(graphs: dict[str, list[Node]]) -> None:
    """The platform's condition ORs in the bucket itself (GCS checks listing there): allowed, in either order and
    parenthesized; any other alternative could widen the team's prefix."""
    binding = named("gcp:storage/bucketIAMMember:BucketIAMMember", "storage-research-train-objects")
    team = f'resource.name.startsWith("projects/_/buckets/{GCS}/objects/teams/research/")'
    bucket = f'resource.name == "projects/_/buckets/{GCS}" && resource.type == "storage.googleapis.com/Bucket"'

    def expression(text: str) -> Callable[[dict[str, Any]], None]:
        return lambda props: props["condition"].__setitem__("expression", text)

    for same in (team, f"({bucket}) || {team}", f"(({team}) || ({bucket}))"):
        assert scoped(changed(graphs["gcp-dev"], binding, expression(same))) == [], same

    wider = {
        f"{team} || true": "'true'",
        f'{team} || resource.name.startsWith("projects/_/buckets/{GCS}/objects/")': (
            f"""'resource.name.startsWith("projects/_/buckets/{GCS}/objects/")'"""
        ),
        f'{team} || resource.type == "storage.googleapis.com/Bucket"': """'resource.type == "storage.googleapis.com/Bucket"'""",
        f'{team} && (request.time < timestamp("2030-01-01T00:00:00Z") || true)': None,
    }
    for text, alternative in wider.items():
        ((urn, message),) = scoped(changed(graphs["gcp-dev"], binding, expression(text)))
        assert urn.endswith("::storage-research-train-objects")
        assert message.startswith(f"{RESEARCH_GSA}: storage-research-train-objects grants roles/storage.objectUser")
        assert f"on bucket {GCS} with a condition that ORs (||) in " in message, text
        assert alternative is None or f"ORs (||) in {alternative}: an OR can widen it" in message, text
        assert "beyond team research's objects/teams/research/; the only alternatives allowed are " in message
        assert (
            f'and, for listing, (resource.type == "storage.googleapis.com/Bucket" && resource.name == '
            f'"projects/_/buckets/{GCS}")' in message
        )


def test_gcs_grant_without_the_team_condition_is_refused(graphs: dict[str, list[Node]]) -> None:
    binding = named("gcp:storage/bucketIAMMember:BucketIAMMember", "storage-research-train-objects")

    def unconditional(props: dict[str, Any]) -> None:
        del props["condition"]

    ((urn, message),) = scoped(changed(graphs["gcp-dev"], binding, unconditional))
    assert urn.endswith("::storage-research-train-objects")
    assert message.startswith(f"{RESEARCH_GSA}: storage-research-train-objects grants roles/storage.objectUser")
    assert f"on bucket {GCS} without a condition: every team's objects; add the condition" in message
    assert f'resource.name.startsWith("projects/_/buckets/{GCS}/objects/teams/research/")' in message

    def theirs(props: dict[str, Any]) -> None:
        props["condition"]["expression"] = props["condition"]["expression"].replace(
            "teams/research/", "teams/inference/"
        )

    (message,) = [m for _, m in scoped(changed(graphs["gcp-dev"], binding, theirs))]
    assert "under team inference's prefix objects/teams/inference/, not team research's" in message

    def unrelated(props: dict[str, Any]) -> None:
        props["condition"]["expression"] = 'request.time < timestamp("2030-01-01T00:00:00Z")'

    (message,) = [m for _, m in scoped(changed(graphs["gcp-dev"], binding, unrelated))]
    assert "with a condition not limited to team research's objects/teams/research/" in message


def test_project_level_storage_grant_to_a_team_account_is_refused(graphs: dict[str, list[Node]]) -> None:
    nodes = graphs["gcp-dev"]
    account = urn_of(nodes, security.GCP_ACCOUNT, "storage-research-train")
    props = {"project": "gpu-platform-dev", "role": "roles/storage.objectAdmin", "member": UNKNOWN}
    ((urn, message),) = scoped(
        added(nodes, "gcp:projects/iAMMember:IAMMember", "research-admin", props, {"member": account})
    )
    assert urn.endswith("::research-admin")
    assert message == (
        f"{RESEARCH_GSA}: research-admin grants roles/storage.objectAdmin on project gpu-platform-dev: every bucket "
        "of the project, every team's objects; grant it on the bucket with a condition under objects/teams/research/ "
        "instead"
    )
    for basic in ("roles/editor", "roles/owner", "roles/viewer"):  # basic roles include storage access
        grant = {**props, "role": basic}
        ((_, message),) = scoped(
            added(nodes, "gcp:projects/iAMMember:IAMMember", "research-basic", grant, {"member": account})
        )
        assert message == (
            f"{RESEARCH_GSA}: research-basic grants the basic role {basic} on project gpu-platform-dev: it includes "
            "storage access to every bucket of the project, every team's objects; grant a storage role on the bucket "
            "with a condition under objects/teams/research/ instead"
        )
    # Other project roles (the node pools' logging, monitoring) are not storage.
    props = {**props, "role": "roles/logging.logWriter"}
    assert scoped(added(nodes, "gcp:projects/iAMMember:IAMMember", "research-logs", props, {"member": account})) == []


def test_controller_roles_are_not_in_scope(graphs: dict[str, list[Node]]) -> None:
    """kube-system's controllers (load balancer controller, Karpenter, cluster autoscaler) are no team's."""

    def widen(props: dict[str, Any]) -> None:
        document = json.loads(props["policy"])
        document["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        props["policy"] = json.dumps(document)

    controller = lambda n: n.type == security.IAM_ROLE_POLICY and not n.name.startswith("storage-")  # noqa: E731
    for stack in ("aws-dev", "aws-train"):
        broken = changed(graphs[stack], controller, widen)
        role = urn_of(broken, security.IAM_ROLE, "cluster-autoscaler-role")
        arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
        attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        assert scoped(added(broken, attachment, "autoscaler-s3", {"policyArn": arn}, {"role": role})) == []


def test_trust_without_a_subject_is_no_teams(graphs: dict[str, list[Node]]) -> None:
    """An IRSA trust with only the :aud condition names no service account: no team's role, not in scope."""

    def audience_only(props: dict[str, Any]) -> None:
        document = json.loads(props["assumeRolePolicy"])
        equals = document["Statement"][0]["Condition"]["StringEquals"]
        for key in [k for k in equals if k.endswith(":sub")]:
            del equals[key]
        props["assumeRolePolicy"] = json.dumps(document)

    nodes = changed(graphs["aws-train"], named(security.IAM_ROLE, "storage-research-training"), audience_only)
    tenants = security._aws_tenants(Graph(nodes), {"team-research": "research", "team-training": "training"})
    assert "storage-research-training" not in [short(u) for u in tenants] and len(tenants) == 3


def test_pod_identity_and_wildcard_trust_bring_a_role_in_scope(graphs: dict[str, list[Node]]) -> None:
    nodes = graphs["aws-train"]
    role = urn_of(nodes, security.IAM_ROLE, "cluster-autoscaler-role")
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    with_s3 = added(nodes, attachment, "autoscaler-s3", {"policyArn": arn}, {"role": role})
    association = {"namespace": "team-research", "serviceAccount": "notebook", "clusterName": "gpu-train"}
    broken = added(with_s3, security.EKS_POD_IDENTITY, "notebook", association, {"roleArn": role})
    (message,) = [m for _, m in scoped(broken)]
    assert "role cluster-autoscaler-role (assumed by team-research/notebook, team research)" in message

    def any_team(props: dict[str, Any]) -> None:
        document = json.loads(props["assumeRolePolicy"])
        (condition,) = document["Statement"]
        equals = condition["Condition"].pop("StringEquals")
        condition["Condition"]["StringLike"] = {k: "system:serviceaccount:team-*:*" for k in equals}
        props["assumeRolePolicy"] = json.dumps(document)

    broken = changed(with_s3, named(security.IAM_ROLE, "cluster-autoscaler-role"), any_team)
    assert sorted(m.split(":", 1)[0] for _, m in scoped(broken)) == [
        "role cluster-autoscaler-role (assumed by team-research/*, team research)",
        "role cluster-autoscaler-role (assumed by team-training/*, team training)",
    ]


def test_unknown_or_missing_values_are_skipped(graphs: dict[str, list[Node]]) -> None:
    """A preview leaves trust policies, policy documents, conditions unknown: nothing to say, no crash."""

    def whole(statements: list[dict[str, Any]]) -> None:
        statements[0]["Resource"] = "*"

    wide = research_policy(graphs, whole)
    role = named(security.IAM_ROLE, "storage-research-training")
    policy = named(security.IAM_ROLE_POLICY, "storage-research-training")
    binding = named("gcp:storage/bucketIAMMember:BucketIAMMember", "storage-research-train-objects")
    identity = named("gcp:serviceaccount/iAMMember:IAMMember", "storage-research-train-workload-identity")

    def set_(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda props: props.__setitem__(key, value)

    def drop(key: str) -> Callable[[dict[str, Any]], None]:
        return lambda props: props.pop(key)

    def unknown_expression(props: dict[str, Any]) -> None:
        props["condition"]["expression"] = UNKNOWN

    def unconditional(props: dict[str, Any]) -> None:
        del props["condition"]

    gcs_wide = changed(graphs["gcp-dev"], binding, unconditional)
    assert len(scoped(wide)) == 1 and len(scoped(gcs_wide)) == 1  # each refused while everything is known
    cases = {
        "trust unknown": changed(wide, role, set_("assumeRolePolicy", UNKNOWN)),
        "trust missing": changed(wide, role, drop("assumeRolePolicy")),
        "trust unreadable": changed(wide, role, set_("assumeRolePolicy", "{not json")),
        "policy unknown": changed(wide, policy, set_("policy", UNKNOWN)),
        "policy missing": changed(wide, policy, drop("policy")),
        "statements malformed": changed(wide, policy, set_("policy", json.dumps({"Statement": "nonsense"}))),
        "namespaces unknown": changed(wide, lambda n: n.type == security.NAMESPACE, set_("metadata", UNKNOWN)),
        "workload identity member unknown": changed(gcs_wide, identity, set_("member", UNKNOWN)),
        "workload identity role missing": changed(gcs_wide, identity, drop("role")),
        "condition unknown": changed(graphs["gcp-dev"], binding, set_("condition", UNKNOWN)),
        "expression unknown": changed(graphs["gcp-dev"], binding, unknown_expression),
        "bucket member unknown, no dependency": [
            dataclasses.replace(n, props={**n.props, "member": UNKNOWN}, property_dependencies={}) if binding(n) else n
            for n in gcs_wide
        ],
    }
    for case, nodes in cases.items():
        assert scoped(nodes) == [], case

    def unknown_prefix(statements: list[dict[str, Any]]) -> None:
        statements[1]["Condition"]["StringLike"]["s3:prefix"] = UNKNOWN

    assert scoped(research_policy(graphs, unknown_prefix)) == []
    # No property dependency (a literal role name): found by the role's name when it has one.
    literal = [dataclasses.replace(n, property_dependencies={}) if policy(n) else n for n in wide]
    assert scoped(literal) == []
    named_role = changed(literal, role, set_("name", "storage-research-training-id"))
    assert len(scoped(named_role)) == 1


def test_workload_storage_scoped_is_mandatory() -> None:
    (policy,) = [p for p in security.POLICIES if p.name == "workload-storage-scoped"]
    assert policy.enforcement_level == security.EnforcementLevel.MANDATORY
