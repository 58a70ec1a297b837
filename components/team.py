"""A team's home in the cluster: its namespace and the GPU ResourceQuota that backs its queue."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import labels as L

TEAM_LABEL = L.TEAM_LABEL
DEPLOYER_ROLE = "gpu-platform-team-deployer"
_READ = ["get", "list", "watch"]
_ALL = ["get", "list", "watch", "create", "update", "patch", "delete"]
DEPLOYER_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    # What a team stack creates, and what its engineers follow a job through (kubectl get trainjobs, logs).
    {"api_groups": ["trainer.kubeflow.org"], "resources": ["trainjobs", "trainingruntimes"], "verbs": _ALL},
    {"api_groups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": _ALL},
    # Plain-mode endpoints (serving.mode: plain): a vLLM Deployment, its Service and its KEDA ScaledObject.
    {"api_groups": ["apps"], "resources": ["deployments"], "verbs": _ALL},
    {"api_groups": ["apps"], "resources": ["replicasets"], "verbs": _READ},
    {"api_groups": ["keda.sh"], "resources": ["scaledobjects"], "verbs": _ALL},
    # External endpoints: an Ingress (EKS) or an HTTPRoute and its load-balancer policies (GKE), for the team's own
    # hosts only (the platform's admission policy checks them).
    {"api_groups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": _ALL},
    {"api_groups": ["gateway.networking.k8s.io"], "resources": ["httproutes"], "verbs": _ALL},
    {"api_groups": ["networking.gke.io"], "resources": ["healthcheckpolicies", "gcpbackendpolicies"], "verbs": _ALL},
    # Calling an in-cluster endpoint from a laptop: kubectl port-forward.
    {"api_groups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
    {"api_groups": [""], "resources": ["secrets", "configmaps"], "verbs": _ALL},
    {"api_groups": [""], "resources": ["services"], "verbs": _ALL},
    {"api_groups": [""], "resources": ["pods", "pods/log", "events", "persistentvolumeclaims"], "verbs": _READ},
    # Endpoints of gated models get a service account listing their token Secret (KServe's storage initializer).
    {"api_groups": [""], "resources": ["serviceaccounts"], "verbs": _ALL},
    {"api_groups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": _READ},
    {"api_groups": ["batch"], "resources": ["jobs"], "verbs": _READ},
    {"api_groups": ["kueue.x-k8s.io"], "resources": ["workloads", "localqueues"], "verbs": _READ},
]
"""Namespaced rights of a team's deployers: no cluster-wide objects, nothing in other namespaces."""


@dataclass(frozen=True)
class TeamSpaceArgs:
    team: str
    """Team name."""
    namespace: str
    """Namespace of the team's workloads."""
    gpu_limits: dict[str, str] = field(default_factory=dict)
    """ResourceQuota hard limits on GPU requests (``requests.nvidia.com/gpu`` ...); empty: no quota object."""
    service_accounts: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """Service account name -> annotations binding it to a cloud identity (IRSA, Workload Identity)."""
    deployer_subjects: Sequence[Mapping[str, str]] = ()
    """RBAC subjects (beyond the team's group) who may deploy the team's workloads."""


class TeamSpace(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: TeamSpaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:TeamSpace", name, None, opts)
        # GPU training and inference pods need nothing beyond the baseline Pod
        # Security Standard; warn (not block) at restricted so teams see drift.
        # Plain dicts (the Args types' TypedDict form): one team per call, no reflection over Args classes.
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {
                    TEAM_LABEL: args.team,
                    L.MANAGED_BY_LABEL: L.MANAGED_BY,
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.gpu_limits:
            # A backstop under Kueue: pods that bypass the queue still cannot exceed the team's GPUs.
            k8s.core.v1.ResourceQuota(
                f"{name}-gpu-quota",
                metadata={
                    "name": "gpu-quota",
                    "namespace": ns.metadata.name,
                    "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY},
                },
                spec={"hard": args.gpu_limits},
                opts=pulumi.ResourceOptions(parent=self),
            )
        for account, annotations in sorted(args.service_accounts.items()):
            k8s.core.v1.ServiceAccount(
                f"{name}-sa-{account}",
                metadata={
                    "name": account,
                    "namespace": ns.metadata.name,
                    "labels": {TEAM_LABEL: args.team, L.MANAGED_BY_LABEL: L.MANAGED_BY},
                    "annotations": dict(annotations),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        # The team's own deployers (its team stack, its engineers): jobs and what they run, in this namespace only.
        meta: k8s.meta.v1.ObjectMetaArgsDict = {
            "name": DEPLOYER_ROLE,
            "namespace": ns.metadata.name,
            "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY},
        }
        role = k8s.rbac.v1.Role(
            f"{name}-deployer", metadata=meta, rules=DEPLOYER_RULES, opts=pulumi.ResourceOptions(parent=self)
        )
        group: k8s.rbac.v1.SubjectArgsDict = {
            "api_group": "rbac.authorization.k8s.io",
            "kind": "Group",
            "name": f"{L.TEAM_GROUP_PREFIX}{args.team}",
        }
        others: list[k8s.rbac.v1.SubjectArgsDict] = [
            {"api_group": "rbac.authorization.k8s.io", "kind": s["kind"], "name": s["name"]}
            for s in args.deployer_subjects
        ]
        k8s.rbac.v1.RoleBinding(
            f"{name}-deployer",
            metadata=meta,
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": DEPLOYER_ROLE},
            subjects=[group, *others],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )
        self.namespace = ns.metadata.name
        # One per pool or team: its outputs stay attributes (``namespace``). Registering them as Output values
        # makes the SDK await and serialize each one (about a tenth of an AWS plan at 100 pools, measured).
        self.register_outputs({})
