"""gpu-cloud-quota: the GPU pools of a stack fit in the cloud's GPU quotas at maximum scale.

For each quota family, the sum over all pools of what they can consume at
maximum scale must not exceed the configured quota: AWS counts vCPUs per
region and EC2 quota code (managed node groups: max nodes x vCPUs; Karpenter
pools: their cpu limit), on-demand and spot separately; GCP counts GPUs per
region and metric (``PREEMPTIBLE_`` metrics for spot) and ``GPUS_ALL_REGIONS``.
Quotas come from policy config literals and, with ``liveLookup: true``, from the
clouds' quota APIs (``live_quota``); a configured value wins over a looked-up one
and the message says which was used. Nothing either reads is unknown in
``pulumi preview``, so the policy stays mandatory there.

``gpu-cloud-quota-unknown`` (advisory) reports what must not pass silently but
must not block either: families with no quota (none configured, or the lookup
failed, and why), and families whose quota the pools fit alone but not with what
the cloud says is already in use (other stacks in the account or project, and
this stack's own running nodes on an update). The engine hands each policy only
its own config, so both take the same block (the offline plan refuses a file
where they differ); each evaluates on its own, since policies keep no state
between them.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
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
from .live_quota import Settings, lookup
from .pool_limits import gke_max_nodes, karpenter_max_nodes
from .quota import QuotaDraw, QuotaRow, family_name, gcp_global_draws, quota_config_problems, tally
from .resource_types import KARPENTER_NODE_POOL
from .workloads import count

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
        "description": "Also read quotas and current usage from the clouds (AWS Service Quotas and CloudWatch usage "
        "metrics, GCP Compute and Cloud Quotas APIs), with the credentials `pulumi preview` runs with. Configured "
        "quotas win over looked-up ones.",
    },
    "unknownQuotas": {
        "type": "string",
        "enum": ["advisory", "mandatory"],
        "default": "advisory",
        "description": "A family whose quota is neither configured nor read from the cloud (the lookup failed): "
        "reported by gpu-cloud-quota-unknown (advisory), or refused by gpu-cloud-quota (mandatory: CI and "
        "production, where a lookup that fails must not let a stack through).",
    },
    "lookupTimeoutSeconds": {
        "type": "number",
        "minimum": 1,
        "maximum": 120,
        "default": 10,
        "description": "How long one cloud's quota lookups may take in all; what is not read by then counts as unknown.",
    },
    "gcp": {
        "type": "object",
        "properties": {
            "project": {
                "type": "string",
                "description": "Project whose quotas to read (default: the node pools' project).",
            },
            "computeEndpoint": {"type": "string", "description": "Compute API endpoint (Private Service Connect)."},
            "cloudQuotasEndpoint": {"type": "string", "description": "Cloud Quotas API endpoint."},
            "anonymous": {"type": "boolean", "description": "Send no credentials (API emulators only)."},
        },
        "additionalProperties": False,
        "default": {},
    },
}


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
    nodes = count((props.get("scalingConfig") or {}).get("maxSize"))
    spot = props.get("capacityType") == "SPOT"
    pool = (props.get("tags") or {}).get(POOL_TAG) or props.get("nodeGroupName") or resource.name
    family = offering.quota_spot if spot else offering.quota_on_demand
    detail = f"{nodes} x {offering.name} x {offering.vcpus} vCPUs"
    if props.get("capacityType") == "CAPACITY_BLOCK":
        detail += ", a Capacity Block counted as on-demand"
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
    nodes = karpenter_max_nodes(limits, offering.vcpus)
    vcpus = (nodes or 0) * offering.vcpus
    region = str((metadata.get("annotations") or {}).get(REGION_ANNOTATION, ""))
    pool = str((metadata.get("labels") or {}).get(POOL_TAG) or metadata.get("name") or resource.name)
    detail = (
        f"Karpenter limits: {nodes} x {offering.name} x {offering.vcpus} vCPUs"
        if nodes is not None
        else "Karpenter NodePool without a cpu or node limit: unbounded, not counted"
    )
    return [
        QuotaDraw("aws", region, offering.quota_spot if ct == "spot" else offering.quota_on_demand, pool, vcpus, detail)
        for ct in sorted(set(capacity_types))
    ]


def _gcp_draws(resource: PolicyResource) -> list[QuotaDraw]:
    props = resource.props
    node_config = props.get("nodeConfig") or {}
    nodes = gke_max_nodes(props)
    # A zonal pool's location is its zone (us-central1-a): quotas are counted per region.
    location = str(props.get("location") or "")
    region = location[:-2] if len(location.split("-")) == 3 and len(location.split("-")[-1]) == 1 else location
    draws = []
    for accelerator in node_config.get("guestAccelerators") or []:
        info = gcp_accelerator(str(accelerator.get("type")))
        if info is None:
            continue
        per_node = count(accelerator.get("count"))
        # DWS flex-start draws on the preemptible quota, as GCP counts it.
        flex = bool(node_config.get("flexStart"))
        spot = bool(node_config.get("spot") or node_config.get("preemptible")) or flex
        family = info.spot_quota_metric if spot else info.quota_metric
        pool = str(props.get("name") or resource.name)
        detail = f"{nodes} nodes x {per_node} {info.name}" + (", flex-start" if flex else "")
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
    return quota_config_problems(config.get("quotas") or {})


@dataclass(frozen=True)
class Assessment:
    rows: list[QuotaRow]
    over: list[str]
    """Mandatory: the pools at maximum scale need more than the quota (or the config is wrong)."""
    advisories: list[str]
    """Unknown quotas (with why) and quotas the pools fit alone but not with what is already in use."""


def _gcp_project(resources: Iterable[PolicyResource]) -> str:
    for resource in resources:
        if resource.resource_type == "gcp:container/nodePool:NodePool" and resource.props.get("project"):
            return str(resource.props["project"])
        provider = getattr(resource, "provider", None)
        if resource.resource_type.startswith("gcp:") and provider is not None and provider.props.get("project"):
            return str(provider.props["project"])
    return ""


def merge(rows: Sequence[QuotaRow], config: Mapping[str, Any], gcp_project: str = "") -> list[QuotaRow]:
    """The rows with their looked-up quotas and usage when ``liveLookup`` is on; configured quotas win."""
    if not config.get("liveLookup") or not rows:
        return list(rows)
    live = lookup([(r.cloud, r.region, r.family) for r in rows], Settings.of(config, gcp_project))
    merged = []
    for row in rows:
        key = (row.cloud, row.region, row.family)
        found, failed = live.found.get(key), live.failed.get(key, "")
        if found is None:
            merged.append(replace(row, unknown_reason=failed) if row.quota is None else row)
        elif row.quota is None:
            merged.append(
                replace(row, quota=found.limit, source=found.source, usage=found.usage, usage_note=found.usage_note)
            )
        else:
            source = f"policy config (the cloud says {found.limit}: {found.source})"
            merged.append(replace(row, source=source, usage=found.usage, usage_note=found.usage_note))
    return merged


def assess(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Assessment:
    if problems := quota_config_problems(config.get("quotas") or {}):
        # Under the Pulumi CLI a bad config reaches the pack (the schema cannot name quota codes):
        # report it as what blocks, never count against a misspelled family.
        return Assessment([], [f"policy config: {p}" for p in problems], [])
    # Policy config travels as a protobuf Struct, where every number is a float.
    quotas = {
        cloud: {region: {family: count(v) for family, v in families.items()} for region, families in regions.items()}
        for cloud, regions in (config.get("quotas") or {}).items()
    }
    rows = merge(tally(draws(resources), quotas), config, _gcp_project(resources))
    over = [_over_message(r) for r in rows if r.over]
    unknown = [_unknown_message(r, bool(config.get("liveLookup"))) for r in rows if r.quota is None]
    blocking = config.get("unknownQuotas") == "mandatory"
    over += [f"{m} (unknownQuotas: mandatory)" for m in unknown] if blocking else []
    advisories = [] if blocking else unknown
    advisories += [_at_risk_message(r) for r in rows if r.at_risk]
    return Assessment(rows, over, advisories)


def evaluate(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(over-quota messages, advisory messages)."""
    found = assess(resources, config)
    return found.over, found.advisories


def _usage_note(row: QuotaRow) -> str:
    """What the message says about what is already in use, when the cloud was asked."""
    if row.usage is not None:
        return f"; {row.usage} {row.unit} are already in use ({row.usage_note})"
    return f"; what is already in use was not counted ({row.usage_note})" if row.usage_note else ""


def _over_message(row: QuotaRow) -> str:
    assert row.quota is not None
    return (
        f"{row.describe()}; the quota is {row.quota} ({row.source}), over by {row.total - row.quota}"
        f"{_usage_note(row)}: raise the quota ({family_name(row.cloud, row.family)}) or lower maxNodes"
    )


def _at_risk_message(row: QuotaRow) -> str:
    assert row.quota is not None and row.usage is not None
    return (
        f"{row.describe()}; the quota is {row.quota} ({row.source}) and {row.usage} {row.unit} are already in use "
        f"({row.usage_note}; on an update that includes this stack's own running nodes): at maximum scale the pools "
        f"would need {-(row.headroom or 0)} {row.unit} more than is free; raise the quota ({family_name(row.cloud, row.family)}) or "
        "lower maxNodes"
    )


def _unknown_message(row: QuotaRow, live: bool) -> str:
    why = f"the live lookup failed: {row.unknown_reason}; " if row.unknown_reason else ""
    configured = "no quota is configured" + (" and none was read from the cloud" if live and not why else "")
    return (
        f"quota unknown: {row.describe()}, but {configured}; {why}"
        f"set quotas.{row.cloud}.{row.region}.{row.family} in the {NAME} policy config"
        + ("" if live else " or turn on liveLookup")
    )


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message in assess(args.resources, args.get_config() or {}).over:
        report_violation(message, None)


def _validate_unknown(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message in assess(args.resources, args.get_config() or {}).advisories:
        report_violation(message, None)


policy = StackValidationPolicy(
    name=NAME,
    description="GPU pools at maximum scale fit in the cloud GPU quotas (AWS vCPUs per quota code, GCP GPUs per "
    "metric), configured or read from the clouds.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate,
    config_schema=PolicyConfigSchema(properties=CONFIG_SCHEMA),
)

# The engine hands each policy only its own config: this one takes the same block as gpu-cloud-quota. The
# shipped policy configs carry it under both names, and the offline plan refuses a file where they differ.
unknown_policy = StackValidationPolicy(
    name=UNKNOWN_NAME,
    description="Every cloud GPU quota family the stack draws on has a known quota, and the pools at maximum scale "
    "fit in it with what the cloud says is already in use.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_validate_unknown,
    config_schema=PolicyConfigSchema(properties=CONFIG_SCHEMA),
)
