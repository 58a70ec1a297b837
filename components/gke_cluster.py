"""A GKE cluster for GPU workloads: VPC-native on its own network, private nodes, Workload Identity.

The default node pool is removed (pools are managed one by one); nodes run
with dedicated service accounts that can only write logs and metrics and read
images, never the Compute Engine default account.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components import labels as L
from components.kubeconfig import exec_kubeconfig

# What a node's service account needs, and nothing more (GKE hardening guide).
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)
CONTROL_PLANE_CIDR = "172.16.0.0/28"
"""The control plane's range (VPC peering): GKE opens 443 and 10250 from it to the nodes, nothing else."""
SYSTEM_ROLE_LABEL = L.SYSTEM_NODES


def node_tag(cluster: str) -> str:
    """The network tag every node pool of the platform carries: firewall rules target it
    (GKE's own node tag carries a hash that is unknown before the cluster exists)."""
    return f"{cluster}-nodes"


@dataclass(frozen=True)
class GkeClusterArgs:
    name: str
    project: str
    region: str
    kubernetes_version: str
    """Minimum master version within the release channel, e.g. ``1.33``."""
    release_channel: str = "REGULAR"
    network_cidr: str = "10.0.0.0/16"
    """Node range; pods and services get secondary ranges derived from it."""
    public_endpoint_cidrs: Sequence[str] = ()
    """CIDRs allowed on the public endpoint; empty: private endpoint only."""
    apiserver_ports: Sequence[int] = ()
    """Ports of the admission webhooks the platform installs: the control plane must reach them on the nodes."""
    system_service_account_id: str = ""
    """Id of the system nodes' service account (the config checks derive and check it)."""
    system_machine_type: str = "e2-standard-4"
    system_min_nodes: int = 2
    system_max_nodes: int = 4
    dcgm_metrics: bool = True
    """Collect NVIDIA DCGM GPU metrics with GKE's managed Prometheus."""
    gateway_api: bool = False
    """Install GKE's Gateway API controller and CRDs (the Gateway of external endpoints)."""
    labels: dict[str, str] = field(default_factory=dict)


SERVICES_MAX_PREFIX = 16
"""GKE takes a Services range of at most a /16 (65,536 ClusterIPs)."""


def secondary_ranges(cidr: str) -> tuple[str, str, str]:
    """(nodes, pods, services) from one /12-/24 base: pods get half, nodes a quarter, services the
    rest up to a /16 (a larger Services range is refused by GKE)."""
    base = ipaddress.IPv4Network(cidr)
    halves = list(base.subnets(prefixlen_diff=1))
    quarters = list(halves[1].subnets(prefixlen_diff=1))
    services = next(quarters[1].subnets(new_prefix=max(quarters[1].prefixlen, SERVICES_MAX_PREFIX)))
    return str(quarters[0]), str(halves[0]), str(services)


def node_service_account(
    parent: pulumi.Resource, name: str, account_id: str, project: str, description: str
) -> gcp.serviceaccount.Account:
    account = gcp.serviceaccount.Account(
        name,
        account_id=account_id,
        project=project,
        display_name=description,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    member = account.email.apply(lambda email: f"serviceAccount:{email}")
    for role in NODE_ROLES:
        gcp.projects.IAMMember(
            f"{name}-{role.rsplit('/', 1)[-1]}",
            project=project,
            role=role,
            member=member,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return account


def kubeconfig(name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin."""
    plugin = {
        "command": "gke-gcloud-auth-plugin",
        "provideClusterInfo": True,
        "installHint": "gcloud components install gke-gcloud-auth-plugin",
    }
    return exec_kubeconfig(name, f"https://{endpoint}", ca_data, plugin)


class GkeCluster(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Secret."""
    ready: list[pulumi.Resource]
    """What must exist before anything is applied inside the cluster (system nodes, webhook firewall)."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        nodes, pods, services = secondary_ranges(args.network_cidr)
        network = gcp.compute.Network(
            f"{name}-network", name=args.name, project=args.project, auto_create_subnetworks=False, opts=child
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=f"{args.name}-nodes",
            project=args.project,
            region=args.region,
            network=network.id,
            ip_cidr_range=nodes,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=pods),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services", ip_cidr_range=services),
            ],
            opts=child,
        )
        # Private nodes have no public IPs: Cloud NAT gives them egress (image pulls, model downloads).
        router = gcp.compute.Router(
            f"{name}-router", name=args.name, project=args.project, region=args.region, network=network.id, opts=child
        )
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=args.name,
            project=args.project,
            region=args.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            opts=child,
        )
        public = bool(args.public_endpoint_cidrs)
        cluster = gcp.container.Cluster(
            f"{name}-cluster",
            name=args.name,
            project=args.project,
            location=args.region,
            network=network.id,
            subnetwork=subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name="pods", services_secondary_range_name="services"
            ),
            remove_default_node_pool=True,
            initial_node_count=1,
            min_master_version=args.kubernetes_version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{args.project}.svc.id.goog"
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=not public,
                master_ipv4_cidr_block=CONTROL_PLANE_CIDR,
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=c)
                    for c in args.public_endpoint_cidrs
                ]
            ),
            enable_shielded_nodes=True,
            # GKE runs the DCGM exporter itself when asked (with managed Prometheus).
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=["SYSTEM_COMPONENTS", "DCGM"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
            )
            if args.dcgm_metrics
            else None,
            # GKE's own Gateway controller and its CRDs (gateway.networking.k8s.io, networking.gke.io): the
            # standard channel (the experimental one is deprecated). It needs a VPC-native cluster and the HTTP
            # load balancing add-on, which is on by default.
            gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD")
            if args.gateway_api
            else None,
            deletion_protection=True,
            resource_labels=args.labels,
            opts=child,
        )
        system_account = node_service_account(
            self, f"{name}-system-sa", args.system_service_account_id, args.project, "GKE system nodes"
        )
        self.ready = []
        if args.apiserver_ports:
            # Private nodes: without this rule every object a webhook checks (Kueue's, KServe's ...) times out.
            self.ready.append(
                gcp.compute.Firewall(
                    f"{name}-webhooks",
                    name=f"{args.name}-webhooks",
                    project=args.project,
                    network=network.id,
                    direction="INGRESS",
                    priority=1000,
                    source_ranges=[CONTROL_PLANE_CIDR],
                    allows=[
                        gcp.compute.FirewallAllowArgs(
                            protocol="tcp", ports=[str(p) for p in sorted(set(args.apiserver_ports))]
                        )
                    ],
                    target_tags=[node_tag(args.name)],
                    description="GKE control plane to the admission webhooks the GPU platform installs",
                    opts=child,
                )
            )
        system_pool = gcp.container.NodePool(
            f"{name}-system",
            # A prefix, not a fixed name: a replacement (new service account, disk, ...) is created before the
            # old pool goes, so the controllers always have nodes; the name must not collide with itself.
            name_prefix="system-",
            project=args.project,
            cluster=cluster.id,
            location=args.region,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=args.system_min_nodes, total_max_node_count=args.system_max_nodes
            ),
            initial_node_count=1,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.system_machine_type,
                service_account=system_account.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                labels=SYSTEM_ROLE_LABEL,
                tags=[node_tag(args.name)],
                resource_labels=args.labels,
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
        )
        self.ready.append(system_pool)
        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        self.network_id = network.id
        self.cluster = cluster
        self.endpoint = cluster.endpoint
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
                lambda v: kubeconfig(v[0], v[1], v[2] or "")
            )
        )
        self.register_outputs({"clusterName": self.cluster_name, "endpoint": self.endpoint})
