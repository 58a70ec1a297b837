"""Deployability policies: what the clouds and the API server refuse, or what deploys and never works.

The mock engine accepts anything; these catch, on every plan and every
``pulumi preview``, the classes of defects only ``pulumi up`` would reveal:
ordering against CRDs, webhooks and a usable cluster, pools nothing scales,
resources nothing advertises, names the APIs refuse, AMIs that do not exist,
webhooks the control plane cannot reach, zones EKS refuses.
"""
