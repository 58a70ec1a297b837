"""Every Helm chart and container image the platform installs, pinned in one place.

One line per pin so a version bump is a one-line diff. Chart versions are the
published ones (the repositories' Chart.yaml in git often carries a placeholder
that the release pipeline replaces). No `latest`, ever: the policy pack rejects it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    chart: str
    """Chart name in a classic repository, or a full ``oci://`` reference."""
    version: str
    repo: str | None = None
    """Classic Helm repository URL; ``None`` for OCI charts."""


# NVIDIA device plugin (with optional GPU feature discovery), NVIDIA/k8s-device-plugin v0.20.0.
NVIDIA_DEVICE_PLUGIN = ChartPin("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin")
# Fake GPUs for laptops and CI clusters without GPUs, run-ai/fake-gpu-operator v0.2.0 (OCI only).
FAKE_GPU_OPERATOR = ChartPin("oci://ghcr.io/run-ai/fake-gpu-operator/fake-gpu-operator", "0.2.0")
# Karpenter controller for EKS GPU pools with `provisioner: karpenter`, aws/karpenter-provider-aws v1.14.1 (OCI only).
KARPENTER = ChartPin("oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
# EKS-optimized AL2023 AMI release that Karpenter nodes boot; pinned, never "@latest" (Karpenter's own advice).
KARPENTER_AMI_ALIAS = "al2023@v20250410"
# NVIDIA GPU Operator (stack: gpu-operator), NVIDIA/gpu-operator v26.7.0.
GPU_OPERATOR = ChartPin("gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia")
# NVIDIA DCGM exporter (stack: device-plugin), NVIDIA/dcgm-exporter 4.5.3-4.8.2 (chart 4.8.2).
DCGM_EXPORTER = ChartPin("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts")
# Kueue GPU queues, kubernetes-sigs/kueue v0.19.2 (OCI only).
KUEUE = ChartPin("oci://registry.k8s.io/kueue/charts/kueue", "0.19.2")
