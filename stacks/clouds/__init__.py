"""One backend per cloud, registered in one table.

Everything cloud-specific (config rules, zones, offerings, GPU software
defaults, which builder registers the cluster) sits behind a backend. Adding a
cloud is a backend module here, its builder under ``infra/clouds/`` and its
catalog data; a cloud with no backend can never take another's path.
"""

from __future__ import annotations

from stacks.clouds.aws import AWS
from stacks.clouds.base import FIELD_CAPABILITIES, Capability, CloudBackend, Issue, SoftwareDefaults, key
from stacks.clouds.existing import EXISTING
from stacks.clouds.gcp import GCP
from stacks.model import Cloud

BACKENDS: dict[Cloud, CloudBackend] = {b.cloud: b for b in (EXISTING, AWS, GCP)}


def backend(cloud: Cloud) -> CloudBackend:
    """The backend of ``cloud``; ``KeyError`` naming the supported clouds otherwise."""
    try:
        return BACKENDS[cloud]
    except KeyError:
        raise KeyError(f"no backend for cloud {cloud!r}; supported: {', '.join(c.value for c in BACKENDS)}") from None


def clouds_with(capability: Capability) -> tuple[Cloud, ...]:
    return tuple(c for c, b in BACKENDS.items() if b.has(capability))


__all__ = [
    "BACKENDS",
    "FIELD_CAPABILITIES",
    "Capability",
    "CloudBackend",
    "Issue",
    "SoftwareDefaults",
    "backend",
    "clouds_with",
    "key",
]
