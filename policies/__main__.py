"""The policy pack. Only the PolicyPack lives here: constructing it serves gRPC
and blocks forever, so no other module may import this one."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import gpu_limits, gpu_tolerations, pinned_versions

PolicyPack(
    name="gpu-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[gpu_limits.policy, gpu_tolerations.policy, pinned_versions.policy],
)
