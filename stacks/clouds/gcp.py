"""Google Cloud: GKE with node pools per accelerator; GKE installs drivers and runs the device plugin."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from components.catalog import GCP_ACCELERATOR_ZONES, GCP_ZONE_REGIONS, Offering, gcp_zones
from components.catalog.gcp import GCP_SYSTEM_MACHINE_TYPES
from components.versions import GKE_VERSIONS
from stacks.clouds.base import Capability, Issue, key
from stacks.clouds.managed import ManagedCloud
from stacks.model import Cloud, MigStrategy, NodePool, PlatformConfig

# Certificate Manager resource IDs (certificatemanager API, CertificateMap name): what the Gateway's
# networking.gke.io/certmap annotation names.
CERTIFICATE_MAP = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

CONTROL_PLANE_CIDR = "172.16.0.0/28"
"""The control plane's range on private GKE clusters (also in components/gke_cluster.py)."""
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_SERVICE_ACCOUNT_ID = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
"""GCP's rule for service-account ids: 6-30 characters, a letter first, no trailing hyphen."""


def pool_service_account_id(cluster: str, pool: str) -> str:
    return f"{cluster[:10]}-{pool}"[:30].rstrip("-")


def system_service_account_id(cluster: str) -> str:
    return f"{cluster}-system"[:30].rstrip("-")


class Gcp(ManagedCloud):
    cloud = Cloud.GCP
    capabilities = frozenset(
        {
            Capability.OBJECT_STORAGE,
            Capability.MANAGED_CLUSTER,
            Capability.MACHINE_TYPES,
            Capability.RELEASE_CHANNELS,
            Capability.DRIVER_VERSIONS,
            Capability.PROJECTS,
            Capability.EXTERNAL_ENDPOINTS,
        }
    )
    builder = "infra.clouds.gcp"
    region_pattern = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
    region_example = "us-central1"
    type_field = "machineType"
    max_endpoint_cidrs = 50
    # Pods take half the network, a /24 per node: a /16 holds 128 nodes, a /12 2,048; /24 holds one.
    network_prefixes = range(12, 25)

    def explicit_type(self, pool: NodePool) -> str | None:
        return pool.machine_type

    def offered_zones(self, config: PlatformConfig, offering: Offering) -> tuple[str, ...]:
        return gcp_zones(offering.accelerator, config.region)

    def region_zones(self, config: PlatformConfig) -> tuple[str, ...] | None:
        zones = {z for regions in GCP_ACCELERATOR_ZONES.values() for z in regions.get(config.region, ())}
        return tuple(sorted(zones)) or None

    def access(self, config: PlatformConfig) -> dict[str, str]:
        storage = " and roles/storage.admin (the checkpoint bucket and its IAM)" if config.storage.enabled else ""
        return {
            "endpoint": self.endpoint_access(config),
            "deployer": f"a Google identity with roles/container.admin, roles/compute.networkAdmin, "
            f"roles/iam.serviceAccountAdmin and roles/resourcemanager.projectIamAdmin on {config.project}{storage}",
        }

    def certificate_problem(self, config: PlatformConfig, certificate: str) -> str | None:
        if CERTIFICATE_MAP.match(certificate):
            return None
        return (
            f"{certificate!r} is not a Certificate Manager certificate map name; allowed: the map's name in project "
            f"{config.project} (lowercase letters, digits and '-', starting with a letter, at most 63 characters), "
            "holding a certificate for *.<domain>"
        )

    def check(self, config: PlatformConfig) -> Iterable[Issue]:
        version = config.cluster.kubernetes_version
        if version not in GKE_VERSIONS:
            yield (
                key("cluster.kubernetesVersion"),
                f"{version!r} is not a GKE version a new cluster can start on; allowed: {', '.join(GKE_VERSIONS)}",
            )
        system_type = config.cluster.system_pool.machine_type
        if system_type not in GCP_SYSTEM_MACHINE_TYPES:
            yield (
                key("cluster.systemPool.machineType"),
                f"{system_type!r} is not a system-pool machine type of this platform; allowed: "
                f"{', '.join(GCP_SYSTEM_MACHINE_TYPES)}",
            )
        if not _PROJECT.match(config.project):
            yield key("project"), f"{config.project!r} is not a Google Cloud project id; required for cloud gcp"
        if self.region_pattern.match(config.region) and config.region not in GCP_ZONE_REGIONS:
            # No zone data is not the same as no GPUs: say which, and what is known.
            known = ", ".join(GCP_ZONE_REGIONS)
            yield key("region"), f"{config.region!r}: the GPU catalog has no zone data for this region; known: {known}"
            return
        yield from self._service_accounts(config)
        yield from super().check(config)

    def _network(self, config: PlatformConfig) -> Iterable[Issue]:
        yield from super()._network(config)
        try:
            base = ipaddress.IPv4Network(config.cluster.network_cidr)
        except ValueError:
            return  # reported above
        if base.overlaps(ipaddress.IPv4Network(CONTROL_PLANE_CIDR)):
            yield (
                key("cluster.networkCidr"),
                f"{base} overlaps the control plane's range {CONTROL_PLANE_CIDR}; GKE refuses the cluster; choose another",
            )
        # GKE gives each node a /24 of pod addresses (110 pods); the pods' range is half the network.
        pods_prefix = base.prefixlen + 1
        capacity = 2 ** max(0, 24 - pods_prefix) if pods_prefix <= 24 else 0
        nodes = config.cluster.system_pool.max_nodes + sum(p.max_nodes for p in config.node_pools)
        if capacity < nodes:
            needed = 24 - (nodes - 1).bit_length() - 1  # network prefix whose half holds `nodes` /24s
            yield (
                key("cluster.networkCidr"),
                f"{base} leaves a /{pods_prefix} for pods, room for {capacity} node(s) at a /24 each, but the "
                f"pools may grow to {nodes} nodes; use a /{needed} or larger",
            )

    def _service_accounts(self, config: PlatformConfig) -> Iterable[Issue]:
        """Derived ids must be valid and distinct: truncation can make two pools' ids equal, or one too short."""
        cluster = config.cluster.name
        owners = {system_service_account_id(cluster): "the system pool"}
        if not _SERVICE_ACCOUNT_ID.match(next(iter(owners))):
            yield (
                key("cluster.name"),
                f"the system nodes' service-account id {next(iter(owners))!r} breaks GCP's rule (6-30 characters, a letter first)",
            )
        for i, pool in enumerate(config.node_pools):
            account = pool_service_account_id(cluster, pool.name)
            if not _SERVICE_ACCOUNT_ID.match(account):
                yield (
                    key(f"nodePools[{i}].name"),
                    f"the pool's service-account id {account!r} (from cluster {cluster!r} and pool {pool.name!r}) breaks "
                    "GCP's rule (6-30 characters, a letter first); use a longer pool name",
                )
            elif account in owners:
                yield (
                    key(f"nodePools[{i}].name"),
                    f"the pool's service-account id {account!r} is also {owners[account]}'s (ids keep the cluster "
                    "name's first 10 and 30 characters in all); use a pool name that differs earlier",
                )
            owners.setdefault(account, f"pool {pool.name}")

    def check_pool(self, config: PlatformConfig, i: int, pool: NodePool, offering: Offering) -> Iterable[Issue]:
        mig = pool.sharing.mig
        if mig is not None and (mig.strategy is MigStrategy.MIXED or mig.layout is not None):
            yield (
                key(f"nodePools[{i}].sharing.mig"),
                "GKE splits every GPU of a node pool into one profile: use profile with strategy single",
            )
        if pool.sharing.rename_by_default:
            # GKE advertises shared GPUs as nvidia.com/gpu; queues and quotas would name a resource no node has.
            yield (
                key(f"nodePools[{i}].sharing.renameByDefault"),
                "GKE never renames shared GPUs (they stay nvidia.com/gpu); allowed: false",
            )


GCP = Gcp()
