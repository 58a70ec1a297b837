"""The policy pack. Only the PolicyPack lives here: constructing it serves gRPC
and blocks forever, so no other module may import this one."""

import sys
from pathlib import Path

# The engine runs the pack as `python -m pulumi.policy <engine> .` from this
# directory, in the pack's own virtualenv (policies/venv) where the project is
# not installed. Putting the project root on the path lets `policies.*` and the
# pure-data `components` modules import there exactly as they do in tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import cloud_quota, deploy, gpu_limits, gpu_tolerations, pinned_versions

PolicyPack(
    name="gpu-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        gpu_limits.policy,
        gpu_tolerations.policy,
        pinned_versions.policy,
        # The quota policy runs before its advisory companion, which reports what it found.
        cloud_quota.policy,
        cloud_quota.unknown_policy,
        # Deployability: what `pulumi up` would refuse or deploy broken (policies/deploy/).
        *(module.policy for module in deploy.MODULES),
    ],
)
