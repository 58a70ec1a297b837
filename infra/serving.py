"""Model endpoints from config, each mapped onto its pool and team through the platform contract.

The same mapping serves the platform stack and team stacks (as ``infra/training.py`` does for jobs).
"""

from collections.abc import Sequence

import pulumi

from components.endpoint_exposure import Exposure, host
from components.inference_service import EndpointSpec
from components.schedule import Window
from components.serving import Endpoint, Endpoints, EndpointsArgs
from stacks.contract import PlatformContract, PoolContract
from stacks.model import ServingEndpoint, WeeklyWindow
from stacks.workload_checks import job_pool

NODE_SHARE = 0.8
"""Default cpu and memory of a replica: this share of its part of a node (the rest is the node's own)."""


def default_size(pool: PoolContract, units: int) -> tuple[str, str]:
    """(cpu, memory) of a replica that asks nothing: its GPUs' share of a node, less headroom for the node."""
    (per_node,) = pool.node_resources.values()
    share = units / per_node * NODE_SHARE
    return str(max(1, int(pool.cpus_per_node * share))), f"{max(1, int(pool.memory_gib_per_node * share))}Gi"


def window(w: WeeklyWindow, count: int) -> Window:
    """A configured weekly window (warm nodes, or an endpoint's minimum replicas) as components take it."""
    return Window(count, tuple(d.value for d in w.days), w.start, w.end, w.timezone)


def endpoint(config: ServingEndpoint, contract: PlatformContract) -> Endpoint:
    """The endpoint as components render it; call only on endpoints that passed ``endpoint_issues``."""
    team = contract.team(config.team)
    assert team is not None  # checked
    (pool,) = job_pool(config, team, contract)
    (resource,) = pool.node_resources
    cpu, memory = default_size(pool, config.gpus_per_replica)
    cloud_identity = contract.storage.startswith(("s3://", "gs://"))
    # The storage initializer (an init container) downloads the weights: a gated hf:// model needs the token
    # there too, which KServe reads from the secrets its pod's service account lists (kserve/kserve#4400).
    # (Without KServe, vLLM downloads the weights itself, with HF_TOKEN in its environment.)
    token_account = (
        config.hf_token is not None and config.model.startswith("hf://") and contract.serving_mode == "kserve"
    )
    service_account = f"{config.name}-hf" if token_account else team.serving_service_account if cloud_identity else None
    spec = EndpointSpec(
        name=config.name,
        team=team.name,
        namespace=team.namespace,
        model=config.model,
        gpu_resource=resource,
        gpus_per_replica=config.gpus_per_replica,
        node_selector=pool.node_selector,
        tolerations=pool.tolerations,
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas,
        cpu=config.cpu or cpu,
        memory=config.memory or memory,
        tensor_parallel_size=config.tensor_parallel_size or config.gpus_per_replica,
        gpu_memory_utilization=config.gpu_memory_utilization,
        max_model_len=config.max_model_len,
        args=tuple(config.args),
        service_account=service_account,
        secret_name=f"{config.name}-hf-token" if config.hf_token is not None else None,
        scaling=(config.scaling.metric.value, config.scaling.target) if config.scaling is not None else None,
        prometheus=contract.prometheus,
        schedule=tuple(window(w, w.min_replicas) for w in config.schedule),
        api_key_secret=f"{config.name}-api-key" if config.api_key is not None else None,
        external_host=host(config.name, team.name, contract.external_domain) if config.external else None,
    )
    return Endpoint(spec, config.hf_token, token_service_account=token_account, api_key=config.api_key)


def exposure(contract: PlatformContract) -> Exposure | None:
    """How the platform's external endpoints are reached, from its contract (None: they cannot be)."""
    if not contract.external:
        return None
    return Exposure(contract.external, contract.external_domain, contract.external_security_policy)


def build_endpoints(
    endpoints: Sequence[ServingEndpoint],
    contract: PlatformContract,
    depends_on: dict[str, list[pulumi.Resource]],
    opts: pulumi.ResourceOptions,
    exposure_ready: Sequence[pulumi.Resource] = (),
) -> dict[str, Endpoints]:
    """One component per team with endpoints; ``depends_on``: team -> what its endpoints wait for;
    ``exposure_ready``: what external endpoints' routes wait for (the platform's load balancer controller or
    Gateway, when they are in the same stack)."""
    by_team: dict[str, list[Endpoint]] = {}
    for config in endpoints:
        by_team.setdefault(config.team, []).append(endpoint(config, contract))
    plain = contract.serving_mode == "plain"
    exposed = exposure(contract)
    return {
        team: Endpoints(
            f"endpoints-{team}",
            EndpointsArgs(team_endpoints, depends_on.get(team, []), plain, exposed, exposure_ready),
            opts,
        )
        for team, team_endpoints in sorted(by_team.items())
    }


def external_urls(endpoints: Sequence[ServingEndpoint], contract: PlatformContract) -> dict[str, str]:
    """``<team>/<endpoint>`` -> the base URL of its OpenAI API, for each external endpoint."""
    return {
        f"{e.team}/{e.name}": f"https://{host(e.name, e.team, contract.external_domain)}/v1"
        for e in endpoints
        if e.external and contract.external
    }
