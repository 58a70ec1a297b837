"""gpu-cloud-quota: the GPU pools of a stack fit in the cloud's GPU quotas at maximum scale.

For each quota family, the sum over all pools of what they can consume at
maximum scale must not exceed the configured quota: AWS counts vCPUs per
region and EC2 quota code (managed node groups: max nodes x vCPUs; Karpenter
pools: their cpu limit), on-demand and spot separately; GCP counts GPUs per
region and metric (``PREEMPTIBLE_`` metrics for spot) and ``GPUS_ALL_REGIONS``.
Quotas come from policy config literals, so the policy stays mandatory in
``pulumi preview`` (nothing it reads is unknown there).

``gpu-cloud-quota-unknown`` (advisory) reports families the stack draws on
with no configured quota: never passed silently, never blocking. It reports
what ``gpu-cloud-quota`` found in the same stack analysis (the pack runs its
policies in order), so quotas are configured once, on ``gpu-cloud-quota``.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .catalog import aws_instance, gcp_accelerator
from .quota import QuotaDraw, QuotaRow, gcp_global_draws, quota_config_problems, tally
from .resource_types import KARPENTER_NODE_POOL

NAME = "gpu-cloud-quota"
UNKNOWN_NAME = "gpu-cloud-quota-unknown"
POOL_TAG = "gpu-platform.io/pool"
REGION_ANNOTATION = "gpu-platform.io/region"

_quota_map = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_region_map = {"type": "object", "additionalProperties": _quota_map}
CONFIG_SCHEMA: dict[str, Any] = {
    "quotas": {
        "type": "object",
        "properties": {"aws": _region_map, "gcp": _region_map},
        "additionalProperties": False,
        "default": {},
        "description": "Quota per cloud, region (or 'global') and family: AWS EC2 vCPU quota codes "
        "(L-DB2E81BA ...), GCP metrics (NVIDIA_L4_GPUS, PREEMPTIBLE_NVIDIA_L4_GPUS, GPUS_ALL_REGIONS ...).",
    },
    "liveLookup": {
        "type": "boolean",
        "default": False,
        "description": "Read quotas from the clouds' quota APIs (not available yet: must be false).",
    },
}


def _int(value: Any) -> int:
    return int(float(value or 0))


def _aws_region(resource: PolicyResource) -> str:
    provider = getattr(resource, "provider", None)
    region = resource.props.get("region") or (provider.props.get("region") if provider is not None else None)
    return str(region or "")


def _aws_draws(resource: PolicyResource) -> list[QuotaDraw]:
    props = resource.props
    instance_types = props.get("instanceTypes") or []
    if not instance_types:
        return []
    offering = aws_instance(str(instance_types[0]))
    if offering is None:
        return []  # a type the catalog does not know draws on no GPU quota we track
    nodes = _int((props.get("scalingConfig") or {}).get("maxSize"))
    spot = props.get("capacityType") == "SPOT"
    pool = (props.get("tags") or {}).get(POOL_TAG) or props.get("nodeGroupName") or resource.name
    family = offering.quota_spot if spot else offering.quota_on_demand
    detail = f"{nodes} x {offering.name} x {offering.vcpus} vCPUs"
    return [QuotaDraw("aws", _aws_region(resource), family, str(pool), nodes * offering.vcpus, detail)]


def _karpenter_draws(resource: PolicyResource) -> list[QuotaDraw]:
    spec = resource.props.get("spec") or {}
    metadata = resource.props.get("metadata") or {}
    limits = spec.get("limits") or {}
    requirements = ((spec.get("template") or {}).get("spec") or {}).get("requirements") or []
    values = {r.get("key"): list(r.get("values") or []) for r in requirements}
    instance_types = values.get("node.kubernetes.io/instance-type") or []
    capacity_types = values.get("karpenter.sh/capacity-type") or ["on-demand"]
    if not instance_types:
        return []
    offering = aws_instance(str(instance_types[0]))
    if offering is None:
        return []
    vcpus = _int(limits.get("cpu"))
    region = str((metadata.get("annotations") or {}).get(REGION_ANNOTATION, ""))
    pool = str((metadata.get("labels") or {}).get(POOL_TAG) or metadata.get("name") or resource.name)
    detail = f"Karpenter cpu limit {vcpus}"
    return [
        QuotaDraw("aws", region, offering.quota_spot if ct == "spot" else offering.quota_on_demand, pool, vcpus, detail)
        for ct in sorted(set(capacity_types))
    ]


def _gcp_draws(resource: PolicyResource) -> list[QuotaDraw]:
    props = resource.props
    node_config = props.get("nodeConfig") or {}
    autoscaling = props.get("autoscaling") or {}
    nodes = (
        _int(autoscaling.get("totalMaxNodeCount"))
        or _int(autoscaling.get("maxNodeCount")) * max(1, len(props.get("nodeLocations") or []))
        or _int(props.get("nodeCount"))
    )
    region = str(props.get("location") or "")
    draws = []
    for accelerator in node_config.get("guestAccelerators") or []:
        info = gcp_accelerator(str(accelerator.get("type")))
        if info is None:
            continue
        per_node = _int(accelerator.get("count"))
        spot = bool(node_config.get("spot") or node_config.get("preemptible"))
        family = info.spot_quota_metric if spot else info.quota_metric
        pool = str(props.get("name") or resource.name)
        detail = f"{nodes} nodes x {per_node} {info.name}"
        draws.append(QuotaDraw("gcp", region, family, pool, nodes * per_node, detail))
    return draws


# Resource type -> how its GPU quota draw is read. A table, not an if-chain.
READERS = {
    "aws:eks/nodeGroup:NodeGroup": _aws_draws,
    KARPENTER_NODE_POOL: _karpenter_draws,
    "gcp:container/nodePool:NodePool": _gcp_draws,
}


def draws(resources: Iterable[PolicyResource]) -> list[QuotaDraw]:
    found: list[QuotaDraw] = []
    for resource in resources:
        reader = READERS.get(resource.resource_type)
        if reader is None:
            continue
        found += reader(resource)
    return found + gcp_global_draws(found)


def config_problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with this policy's config beyond its JSON schema (unknown regions, quota codes, metrics)."""
    problems = quota_config_problems(config.get("quotas") or {})
    if config.get("liveLookup"):
        problems.append(
            "liveLookup: true is not available in this version (quotas are not read from the cloud APIs yet); "
            "set liveLookup to false and list the quotas under quotas"
        )
    return problems


def evaluate(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(over-quota messages, unknown-quota messages)."""
    if problems := quota_config_problems(config.get("quotas") or {}):
        # Under the Pulumi CLI a bad config reaches the pack (the schema cannot name quota codes):
        # report it as what blocks, never count against a misspelled family.
        return [f"policy config: {p}" for p in problems], []
    if config.get("liveLookup"):
        return (
            [
                "liveLookup: true is not available in this version (quotas are not read from the cloud APIs yet); "
                "set liveLookup to false and list the quotas under quotas"
            ],
            [],
        )
    # Policy config travels as a protobuf Struct, where every number is a float.
    quotas = {
        cloud: {region: {family: _int(v) for family, v in families.items()} for region, families in regions.items()}
        for cloud, regions in (config.get("quotas") or {}).items()
    }
    rows = tally(draws(resources), quotas)
    over = [_over_message(r) for r in rows if r.over]
    unknown = [_unknown_message(r) for r in rows if r.quota is None]
    return over, unknown


def _over_message(row: QuotaRow) -> str:
    assert row.quota is not None
    return f"{row.describe()}; the quota is {row.quota} (over by {row.total - row.quota}): raise the quota or lower maxNodes"


def _unknown_message(row: QuotaRow) -> str:
    return (
        f"quota unknown: {row.describe()}, but no quota is configured; "
        f"set quotas.{row.cloud}.{row.region}.{row.family} in the {NAME} policy config"
    )


_unknown_by_stack: dict[tuple[str, ...], list[str]] = {}


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    over, unknown = evaluate(args.resources, args.get_config() or {})
    _unknown_by_stack.clear()
    _unknown_by_stack[tuple(r.urn for r in args.resources)] = unknown
    for message in over:
        report_violation(message, None)


def _validate_unknown(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message in _unknown_by_stack.get(tuple(r.urn for r in args.resources), []):
        report_violation(message, None)


policy = StackValidationPolicy(
    name=NAME,
    description="GPU pools at maximum scale fit in the cloud GPU quotas (AWS vCPUs per quota code, GCP GPUs per metric).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate,
    config_schema=PolicyConfigSchema(properties=CONFIG_SCHEMA),
)

unknown_policy = StackValidationPolicy(
    name=UNKNOWN_NAME,
    description="Every cloud GPU quota family the stack draws on has a quota configured on gpu-cloud-quota.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_validate_unknown,
)
