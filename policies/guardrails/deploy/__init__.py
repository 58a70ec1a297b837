"""Deployability policies: what the clouds and the API server refuse, or what deploys and never works.

The mock engine accepts anything; these catch, on every plan and every
``pulumi preview``, the classes of defects only ``pulumi up`` would reveal:
ordering against CRDs, webhooks and a usable cluster, pools nothing scales,
resources nothing advertises, names the APIs refuse, AMIs that do not exist,
webhooks the control plane cannot reach, zones EKS refuses.
"""

from . import (
    cluster_ready,
    crd_order,
    eks_zones,
    extended_resources,
    karpenter_ami,
    physical_names,
    pool_scaling,
    webhook_firewall,
)

MODULES = (
    crd_order,
    cluster_ready,
    pool_scaling,
    extended_resources,
    physical_names,
    karpenter_ami,
    webhook_firewall,
    eks_zones,
)
"""Every deployability policy module, in the pack's order (each has ``NAME``, ``check`` and ``policy``)."""
