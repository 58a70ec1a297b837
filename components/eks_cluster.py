"""An EKS cluster for GPU workloads: encrypted secrets, IRSA, access entries, a system node group.

The control plane's API endpoint is private unless CIDRs are allowed
explicitly; Kubernetes secrets are envelope-encrypted with a customer-managed
KMS key; authentication uses EKS access entries (API mode), not the aws-auth
ConfigMap.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import labels as L
from components.aws_iam import assume_role_policy, node_role
from components.kubeconfig import exec_kubeconfig

ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
LOG_TYPES = ("api", "audit", "authenticator")
LOG_RETENTION_DAYS = 90
SYSTEM_ROLE_LABEL = L.SYSTEM_NODES
"""System nodes carry this label; platform controllers select it."""


@dataclass(frozen=True)
class EksClusterArgs:
    name: str
    """EKS cluster name."""
    region: str
    kubernetes_version: str
    """Pinned Kubernetes minor version, e.g. ``1.33``."""
    control_plane_subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the control plane's network interfaces: zones EKS supports for them, at least two."""
    node_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the system nodes (zones that offer the system instance type)."""
    public_endpoint_cidrs: Sequence[str] = ()
    """CIDRs allowed on the public endpoint; empty: private endpoint only."""
    admins: Sequence[str] = ()
    """IAM role/user ARNs granted cluster admin; empty: the identity that creates the cluster."""
    system_instance_type: str = "m6i.large"
    system_min_nodes: int = 2
    system_max_nodes: int = 4
    node_monitoring: bool = False
    """Install the EKS node monitoring agent add-on: it turns GPU (NVIDIA XID, DCGM), kernel, network and
    storage failures into node conditions (``AcceleratedHardwareReady`` ...) that managed node group repair acts on."""
    tags: dict[str, str] = field(default_factory=dict)


NODE_MONITORING_ADDON = "eks-node-monitoring-agent"


def kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token``."""
    args = ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"]
    return exec_kubeconfig(name, endpoint, ca_data, {"command": "aws", "args": args})


class EksCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Secret."""
    node_role_arn: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    ready: list[pulumi.Resource]
    """What must exist before anything is applied inside the cluster: system nodes to run controllers and
    the admins' access (the deployer is one of them). The Kubernetes provider depends on these."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = self._create_control_plane(name, args, child)
        access = self._create_access(name, args, cluster, child)
        nodes = node_role(f"{name}-nodes", self)
        # Managed node groups get their access entries from EKS itself (API mode).
        system = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            # A prefix, not a fixed name: a new instance type or subnet list replaces the group, and the
            # replacement is created before the old one goes, so the controllers always have nodes.
            node_group_name_prefix="system-",
            node_role_arn=nodes.arn,
            subnet_ids=args.node_subnet_ids,
            ami_type="AL2023_x86_64_STANDARD",
            instance_types=[args.system_instance_type],
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=args.system_min_nodes, min_size=args.system_min_nodes, max_size=args.system_max_nodes
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=SYSTEM_ROLE_LABEL,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.ready = [system, *access]
        if args.node_monitoring:
            # A DaemonSet on every node (it tolerates all taints); EKS picks the add-on version for the
            # cluster's Kubernetes version when it is created, and the state keeps it.
            aws.eks.Addon(
                f"{name}-node-monitoring-agent",
                cluster_name=cluster.name,
                addon_name=NODE_MONITORING_ADDON,
                resolve_conflicts_on_create="OVERWRITE",
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[system]),
            )
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.node_role_arn = nodes.arn
        self.node_role_name = nodes.name
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda v: kubeconfig(v[0], v[1], v[2], args.region)
            )
        )
        self.register_outputs(
            {"clusterName": self.cluster_name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig}
        )

    def _create_control_plane(self, name: str, args: EksClusterArgs, child: pulumi.ResourceOptions) -> aws.eks.Cluster:
        role = aws.iam.Role(f"{name}-cluster", assume_role_policy=assume_role_policy("eks.amazonaws.com"), opts=child)
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", opts=child
        )
        # A customer-managed key with rotation: secrets stay readable only through this key's policy.
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets encryption for {args.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{args.name}-eks-secrets", target_key_id=key.key_id, opts=child)
        # EKS writes control-plane logs here; created first with a retention, or EKS creates it keeping logs forever.
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/eks/{args.name}/cluster", retention_in_days=LOG_RETENTION_DAYS, opts=child
        )
        public = bool(args.public_endpoint_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.control_plane_subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(args.public_endpoint_cidrs) if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=not args.admins,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(LOG_TYPES),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, logs]),
        )
        # IRSA: workloads assume IAM roles through the cluster's OIDC issuer.
        issuer = cluster.identities[0].oidcs[0].issuer
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], tags=args.tags, opts=child
        )
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer = issuer
        return cluster

    def _create_access(
        self, name: str, args: EksClusterArgs, cluster: aws.eks.Cluster, child: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """Cluster-admin access entries for ``admins`` (with none, EKS bootstraps the creator as admin)."""
        associations: list[pulumi.Resource] = []
        for i, principal in enumerate(args.admins):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=cluster.name, principal_arn=principal, type="STANDARD", opts=child
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=cluster.name,
                principal_arn=principal,
                policy_arn=ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )
            associations.append(association)
        return associations
