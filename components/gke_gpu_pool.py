"""One GPU pool on GKE: a node pool with guest accelerators and its own service account.

GKE installs the NVIDIA driver (``gpu_driver_installation_config``), runs the
device plugin itself and taints GPU nodes ``nvidia.com/gpu=present:NoSchedule``;
sharing is a property of the accelerator (``gpu_sharing_config``). Machine types
that come with Local SSD (A2 Ultra, A3 in the catalog) keep the node's ephemeral
storage on it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.catalog.gcp import gcp_local_ssds
from components.gke_cluster import node_service_account, node_tag
from components.pool_spec import GPU_TAINT, PoolSpec, SharingMode

TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
SHARING_STRATEGIES = {SharingMode.TIME_SLICING: "TIME_SHARING", SharingMode.MPS: "MPS"}


def ephemeral_storage_local_ssd(
    machine_type: str,
) -> gcp.container.NodePoolNodeConfigEphemeralStorageLocalSsdConfigArgsDict | None:
    """The node's ephemeral storage (emptyDirs, image layers) on the Local SSDs its machine type comes with; None
    without (GKE "About Local SSD for GKE": ``--ephemeral-storage-local-ssd``, GKE 1.25.3-gke.1800 and later).

    The count is the machine type's own. For types with a fixed number of Local SSDs GKE would read 0 as that number
    (container v1 ``EphemeralStorageLocalSsdConfig``); an explicit count says what the node gets, as
    cluster-toolkit's GKE node pools (``disk_definitions.tf``) set it.
    """
    count = gcp_local_ssds(machine_type)
    return {"local_ssd_count": count} if count else None


@dataclass(frozen=True)
class GkeGpuPoolArgs:
    pool: PoolSpec
    project: str
    region: str
    cluster_id: pulumi.Input[str]
    cluster_name: str
    service_account_id: str
    """Id of the pool's node service account (6-30 characters; the config checks derive and check it)."""
    machine_type: str
    accelerator: str
    """GKE accelerator type, e.g. ``nvidia-l4``."""
    zones: pulumi.Input[Sequence[str]]
    """Node locations: zones of the region that offer the machine type (checked with the cloud at deploy time)."""
    spot: bool = False
    min_nodes: int = 0
    disk_size_gib: int = 200
    driver_version: str = "DEFAULT"
    labels: dict[str, str] = field(default_factory=dict)


class GkeGpuPool(pulumi.ComponentResource):
    node_pool_name: pulumi.Output[str]

    def __init__(self, name: str, args: GkeGpuPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:GkeGpuPool", name, None, opts)
        pool = args.pool
        account = node_service_account(
            self,
            f"{name}-sa",
            args.service_account_id,
            args.project,
            f"GKE GPU pool {pool.name}",
        )
        # Nested inputs as the Args types' TypedDict forms: the same wire input, without the SDK's
        # reflection over Args classes (measurable at a hundred pools).
        accelerator: gcp.container.NodePoolNodeConfigGuestAcceleratorArgsDict = {
            "type": args.accelerator,
            "count": pool.gpus_per_node,
            "gpu_driver_installation_config": {"gpu_driver_version": args.driver_version},
        }
        if pool.sharing.mode in SHARING_STRATEGIES:
            accelerator["gpu_sharing_config"] = {
                "gpu_sharing_strategy": SHARING_STRATEGIES[pool.sharing.mode],
                "max_shared_clients_per_gpu": pool.sharing.replicas,
            }
        if pool.sharing.mig:
            # GKE partitions every GPU of the node into instances of one MIG profile.
            accelerator["gpu_partition_size"] = pool.sharing.mig.layout[0][0]
        node_pool = gcp.container.NodePool(
            f"{name}-nodes",
            name=pool.name,
            project=args.project,
            cluster=args.cluster_id,
            location=args.region,
            node_locations=args.zones,
            autoscaling={
                "total_min_node_count": args.min_nodes,
                "total_max_node_count": pool.max_nodes,
                "location_policy": "ANY",
            },
            initial_node_count=0,
            management={"auto_repair": True, "auto_upgrade": True},
            node_config={
                "machine_type": args.machine_type,
                "guest_accelerators": [accelerator],
                "spot": args.spot,
                "disk_size_gb": args.disk_size_gib,
                "disk_type": "pd-ssd",
                "image_type": "COS_CONTAINERD",
                "service_account": account.email,
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "labels": pool.node_labels(device_plugin=False),
                "tags": [node_tag(args.cluster_name)],
                # GKE adds the GPU taint itself; declaring it again would fight GKE on every update.
                "taints": [
                    {"key": t.key, "value": t.value, "effect": TAINT_EFFECTS[t.effect]}
                    for t in pool.taints
                    if t != GPU_TAINT
                ],
                "resource_labels": args.labels,
                "ephemeral_storage_local_ssd_config": ephemeral_storage_local_ssd(args.machine_type),
            },
            # A changed accelerator, count or spot setting replaces the pool. Delete first: the new pool
            # keeps the name (workloads and quotas refer to it), and GPU quota rarely fits both at once.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"], delete_before_replace=True),
        )
        self.node_pool_name = node_pool.name
        # One per pool or team: its outputs stay attributes (``node_pool_name``). Registering them as Output values
        # makes the SDK await and serialize each one (about a tenth of an AWS plan at 100 pools, measured).
        self.register_outputs({})
