"""What multi-node GPU training needs from the network, per cloud and machine family. Pure data.

- AWS EFA: the pod asks for the node's EFA devices and the hugepages libfabric registers memory
  in, and NCCL is pointed at libfabric's EFA provider (EKS user guide "Run machine learning
  training on Amazon EKS with Elastic Fabric Adapter", and aws-samples/awsome-distributed-training).
- GKE A3/A4: the 8-GPU machines reach their full bandwidth only through GPUDirect (TCPX, TCPXO or
  RDMA), which needs GKE multi-networking (extra VPCs and subnets per NIC), Network/GKENetworkParamSet
  objects and NCCL plugin DaemonSets. The platform does not set that up yet, so it names what is
  missing instead of running a multi-node job at a fraction of the speed users expect.
- Network topology: the node labels the clouds put on GPU nodes that report where a node sits in
  the network, outermost first, which Kueue's ``Topology`` uses to place a job's nodes close together.
"""

EFA_RESOURCE = "vpc.amazonaws.com/efa"
HUGEPAGES_RESOURCE = "hugepages-2Mi"
EFA_HUGEPAGES = "5120Mi"
"""What the EKS EFA guide's NCCL test requests per pod: libfabric's EFA provider registers buffers in 2 MiB pages."""

# NCCL over libfabric/EFA (the aws-ofi-nccl plugin ships in the AWS Deep Learning Containers and NGC PyTorch images).
EFA_ENV: dict[str, str] = {
    "FI_PROVIDER": "efa",
    # GPUDirect RDMA between the GPU and the EFA device (p4d and later; the provider ignores it where absent).
    "FI_EFA_USE_DEVICE_RDMA": "1",
    # Data loaders fork: libfabric must register memory fork-safely or children corrupt it.
    "FI_EFA_FORK_SAFE": "1",
}

# GKE 8-GPU machine families -> the GPUDirect networking they need for multi-node training (GKE docs
# "Maximize GPU network bandwidth with GPUDirect-TCPX/TCPXO" and "... with GPUDirect RDMA").
GPUDIRECT: dict[str, str] = {
    "a3-highgpu-8g": "GPUDirect-TCPX",
    "a3-megagpu-8g": "GPUDirect-TCPXO",
    "a3-ultragpu-8g": "GPUDirect RDMA",
    "a4-highgpu-8g": "GPUDirect RDMA",
}

HOSTNAME_LABEL = "kubernetes.io/hostname"

# Network topology labels, outermost first (layer-1 is the top of EC2's hierarchy, the last layer the
# node the instance hangs off), and the instance types that carry them. AWS: EC2 instance topology
# ("Prerequisites for Amazon EC2 topology": the types with three network layers; p6-b200/b300 report a
# fourth, which the three-level Topology leaves out) as EKS labels nodes with it. GKE: the A3 and A4
# 8-GPU machines ("Schedule GKE workloads with Topology Aware Scheduling"). Kueue wants levels widest
# first, with the hostname last.
AWS_TOPOLOGY = (
    "topology.k8s.aws/network-node-layer-1",
    "topology.k8s.aws/network-node-layer-2",
    "topology.k8s.aws/network-node-layer-3",
    HOSTNAME_LABEL,
)
GCP_TOPOLOGY = (
    "cloud.google.com/gce-topology-block",
    "cloud.google.com/gce-topology-subblock",
    "cloud.google.com/gce-topology-host",
    HOSTNAME_LABEL,
)
TOPOLOGY_FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aws": (
        (
            "g6e.",
            "g7e.",
            "p3dn.24xlarge",
            "p4d.24xlarge",
            "p4de.24xlarge",
            "p5.48xlarge",
            "p5e.48xlarge",
            "p5en.48xlarge",
            "p6-b200.48xlarge",
            "p6-b300.48xlarge",
        ),
        AWS_TOPOLOGY,
    ),
    "gcp": (("a3-highgpu-8g", "a3-megagpu-8g", "a3-ultragpu-8g", "a4-highgpu-8g"), GCP_TOPOLOGY),
}


def gpudirect_stack(cloud: str, machine_type: str) -> str:
    """The GPUDirect networking a GKE machine type needs for multi-node training, or ""."""
    return GPUDIRECT.get(machine_type, "") if cloud == "gcp" else ""


def topology_levels(cloud: str, machine_type: str) -> tuple[str, ...]:
    """Topology levels (node labels, outermost first) nodes of this type carry; empty when they have none."""
    families, levels = TOPOLOGY_FAMILIES.get(cloud, ((), ()))
    return levels if machine_type and machine_type.startswith(families) else ()


def topology_name(levels: tuple[str, ...]) -> str:
    """One Kueue Topology per distinct level list, named after its cloud's labels."""
    names: dict[tuple[str, ...], str] = {AWS_TOPOLOGY: "aws-network", GCP_TOPOLOGY: "gce-network"}
    return names.get(levels, "network")
