"""CPU architectures of GPU nodes. Pure data."""

from typing import Literal

Arch = Literal["x86_64", "arm64"]
"""A node's CPU architecture as the clouds name it (EC2 ``ProcessorInfo.SupportedArchitectures``); Kubernetes
labels it ``kubernetes.io/arch`` ``amd64`` / ``arm64`` (``KUBERNETES_ARCH``)."""

ARCHES: tuple[Arch, ...] = ("x86_64", "arm64")

KUBERNETES_ARCH: dict[Arch, str] = {"x86_64": "amd64", "arm64": "arm64"}
"""The ``kubernetes.io/arch`` node label value (and Karpenter's arch requirement) per architecture."""
