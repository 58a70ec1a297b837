"""IAM pieces every AWS component needs: trust policies, IRSA roles, node roles. Pure JSON plus two builders.

IRSA: a Kubernetes service account assumes an IAM role through the cluster's
OIDC issuer; the trust policy names exactly one namespace/service account.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

# What an EKS node needs, and nothing more (EKS user guide, "Amazon EKS node IAM role").
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        },
        sort_keys=True,
    )


def irsa_trust(provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    host = issuer.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{host}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def irsa_role(
    name: str,
    parent: pulumi.Resource,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A role only ``namespace/service_account`` can assume, and its one inline policy.

    Whatever uses the role should depend on the policy too: then ``pulumi destroy`` removes the user
    (a controller that must clean up after itself) before its permissions.
    """
    role = aws.iam.Role(
        name,
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
            lambda v: irsa_trust(v[0], v[1], namespace, service_account)
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attached = aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=parent))
    return role, attached


def node_role(name: str, parent: pulumi.Resource) -> aws.iam.Role:
    """An EC2 role with the managed policies EKS nodes need."""
    role = aws.iam.Role(
        name, assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=pulumi.ResourceOptions(parent=parent)
    )
    for policy in NODE_POLICIES:
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=policy,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return role
