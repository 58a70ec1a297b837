"""Warm GPU capacity ahead of demand: nodes kept up on a schedule by placeholder pods real work pre-empts.

Per pool with ``warm`` windows: a Deployment of pause pods, one per node, each asking for one GPU unit, at a
negative priority (a PriorityClass that never pre-empts anything), scaled by a KEDA ScaledObject
with one cron trigger per window (KEDA takes the largest). The autoscaler (Cluster Autoscaler or
Karpenter) adds nodes for them because their priority is above its expendable-pods cutoff; any
workload of a higher priority (every real one) pre-empts them and lands on a node that is already
up, and the placeholder, pending again, asks for the next node. Outside the windows KEDA scales the
placeholders to zero and the autoscaler removes the idle nodes.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import labels as L
from components.pool_spec import PoolSpec
from components.schedule import Window, cron_trigger
from components.versions import PAUSE_IMAGE

EXPENDABLE_PODS_PRIORITY_CUTOFF = -10
"""Cluster Autoscaler's ``--expendable-pods-priority-cutoff`` (its default, set explicitly by
components/cluster_autoscaler.py): pods below it never make it add a node."""
PRIORITY_CLASS = "gpu-platform-warm-capacity"
PRIORITY = -5
"""Below every real workload (0 by default), above the autoscaler's expendable cutoff (-10)."""
assert PRIORITY >= EXPENDABLE_PODS_PRIORITY_CUTOFF, "placeholders below the cutoff would never add a node"
WarmWindow = Window
"""Nodes kept up (``count``) during a weekly window."""


def placeholder_deployment(pool: PoolSpec, namespace: str) -> dict[str, Any]:
    """One pause pod per node (anti-affinity on the hostname), asking for one GPU unit: enough that only a node
    of the pool takes it, and what any autoscaler's view of the node offers (Karpenter counts physical GPUs, not
    time-sliced units). Work scheduled there uses the node's other GPUs, or pre-empts the placeholder."""
    labels = {L.POOL_LABEL: pool.name, "app.kubernetes.io/name": "warm-capacity"}
    resources = {min(pool.node_resources()): "1"}
    return {
        "metadata": {
            "name": f"warm-{pool.name}",
            "namespace": namespace,
            "labels": {**labels, L.MANAGED_BY_LABEL: L.MANAGED_BY},
            # Its pods wait for nodes by design (and cannot schedule while the pool is full of work).
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "affinity": {
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}
                            ]
                        }
                    },
                    "priorityClassName": PRIORITY_CLASS,
                    "terminationGracePeriodSeconds": 0,
                    "nodeSelector": {L.POOL_LABEL: pool.name},
                    "tolerations": [
                        {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints
                    ],
                    "containers": [
                        {
                            "name": "pause",
                            "image": PAUSE_IMAGE,
                            "resources": {
                                "requests": {**resources, "cpu": "10m", "memory": "16Mi"},
                                "limits": resources,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "runAsNonRoot": True,
                                "runAsUser": 65535,
                            },
                        }
                    ],
                },
            },
        },
    }


def scaled_object(pool: PoolSpec, namespace: str, windows: Sequence[WarmWindow]) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": f"warm-{pool.name}", "namespace": namespace, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        "spec": {
            "scaleTargetRef": {"name": f"warm-{pool.name}"},
            "minReplicaCount": 0,
            "maxReplicaCount": max(w.count for w in windows),
            "cooldownPeriod": 300,
            "triggers": [cron_trigger(w) for w in windows],
        },
    }


@dataclass(frozen=True)
class WarmCapacityArgs:
    namespace: pulumi.Input[str]
    pools: Mapping[str, tuple[PoolSpec, Sequence[WarmWindow]]]
    """Pool name -> (its spec, its windows)."""
    keda: pulumi.Resource
    """KEDA's release: the ScaledObject CRD and its webhook."""


class WarmCapacity(pulumi.ComponentResource):
    def __init__(self, name: str, args: WarmCapacityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:WarmCapacity", name, None, opts)
        priority = k8s.scheduling.v1.PriorityClass(
            f"{name}-priority",
            metadata={"name": PRIORITY_CLASS, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
            value=PRIORITY,
            preemption_policy="Never",
            global_default=False,
            description="Placeholder pods that keep GPU nodes warm; every workload pre-empts them.",
            opts=pulumi.ResourceOptions(parent=self),
        )
        for pool_name, (pool, windows) in sorted(args.pools.items()):
            deployment = placeholder_deployment(pool, "")
            metadata: Any = {**deployment["metadata"], "namespace": args.namespace}
            placeholders = k8s.apps.v1.Deployment(
                f"{name}-{pool_name}",
                metadata=metadata,
                spec=deployment["spec"],
                # KEDA owns the replica count.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[priority], ignore_changes=["spec.replicas"]),
            )
            manifest = scaled_object(pool, "", windows)
            k8s.apiextensions.CustomResource(
                f"{name}-{pool_name}-schedule",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata={**manifest["metadata"], "namespace": args.namespace},
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.keda, placeholders]),
            )
        self.register_outputs({})
