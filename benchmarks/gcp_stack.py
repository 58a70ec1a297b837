"""The ``gcp`` benchmark stack: a GKE cluster with N GPU node pools, each with its own service account.

``make_raw`` generates the stack config; ``bare_resources`` registers the same
GCP and Kubernetes resources with the plain ``pulumi_gcp`` and
``pulumi_kubernetes`` SDKs, straight from the raw dict: no ComponentResource, no
config model. To keep inputs identical it reuses only pure functions and data
of the platform: ``secondary_ranges``, the GKE ``kubeconfig`` text, the node
role list, and the catalog (``resolve``, ``gcp_zones``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from benchmarks.common import NodeSize, gpu_software, make_teams, node_labels, teams_and_queues
from components.catalog import gcp_zones, resolve
from components.gke_cluster import CONTROL_PLANE_CIDR, NODE_ROLES, kubeconfig, secondary_ranges

CLUSTER = "bench"
REGION = "us-central1"
PROJECT = "bench-project"
GPU_CYCLE = (("l4", 1), ("a100-40gb", 1), ("h100", 8))
"""(portable GPU, GPUs per node): g2-standard-4, a2-highgpu-1g, a3-highgpu-8g, all offered in REGION."""
ENDPOINT_CIDR = "203.0.113.0/24"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
TEAMS = 4
"""A few teams, half of them borrowing: the queues grow with N x TEAMS."""


def make_raw(size: int) -> dict[str, Any]:
    """A GKE stack config with ``size`` GPU pools.

    Pool i: (GPU, count) cycling over ``GPU_CYCLE``, spot when i is even,
    on-demand when odd, 0..1+i%3 nodes, driver LATEST when i % 4 >= 2 (else
    DEFAULT), time-slicing x4 when i % 3 == 0. No stack zones: every pool uses
    the region's zones that offer its accelerator. ``TEAMS`` teams; DCGM metrics
    on (GKE's managed DCGM).
    """
    pools: list[dict[str, Any]] = []
    for i in range(size):
        gpu, count = GPU_CYCLE[i % len(GPU_CYCLE)]
        pool: dict[str, Any] = {
            "name": f"pool-{i:04d}",
            "gpu": gpu,
            "gpusPerNode": count,
            "capacity": "spot" if i % 2 == 0 else "on-demand",
            "minNodes": 0,
            "maxNodes": 1 + i % 3,
            "driverVersion": "LATEST" if i % 4 >= 2 else "DEFAULT",
            "diskSizeGiB": 200,
        }
        if i % 3 == 0:
            pool["sharing"] = {"mode": "time-slicing", "replicas": 4}
        pools.append(pool)
    return {
        "cloud": "gcp",
        "region": REGION,
        "project": PROJECT,
        "cluster": {
            "name": CLUSTER,
            "kubernetesVersion": "1.33",
            "releaseChannel": "REGULAR",
            "networkCidr": "10.0.0.0/16",
            "publicEndpointCidrs": [ENDPOINT_CIDR],
            "systemPool": {"machineType": "e2-standard-4", "minNodes": 2, "maxNodes": 4},
        },
        "nodePools": pools,
        "gpuSoftware": {"namespace": "gpu-operator", "dcgm": {"enabled": True, "serviceMonitor": False}},
        "teams": make_teams(pools, TEAMS),
        "queues": {"enabled": True, "cohort": "gpu-platform", "allowOvercommit": False},
    }


def _service_account(
    name: str, account_id: str, project: str, description: str, opts: pulumi.ResourceOptions
) -> gcp.serviceaccount.Account:
    """A node service account with only the roles nodes need (one IAMMember each)."""
    account = gcp.serviceaccount.Account(
        name, account_id=account_id, project=project, display_name=description, opts=opts
    )
    for role in NODE_ROLES:
        gcp.projects.IAMMember(
            f"{name}-{role.rsplit('/', 1)[-1]}",
            project=project,
            role=role,
            member=account.email.apply(lambda email: f"serviceAccount:{email}"),
            opts=opts,
        )
    return account


def _node_config_common(account: gcp.serviceaccount.Account) -> dict[str, Any]:
    return {
        "service_account": account.email,
        "oauth_scopes": SCOPES,
        "workload_metadata_config": gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        "shielded_instance_config": gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
    }


def bare_resources(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The GCP provider, network, subnet, router and NAT, the GKE cluster and system pool, a service
    account and node pool per GPU pool, then the Kubernetes provider, GPU namespace, teams and queues."""
    c = raw["cluster"]
    name, region, project = c["name"], raw["region"], raw["project"]
    provider = gcp.Provider(
        "gcp",
        project=project,
        region=region,
        default_labels={"managed-by": "pulumi", "platform": "gpu-platform", "cluster": name},
    )
    opts = pulumi.ResourceOptions(provider=provider)
    ignore_initial = pulumi.ResourceOptions(provider=provider, ignore_changes=["initialNodeCount"])

    nodes, pods, services = secondary_ranges(c["networkCidr"])
    network = gcp.compute.Network(
        f"{name}-network", name=name, project=project, auto_create_subnetworks=False, opts=opts
    )
    subnet = gcp.compute.Subnetwork(
        f"{name}-subnet",
        name=f"{name}-nodes",
        project=project,
        region=region,
        network=network.id,
        ip_cidr_range=nodes,
        private_ip_google_access=True,
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=pods),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services", ip_cidr_range=services),
        ],
        opts=opts,
    )
    router = gcp.compute.Router(
        f"{name}-router", name=name, project=project, region=region, network=network.id, opts=opts
    )
    gcp.compute.RouterNat(
        f"{name}-nat",
        name=name,
        project=project,
        region=region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        opts=opts,
    )
    endpoint_cidrs: list[str] = c["publicEndpointCidrs"]
    cluster = gcp.container.Cluster(
        f"{name}-cluster",
        name=name,
        project=project,
        location=region,
        network=network.id,
        subnetwork=subnet.id,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name="pods", services_secondary_range_name="services"
        ),
        remove_default_node_pool=True,
        initial_node_count=1,
        min_master_version=c["kubernetesVersion"],
        release_channel=gcp.container.ClusterReleaseChannelArgs(channel=c["releaseChannel"]),
        workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
            workload_pool=f"{project}.svc.id.goog"
        ),
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True,
            enable_private_endpoint=not endpoint_cidrs,
            master_ipv4_cidr_block=CONTROL_PLANE_CIDR,
        ),
        master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=[
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=cidr, display_name=cidr)
                for cidr in endpoint_cidrs
            ]
        ),
        enable_shielded_nodes=True,
        monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
            enable_components=["SYSTEM_COMPONENTS", "DCGM"],
            managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
        )
        if raw["gpuSoftware"]["dcgm"]["enabled"]
        else None,
        deletion_protection=True,
        resource_labels={},
        opts=opts,
    )
    system = c["systemPool"]
    system_account = _service_account(
        f"{name}-system-sa", f"{name}-system"[:30].rstrip("-"), project, "GKE system nodes", opts
    )
    gcp.container.NodePool(
        f"{name}-system",
        name="system",
        project=project,
        cluster=cluster.id,
        location=region,
        autoscaling=gcp.container.NodePoolAutoscalingArgs(
            total_min_node_count=system["minNodes"], total_max_node_count=system["maxNodes"]
        ),
        initial_node_count=1,
        management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        node_config=gcp.container.NodePoolNodeConfigArgs(
            machine_type=system["machineType"],
            labels={"gpu-platform.io/role": "system"},
            resource_labels={},
            **_node_config_common(system_account),
        ),
        opts=ignore_initial,
    )
    kubeconfig_text: pulumi.Output[str] = pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
            lambda v: kubeconfig(v[0], v[1], v[2] or "")
        )
    )

    # One service account (with its role bindings) and node pool per GPU pool.
    wanted = raw.get("zones") or []
    sizes: dict[str, NodeSize] = {}
    for pool in raw["nodePools"]:
        pool_name = pool["name"]
        offering = resolve("gcp", pool["gpu"], pool["gpusPerNode"])
        sizes[pool_name] = NodeSize(offering.gpus_per_node, offering.vcpus, int(offering.memory_gib))
        zones = [z for z in gcp_zones(offering.accelerator, region) if not wanted or z in wanted]
        account = _service_account(
            f"pool-{pool_name}-sa",
            f"{name[:10]}-{pool_name}"[:30].rstrip("-"),
            project,
            f"GKE GPU pool {pool_name}",
            opts,
        )
        sharing = pool.get("sharing", {})
        sharing_config = None
        if sharing.get("mode") == "time-slicing":
            sharing_config = gcp.container.NodePoolNodeConfigGuestAcceleratorGpuSharingConfigArgs(
                gpu_sharing_strategy="TIME_SHARING", max_shared_clients_per_gpu=sharing["replicas"]
            )
        gcp.container.NodePool(
            f"pool-{pool_name}-nodes",
            name=pool_name,
            project=project,
            cluster=cluster.id,
            location=region,
            node_locations=zones,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool["minNodes"], total_max_node_count=pool["maxNodes"], location_policy="ANY"
            ),
            initial_node_count=0,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=offering.instance_type,
                guest_accelerators=[
                    gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                        type=offering.accelerator,
                        count=offering.gpus_per_node,
                        gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                            gpu_driver_version=pool["driverVersion"]
                        ),
                        gpu_sharing_config=sharing_config,
                    )
                ],
                spot=pool["capacity"] == "spot",
                disk_size_gb=pool["diskSizeGiB"],
                disk_type="pd-ssd",
                image_type="COS_CONTAINERD",
                # GKE taints GPU nodes itself; the generated pools have no extra taints.
                labels=node_labels(pool, device_plugin=False),
                taints=[],
                resource_labels={},
                **_node_config_common(account),
            ),
            opts=ignore_initial,
        )

    k8s_provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig_text, enable_server_side_apply=True)
    return {
        "clusterName": cluster.name,
        "endpoint": cluster.endpoint,
        "kubeconfig": kubeconfig_text,
        # GKE installs drivers and runs its own device plugin: only the namespace.
        "gpuNamespace": gpu_software(raw, k8s_provider, device_plugin=False),
        "teamNamespaces": teams_and_queues(raw, k8s_provider, sizes),
    }
