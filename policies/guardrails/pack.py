"""Every policy of the pack, in order: what ``__main__`` serves and what the offline plan checks policy
config against before anything runs. Importing this module builds policy objects; it serves nothing."""

from pulumi_policy import EnforcementLevel, Policy

from . import cloud_quota, cost, deploy, fit, gpu_limits, gpu_tolerations, pinned_versions, security, sharing

NAME = "gpu-platform"
LEVEL = EnforcementLevel.MANDATORY

POLICIES: list[Policy] = [
    gpu_limits.policy,
    gpu_tolerations.policy,
    pinned_versions.policy,
    # The quota policy runs before its advisory companion, which reports what it found.
    cloud_quota.policy,
    cloud_quota.unknown_policy,
    # Capacity and fit below the cloud quota: queue and namespace quotas within the pools, workloads within both.
    fit.capacity_policy,
    fit.fit_policy,
    # Security: hardened nodes, restricted endpoints, protected storage, least-privilege workloads.
    *security.POLICIES,
    # GPU sharing: MIG profiles from an allowlist, training off time-sliced GPUs.
    *sharing.POLICIES,
    # Cost: the pools at maximum scale against a monthly budget (advisory).
    cost.policy,
    # Deployability: what `pulumi up` would refuse or deploy broken (policies/deploy/).
    *(module.policy for module in deploy.MODULES),
]
