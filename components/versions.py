"""Every Helm chart, container image and node image the platform installs, pinned in one place.

One line per pin so a version bump is a one-line diff. Chart versions are the
published ones (the repositories' Chart.yaml in git often carries a placeholder
that the release pipeline replaces). No `latest`, ever: the policy pack rejects it.

Each chart also says what it brings that others wait for: the API groups of the
CRDs it installs and the ports the API server calls on its pods (webhooks,
aggregated APIs). The deployability policies check ordering with the first;
private GKE clusters open the second.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    chart: str
    """Chart name in a classic repository, or a full ``oci://`` reference."""
    version: str
    repo: str | None = None
    """Classic Helm repository URL; ``None`` for OCI charts."""
    crd_groups: tuple[str, ...] = ()
    """API groups of the CustomResourceDefinitions the chart installs."""
    apiserver_ports: tuple[int, ...] = ()
    """Container ports the API server calls on the chart's pods: admission webhooks and aggregated APIs
    (it dials the pod IP on the target port, so a private GKE control plane needs them opened)."""
    webhook_labels: tuple[str, ...] = ()
    """Labels that send any object carrying them through the chart's webhooks (beyond its own kinds)."""

    @property
    def name(self) -> str:
        """The chart's own name (last path segment of an OCI reference)."""
        return self.chart.rsplit("/", 1)[-1]


# NVIDIA device plugin (with optional GPU feature discovery), NVIDIA/k8s-device-plugin v0.20.0.
NVIDIA_DEVICE_PLUGIN = ChartPin("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin")
# Fake GPUs for laptops and CI clusters without GPUs, run-ai/fake-gpu-operator v0.2.0 (OCI only).
FAKE_GPU_OPERATOR = ChartPin("oci://ghcr.io/run-ai/fake-gpu-operator/fake-gpu-operator", "0.2.0")
# Karpenter controller for EKS GPU pools with `provisioner: karpenter`, aws/karpenter-provider-aws v1.14.1 (OCI only).
KARPENTER = ChartPin(
    "oci://public.ecr.aws/karpenter/karpenter", "1.14.1", crd_groups=("karpenter.sh", "karpenter.k8s.aws")
)
# NVIDIA GPU Operator (stack: gpu-operator), NVIDIA/gpu-operator v26.7.0.
GPU_OPERATOR = ChartPin("gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia", crd_groups=("nvidia.com",))
# NVIDIA DCGM exporter (stack: device-plugin), NVIDIA/dcgm-exporter 4.5.3-4.8.2 (chart 4.8.2).
DCGM_EXPORTER = ChartPin("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts")
# Kueue GPU queues, kubernetes-sigs/kueue v0.19.2 (OCI only); its webhook server listens on 9443 and its
# visibility API (an aggregated API the chart always registers) on 8082.
KUEUE = ChartPin(
    "oci://registry.k8s.io/kueue/charts/kueue",
    "0.19.2",
    crd_groups=("kueue.x-k8s.io",),
    apiserver_ports=(8082, 9443),
    webhook_labels=("kueue.x-k8s.io/queue-name",),
)
# Cluster Autoscaler for EKS managed node groups, kubernetes/autoscaler chart 9.59.0 (app 1.35).
CLUSTER_AUTOSCALER = ChartPin("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
# AWS EFA device plugin (advertises vpc.amazonaws.com/efa), aws/eks-charts v0.5.30 (image v0.5.20).
EFA_DEVICE_PLUGIN = ChartPin("aws-efa-k8s-device-plugin", "v0.5.30", "https://aws.github.io/eks-charts")

# Kubeflow Trainer v2 (TrainJob, ClusterTrainingRuntime) with its JobSet 0.12.0 subchart, kubeflow/trainer
# v2.3.0 (OCI only; controller image ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.3.0). Both webhook
# servers listen on 9443 (the Services map 443 to it).
KUBEFLOW_TRAINER = ChartPin(
    "oci://ghcr.io/kubeflow/charts/kubeflow-trainer",
    "2.3.0",
    crd_groups=("trainer.kubeflow.org", "jobset.x-k8s.io"),
    apiserver_ports=(9443,),
)

# cert-manager for KServe's webhook certificate, cert-manager/cert-manager v1.21.1 (OCI; the chart in git
# carries v0.0.0, the release tool sets the version). Its webhook listens on 10250.
CERT_MANAGER = ChartPin(
    "oci://quay.io/jetstack/charts/cert-manager",
    "v1.21.1",
    crd_groups=("cert-manager.io", "acme.cert-manager.io"),
    apiserver_ports=(10250,),
)
# KServe v0.20.0: its CRDs (a chart of their own, no values), then the controller in Standard (raw
# deployment) mode, whose webhook server listens on 9443 (OCI only; the version keeps its "v").
KSERVE_CRD = ChartPin("oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0", crd_groups=("serving.kserve.io",))
KSERVE = ChartPin("oci://ghcr.io/kserve/charts/kserve-resources", "v0.20.0", apiserver_ports=(9443,))
# KEDA for scaling endpoints on vLLM's load, kedacore/charts 2.20.2: admission webhooks on 9443 and the
# external metrics API server (an aggregated API) on 6443.
KEDA = ChartPin(
    "keda", "2.20.2", "https://kedacore.github.io/charts", crd_groups=("keda.sh",), apiserver_ports=(6443, 9443)
)
# AWS Load Balancer Controller for external endpoints on EKS (Ingresses become Application Load Balancers),
# aws/eks-charts 1.13.3 (controller v2.13.3; chart 1.N.x ships v2.N.x). Its webhooks listen on 9443; its IAM
# policy is components/data/aws_load_balancer_controller_policy.json (upstream docs/install/iam_policy.json of
# the v2.13 line).
AWS_LOAD_BALANCER_CONTROLLER = ChartPin(
    "aws-load-balancer-controller",
    "1.13.3",
    "https://aws.github.io/eks-charts",
    crd_groups=("elbv2.k8s.aws",),
    apiserver_ports=(9443,),
)

CHARTS: tuple[ChartPin, ...] = (
    NVIDIA_DEVICE_PLUGIN,
    FAKE_GPU_OPERATOR,
    KARPENTER,
    GPU_OPERATOR,
    DCGM_EXPORTER,
    KUEUE,
    CLUSTER_AUTOSCALER,
    EFA_DEVICE_PLUGIN,
    KUBEFLOW_TRAINER,
    CERT_MANAGER,
    KSERVE_CRD,
    KSERVE,
    KEDA,
    AWS_LOAD_BALANCER_CONTROLLER,
)
"""Every chart the platform can install."""


def chart_pin(chart: str) -> ChartPin | None:
    """The pin of a chart reference as a Helm release names it (full reference or bare name)."""
    name = chart.rsplit("/", 1)[-1]
    return next((p for p in CHARTS if p.chart == chart or p.name == name), None)


# Images of the ClusterTrainingRuntimes the platform manages: Kubeflow Trainer v2.3.0's own runtime manifests
# (manifests/base/runtimes). A job's image replaces them; they are what a job without one would run.
TRAINING_RUNTIME_IMAGES: dict[str, str] = {
    "torch-distributed": "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime",
    "deepspeed-distributed": "ghcr.io/kubeflow/trainer/deepspeed-runtime:v2.3.0",
    "jax-distributed": "nvcr.io/nvidia/jax:25.10-py3",
}

# vLLM's OpenAI server for the platform's vLLM ClusterServingRuntime: the vLLM release KServe v0.20.0 pins
# (kserve==0.20.0 requires vllm==0.24.0), in vLLM's own image.
VLLM_IMAGE = "vllm/vllm-openai:v0.24.0"

# Placeholder pods of warm GPU capacity: they only hold a node (registry.k8s.io/pause, the kubelet's own).
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

# ---------------------------------------------------------------- EKS and its node images

# EKS Kubernetes versions the platform deploys (in standard or extended support on 2026-11-29, EKS user
# guide "Kubernetes versions") -> the earliest EKS-optimized AL2023 AMI release (awslabs/amazon-eks-ami tag)
# known to carry it. Karpenter's `al2023@vYYYYMMDD` alias resolves that release's SSM parameters for the
# cluster's version: a release older than the version's first does not exist for it, and Karpenter then
# launches nothing. 1.32 and 1.33 are from the AMI changelog; 1.34-1.36 are the earliest releases seen
# published for them, so the check may refuse a few older releases that do exist (never the reverse).
EKS_VERSIONS: dict[str, str] = {
    "1.32": "v20250103",
    "1.33": "v20250519",
    "1.34": "v20260116",
    "1.35": "v20260304",
    "1.36": "v20260727",
}
# EKS-optimized AL2023 AMI release that Karpenter nodes boot; pinned, never "@latest" (Karpenter's own advice).
# Check a bump with: aws ssm get-parameter --name /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/
#   x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-<k8s>-<release>/image_id
KARPENTER_AMI_ALIAS = "al2023@v20260827"
# Cluster Autoscaler image per Kubernetes minor (registry.k8s.io/autoscaling/cluster-autoscaler): its minor
# must match the cluster's, because it simulates that version's scheduler (autoscaler README).
CLUSTER_AUTOSCALER_IMAGES: dict[str, str] = {
    "1.32": "v1.32.1",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}
# GKE minor versions a new cluster can start on (release channels, 2026-09 release notes; 1.34 reached
# end of life on 2026-10-01).
GKE_VERSIONS: tuple[str, ...] = ("1.35", "1.36")
