"""A team stack: one team's workloads on a platform stack it references.

The platform team owns the platform stack; an ML team owns a stack of the same project that
names it (``gpu-platform:platform``) and deploys only its own jobs, into its own namespace,
through the platform's Kubernetes access. Jobs are rendered from the platform's contract as
derived from its stack file (so the plan and the checks agree offline); the deployed
platform's exported contract is compared with it at deploy time, and a difference is reported.
"""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.serving import build_endpoints, external_urls
from infra.training import build_jobs
from stacks.clouds import Capability, backend
from stacks.contract import platform_contract
from stacks.loader import load_file, platform_stack_file
from stacks.model import PlatformConfig


def _provider(ref: pulumi.StackReference, platform: PlatformConfig) -> k8s.Provider:
    """The platform's own way in: its kubeconfig output (a secret) for clusters it creates or was given
    inline; otherwise the kubeconfig context/file the platform stack itself uses on this machine."""
    exported = backend(platform.cloud).has(Capability.MANAGED_CLUSTER) or platform.cluster.kubeconfig is not None
    if exported:
        args = k8s.ProviderArgs(kubeconfig=ref.require_output("kubeconfig"), enable_server_side_apply=True)
    else:
        args = k8s.ProviderArgs(
            kubeconfig=platform.cluster.kubeconfig_path,
            context=platform.cluster.context,
            enable_server_side_apply=True,
        )
    return k8s.Provider("platform-k8s", args)


def build_team_stack(config: PlatformConfig) -> dict[str, Any]:
    assert config.platform is not None
    ref_config = config.platform
    # The loader checked this stack against the platform's file; read it once more here, not twice.
    platform = load_file(platform_stack_file(config))
    contract = platform_contract(platform)
    ref = pulumi.StackReference("platform", stack_name=ref_config.stack)
    expected = contract.to_json()

    def compare(deployed: Any) -> None:
        if deployed is not None and deployed != expected:
            pulumi.log.warn(
                f"platform stack {ref_config.stack}'s deployed contract differs from its stack file in this "
                "repository: deploy the platform stack first, or update this checkout"
            )

    ref.get_output("platform").apply(compare)
    provider = _provider(ref, platform)
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    build_jobs(config.training.jobs, contract, {}, opts)
    build_endpoints(config.serving.endpoints, contract, {}, opts)
    team = contract.team(ref_config.team)
    assert team is not None  # checked by the loader
    return {
        "platformStack": ref_config.stack,
        "team": team.name,
        "namespace": team.namespace,
        "queue": team.queue,
        "trainJobs": sorted(job.name for job in config.training.jobs),
        "endpoints": sorted(e.name for e in config.serving.endpoints),
        **({"externalEndpoints": urls} if (urls := external_urls(config.serving.endpoints, contract)) else {}),
    }
