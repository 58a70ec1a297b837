"""AWS: EKS with managed node groups or Karpenter, planned by availability-zone ID.

Zone *names* (``us-east-1a``) map to different physical zones in every AWS
account, so nothing here plans by name: stack and pool zones are zone IDs
(``use1-az1``), subnets are created by zone ID, and EKS's refusal of some zone
IDs for control-plane subnets is decided offline from the catalog.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from components.catalog import (
    AWS_INSTANCE_TYPES,
    EKS_UNSUPPORTED_ZONE_IDS,
    Offering,
    aws_region_zone_ids,
    aws_regions,
    aws_zone_ids,
)
from components.catalog.aws import AWS_SYSTEM_INSTANCE_TYPES, EKS_MIN_AMI_RELEASE
from components.pool_spec import SharingMode
from components.versions import EKS_VERSIONS, KARPENTER_AMI_ALIAS
from policies.guardrails.catalog import ami_release_problem
from stacks.clouds.base import Capability, Issue, SoftwareDefaults, key
from stacks.clouds.managed import ManagedCloud
from stacks.model import AmiType, Cloud, GpuStack, NodePool, PlatformConfig, Provisioner

_ZONE_NAME = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$")
# ACM certificate ARNs (ACM API reference, "CertificateArn"): the certificate ID is a UUID.
ACM_CERTIFICATE_ARN = re.compile(
    r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
EKS_MIN_CONTROL_PLANE_ZONES = 2
"""EKS needs control-plane subnets in at least two availability zones."""

# Node image (config) -> EKS AMI type per CPU architecture. A table, not an if-chain.
EKS_NVIDIA_AMI_TYPES: dict[str, dict[str, str]] = {
    "al2023": {"x86_64": "AL2023_x86_64_NVIDIA", "arm64": "AL2023_ARM_64_NVIDIA"},
    "bottlerocket": {"x86_64": "BOTTLEROCKET_x86_64_NVIDIA", "arm64": "BOTTLEROCKET_ARM_64_NVIDIA"},
}


def eks_ami_type(offering: Offering, image: str) -> str | None:
    """The EKS AMI type that runs ``offering`` with NVIDIA drivers on ``image``, or ``None`` if EKS has none."""
    ami = EKS_NVIDIA_AMI_TYPES.get(image, {}).get(offering.arch)
    row = AWS_INSTANCE_TYPES.get(offering.instance_type)
    return ami if ami is not None and row is not None and ami in row.ami_types else None


class Aws(ManagedCloud):
    cloud = Cloud.AWS
    capabilities = frozenset(
        {
            Capability.NODE_REPAIR,
            Capability.EXTERNAL_ENDPOINTS,
            Capability.OBJECT_STORAGE,
            Capability.MANAGED_CLUSTER,
            Capability.INSTANCE_TYPES,
            Capability.NODE_IMAGES,
            Capability.EFA,
            Capability.KARPENTER,
            Capability.IAM_ADMINS,
            Capability.NAT_CHOICE,
            Capability.GPU_SOFTWARE_CHOICE,
        }
    )
    builder = "infra.clouds.aws"
    region_pattern = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
    region_example = "us-east-1"
    type_field = "instanceType"
    max_endpoint_cidrs = 40
    network_prefixes = range(16, 25)  # a VPC's primary CIDR is /16 at most; /24 still leaves a subnet per zone

    def explicit_type(self, pool: NodePool) -> str | None:
        return pool.instance_type

    def offered_zones(self, config: PlatformConfig, offering: Offering) -> tuple[str, ...]:
        return aws_zone_ids(offering.instance_type, config.region)

    def region_zones(self, config: PlatformConfig) -> tuple[str, ...] | None:
        return aws_region_zone_ids(config.region) or None

    def zone_hint(self, config: PlatformConfig, zone: str) -> str:
        if not _ZONE_NAME.match(zone):
            return ""
        return (
            " (AWS zone names map to different zones in every account, so zones are given by ID; "
            f"`aws ec2 describe-availability-zones --region {config.region} "
            "--query 'AvailabilityZones[].[ZoneName,ZoneId]'` shows which ID your name is)"
        )

    def public_cidr_problem(self, network: ipaddress.IPv4Network) -> str | None:
        if network.is_private:
            return (
                "EKS accepts only public ranges on the public endpoint (machines inside the VPC reach the "
                "private endpoint); allowed: a public CIDR"
            )
        return None

    def not_offered(self, config: PlatformConfig, offering: Offering, pool: NodePool, what: str) -> str:
        regions = aws_regions(offering.instance_type)
        also = f"; regions that offer it: {', '.join(regions)}" if regions else ""
        return f"{config.region!r} does not offer {what} (pool {pool.name}){also}"

    def software_defaults(self, config: PlatformConfig) -> SoftwareDefaults:
        # AL2023 NVIDIA nodes change MIG mode only through a GPU reset, which the MIG manager does by
        # rebooting (EKS user guide, "NVIDIA MIG"); the device plugin's MOFED mounts clash with EFA's.
        return SoftwareDefaults(mig_reboot=True, mofed=False if any(p.efa for p in config.node_pools) else None)

    def access(self, config: PlatformConfig) -> dict[str, str]:
        admins = config.cluster.admins
        deployer = (
            f"one of cluster.admins ({', '.join(admins)}): with admins listed, EKS does not make the creator an admin"
            if admins
            else "the IAM identity that creates the cluster (EKS makes it admin); later runs as the same identity, "
            "or list cluster.admins"
        )
        return {
            "endpoint": self.endpoint_access(config),
            "deployer": deployer
            + "; it needs IAM rights on VPC, EKS, IAM roles, KMS, SQS and EventBridge"
            + (", and S3 (the checkpoint bucket)" if config.storage.enabled else ""),
        }

    # ------------------------------------------------------------ network

    def network_zones(self, config: PlatformConfig) -> tuple[str, ...]:
        """Zone IDs that get subnets: the stack's zones, or every zone some pool can use.

        Topped up from the region's other zones (in ID order) when fewer than two
        could hold EKS control-plane subnets.
        """
        if config.zones:
            return tuple(config.zones)
        zones = set()
        for pool in config.node_pools:
            offering = self.offering(pool)
            zones |= set(self.pool_zones(config, pool, offering))
        for zone in aws_region_zone_ids(config.region):
            if len(self.control_plane_zones(tuple(zones))) >= EKS_MIN_CONTROL_PLANE_ZONES:
                break
            zones.add(zone)
        return tuple(sorted(zones))

    def system_zones(self, config: PlatformConfig) -> tuple[str, ...]:
        """The network's zones that offer the system pool's instance type (not every zone offers every type)."""
        offered = set(aws_zone_ids(config.cluster.system_pool.instance_type, config.region))
        return tuple(z for z in self.network_zones(config) if z in offered)

    @staticmethod
    def control_plane_zones(zones: Sequence[str]) -> tuple[str, ...]:
        """The zones whose subnets may hold the EKS control plane's network interfaces."""
        return tuple(z for z in zones if z not in EKS_UNSUPPORTED_ZONE_IDS)

    # ------------------------------------------------------------ rules

    def check(self, config: PlatformConfig) -> Iterable[Issue]:
        issues = list(super().check(config))
        yield from issues
        if issues:
            return  # zones and offerings must resolve before the network can be planned
        yield from self._cluster(config)

    def _cluster(self, config: PlatformConfig) -> Iterable[Issue]:
        version = config.cluster.kubernetes_version
        if version not in EKS_VERSIONS:
            yield (
                key("cluster.kubernetesVersion"),
                f"{version!r} is not an EKS version this platform deploys; allowed: {', '.join(EKS_VERSIONS)}",
            )
        elif config.cluster.karpenter and (problem := ami_release_problem(KARPENTER_AMI_ALIAS, version, EKS_VERSIONS)):
            yield key("cluster.kubernetesVersion"), problem
        system_type = config.cluster.system_pool.instance_type
        if system_type not in AWS_SYSTEM_INSTANCE_TYPES:
            yield (
                key("cluster.systemPool.instanceType"),
                f"{system_type!r} is not a system-pool type this platform knows zones for; allowed: "
                f"{', '.join(AWS_SYSTEM_INSTANCE_TYPES)}",
            )
        elif not self.system_zones(config):
            yield (
                key("cluster.systemPool.instanceType"),
                f"{system_type!r} is offered in none of the stack's zones ({', '.join(self.network_zones(config))})",
            )
        usable = self.control_plane_zones(self.network_zones(config))
        if len(usable) < EKS_MIN_CONTROL_PLANE_ZONES:
            refused = sorted(set(config.zones) & EKS_UNSUPPORTED_ZONE_IDS)
            yield (
                key("zones"),
                f"EKS needs control-plane subnets in at least {EKS_MIN_CONTROL_PLANE_ZONES} zones it supports; "
                f"of these zones it accepts only {', '.join(usable) or 'none'}"
                + (f" (it refuses {', '.join(refused)})" if refused else "")
                + f"; add a zone of {config.region}",
            )
        seen: set[str] = set()
        for i, admin in enumerate(config.cluster.admins):
            if admin in seen:
                yield key(f"cluster.admins[{i}]"), f"{admin!r} is listed twice (one access entry per principal)"
            seen.add(admin)

    def certificate_problem(self, config: PlatformConfig, certificate: str) -> str | None:
        match = ACM_CERTIFICATE_ARN.match(certificate)
        if match is None:
            return (
                f"{certificate!r} is not an ACM certificate ARN; allowed: "
                f"arn:aws:acm:{config.region}:<account>:certificate/<id> (a certificate for *.<domain>)"
            )
        if match["region"] != config.region:
            return (
                f"the certificate is in {match['region']}, but a load balancer takes ACM certificates only from its own "
                f"region; request or import it in {config.region}"
            )
        return None

    def check_pool(self, config: PlatformConfig, i: int, pool: NodePool, offering: Offering) -> Iterable[Issue]:
        at = f"nodePools[{i}]"
        if eks_ami_type(offering, pool.ami_type.value) is None:
            yield (
                key(f"{at}.amiType"),
                f"{pool.ami_type.value!r} has no NVIDIA image for {offering.instance_type} ({offering.arch}); "
                f"allowed: {', '.join(a.value for a in AmiType if eks_ami_type(offering, a.value))}",
            )
        if pool.efa and offering.max_efa_interfaces == 0:
            yield key(f"{at}.efa"), f"{offering.instance_type} does not support EFA; allowed: false"
        if pool.provisioner is Provisioner.KARPENTER:
            if not config.cluster.karpenter:
                yield key(f"{at}.provisioner"), "karpenter needs gpu-platform:cluster.karpenter: true"
            if pool.efa:
                yield (
                    key(f"{at}.efa"),
                    "EFA pools use managed node groups (placement group, interfaces); allowed: false",
                )
            if pool.ami_type is not AmiType.AL2023:
                yield (
                    key(f"{at}.amiType"),
                    f"{pool.ami_type.value!r} is not available for Karpenter pools; allowed: al2023",
                )
            family = offering.instance_type.split(".", 1)[0]
            needed = EKS_MIN_AMI_RELEASE.get(family)
            if needed and KARPENTER_AMI_ALIAS.partition("@")[2] < needed:
                yield (
                    key(f"{at}.provisioner"),
                    f"{family} needs an EKS AMI release from {needed} on (its NVIDIA driver), but Karpenter's pinned "
                    f"AMI is {KARPENTER_AMI_ALIAS}; use provisioner: managed or bump KARPENTER_AMI_ALIAS",
                )
        if pool.ami_type is AmiType.BOTTLEROCKET:
            if config.gpu_software.stack is GpuStack.GPU_OPERATOR:
                yield (
                    key(f"{at}.amiType"),
                    "the GPU Operator does not manage Bottlerocket nodes; allowed: al2023",
                )
            if pool.sharing.mode is SharingMode.MPS or pool.sharing.mig is not None:
                yield (
                    key(f"{at}.sharing"),
                    "Bottlerocket's own device plugin shares GPUs by time-slicing only; allowed: mode none or "
                    "time-slicing",
                )


AWS = Aws()
