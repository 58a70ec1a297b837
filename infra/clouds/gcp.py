"""GKE: the cluster on its own network (webhook firewall included) and one node pool per GPU pool."""

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from components.catalog import CATALOG_DATE
from components.gcs_storage import GcsModelStorage, GcsModelStorageArgs
from components.gke_cluster import GkeCluster, GkeClusterArgs, node_tag
from components.gke_gateway import GkeGateway, GkeGatewayArgs
from components.gke_gpu_pool import GkeGpuPool, GkeGpuPoolArgs
from components.labels import TEAM_LABEL
from infra.charts import apiserver_ports
from infra.clouds import Cluster, kubernetes_provider, storage_service_accounts, team_namespaces
from stacks.clouds.gcp import pool_service_account_id, system_service_account_id
from stacks.model import PlatformConfig
from stacks.resolve import ResolvedPool, resolved_spec

WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
CLUSTER_VIEWER = "roles/container.clusterViewer"


def build(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    c = config.cluster
    external = config.serving.external if config.serving.enabled else None
    labels = {"managed-by": "pulumi", "platform": "gpu-platform", "cluster": c.name}
    provider = gcp.Provider("gcp", project=config.project, region=config.region, default_labels=labels)
    opts = pulumi.ResourceOptions(providers={"gcp": provider})
    gke = GkeCluster(
        c.name,
        GkeClusterArgs(
            name=c.name,
            project=config.project,
            region=config.region,
            kubernetes_version=c.kubernetes_version,
            release_channel=c.release_channel.value,
            network_cidr=c.network_cidr,
            public_endpoint_cidrs=tuple(c.public_endpoint_cidrs),
            apiserver_ports=apiserver_ports(config),
            system_service_account_id=system_service_account_id(c.name),
            system_machine_type=c.system_pool.machine_type,
            dcgm_metrics=config.gpu_software.dcgm.enabled,
            system_min_nodes=c.system_pool.min_nodes,
            system_max_nodes=c.system_pool.max_nodes,
            gateway_api=external is not None,
        ),
        opts,
    )
    offered = _OfferedZones(config.project, provider)
    for rp in pools:
        pool = rp.pool
        GkeGpuPool(
            f"pool-{pool.name}",
            GkeGpuPoolArgs(
                pool=resolved_spec(rp),
                project=config.project,
                region=config.region,
                cluster_id=gke.cluster_id,
                cluster_name=c.name,
                service_account_id=pool_service_account_id(c.name, pool.name),
                machine_type=rp.offering.instance_type,
                accelerator=rp.offering.accelerator,
                zones=offered.zones(rp.offering.instance_type, rp.zones),
                spot=rp.spot,
                min_nodes=pool.min_nodes,
                disk_size_gib=pool.disk_size_gib,
                driver_version=pool.driver_version.value,
            ),
            opts,
        )
    for team in config.teams:
        for i, member in enumerate(team.deployers):
            # Enough to fetch the cluster's credentials (container.clusters.get); what they may do inside
            # is the team namespace's RoleBinding.
            gcp.projects.IAMMember(
                f"team-{team.name}-deployer-{i}",
                project=config.project,
                role=CLUSTER_VIEWER,
                member=member,
                opts=opts,
            )
    accounts: dict[str, dict[str, dict[str, pulumi.Output[str]]]] = {}
    if config.storage.enabled and config.storage.bucket:
        storage = GcsModelStorage(
            "storage",
            GcsModelStorageArgs(
                bucket_name=config.storage.bucket,
                project=config.project,
                region=config.region,
                cluster_name=c.name,
                teams=team_namespaces(config),
                noncurrent_days=config.storage.noncurrent_version_days,
                labels=labels,
                workload_identity_ready=[gke.cluster],
            ),
            opts,
        )
        accounts = storage_service_accounts(
            WORKLOAD_IDENTITY_ANNOTATION, storage.training_service_accounts, storage.serving_service_accounts
        )
    provider_k8s = kubernetes_provider(c.name, gke.kubeconfig, gke, gke.ready)
    gateway = None
    if external is not None:
        gateway = GkeGateway(
            "endpoints-gateway",
            GkeGatewayArgs(
                cluster_name=c.name,
                project=config.project,
                domain=external.domain,
                certificate_map=external.certificate,
                source_ranges=list(external.source_ranges),
                namespace_label=TEAM_LABEL,
                network=gke.network_id,
                node_tag=node_tag(c.name),
            ),
            pulumi.ResourceOptions(providers={"gcp": provider, "kubernetes": provider_k8s}),
        )
    return Cluster(
        provider_k8s,
        gke.cluster_name,
        gke.endpoint,
        gke.kubeconfig,
        accounts,
        exposure_ready=gateway.ready if gateway else [],
        external_address=gateway.address if gateway else None,
    )


class _OfferedZones:
    """Whether Compute Engine still offers a machine type in the zones the catalog chose, asked at deploy time
    (offline: the catalog, through the mocks). pulumi-gcp has no accelerator-type lookup; a zone's machine
    types list their accelerators. One lookup per (zone, machine type). The node locations stay the planned
    ones (a changed answer would replace the pool); a zone no longer offered fails the preview."""

    def __init__(self, project: str, provider: gcp.Provider) -> None:
        self.project = project
        self.provider = provider
        self._found: dict[tuple[str, str], pulumi.Output[bool]] = {}

    def _offers(self, zone: str, machine_type: str) -> pulumi.Output[bool]:
        if (zone, machine_type) not in self._found:
            result = gcp.compute.get_machine_types_output(
                zone=zone,
                project=self.project,
                filter=f'name = "{machine_type}"',
                opts=pulumi.InvokeOutputOptions(provider=self.provider),
            )
            self._found[zone, machine_type] = result.machine_types.apply(lambda found: bool(found))
        return self._found[zone, machine_type]

    def zones(self, machine_type: str, zones: Sequence[str]) -> pulumi.Output[list[str]]:
        def check(offers: list[bool]) -> list[str]:
            missing = [zone for zone, ok in zip(zones, offers, strict=True) if not ok]
            if missing:
                raise ValueError(
                    f"Compute Engine does not offer {machine_type} in {', '.join(missing)} (the GPU catalog of "
                    f"{CATALOG_DATE} said it did); set the pool's zones to others"
                )
            return list(zones)

        return pulumi.Output.all(*(self._offers(z, machine_type) for z in zones)).apply(check)
