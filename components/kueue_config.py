"""Kueue's controller configuration (chart value ``managerConfig.controllerManagerConfigYaml``). Pure data.

The chart takes the whole configuration as one YAML document, so setting one
field means restating its defaults: these are Kueue 0.19.2's chart defaults
(``charts/kueue/values.yaml``), plus what the platform needs. A ClusterQueue
admits a workload only if it covers every resource the workload requests;
GPU jobs also request resources no queue should ration (EFA devices, hugepages
for NCCL over EFA, ephemeral storage), so Kueue is told to ignore those.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

MAX_FLAVORS = 64
"""Kueue's limit on flavors in one ClusterQueue resource group (its CRD: resourceGroups[].flavors maxItems).
The platform makes one flavor per pool, so this bounds the pools one team's queue can reach."""

LOCAL_QUEUE = "gpu"
"""Every team namespace gets a LocalQueue of this name: jobs set ``kueue.x-k8s.io/queue-name: gpu``."""
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"

EXCLUDED_RESOURCE_PREFIXES = ("vpc.amazonaws.com/", "hugepages-", "ephemeral-storage")
"""Requested resources Kueue does not account for (pods still get them from the node)."""

# Workload kinds Kueue manages when they carry kueue.x-k8s.io/queue-name (the chart's defaults).
INTEGRATIONS = (
    "batch/job",
    "kubeflow.org/mpijob",
    "ray.io/rayjob",
    "ray.io/rayservice",
    "ray.io/raycluster",
    "jobset.x-k8s.io/jobset",
    "workload.codeflare.dev/appwrapper",
    "trainer.kubeflow.org/trainjob",
    "pod",
    "deployment",
    "statefulset",
    "leaderworkerset.x-k8s.io/leaderworkerset",
)


WAIT_FOR_PODS_READY: dict[str, Any] = {
    # Kueue 0.19's defaults (it turns this on by default), written out so the platform's behaviour does not
    # move with a chart bump: a job whose pods are not all running 30 minutes after admission (a node that
    # never came, an image that never pulled), or that loses one and does not recover within 30 minutes
    # (a node drained or replaced), is evicted and requeued, with exponential backoff, instead of holding
    # its GPUs. All-or-nothing for multi-node training.
    "timeout": "30m",
    "recoveryTimeout": "30m",
    "blockAdmission": False,
    "requeuingStrategy": {"timestamp": "Eviction", "backoffBaseSeconds": 60, "backoffMaxSeconds": 3600},
}


def manager_config() -> dict[str, Any]:
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {
            "groupKindConcurrency": {
                "Job.batch": 5,
                "Pod": 5,
                "Workload.kueue.x-k8s.io": 10,
                "LocalQueue.kueue.x-k8s.io": 5,
                "ClusterQueue.kueue.x-k8s.io": 5,
                "ResourceFlavor.kueue.x-k8s.io": 1,
            }
        },
        "clientConnection": {"qps": 300, "burst": 500},
        "integrations": {"frameworks": list(INTEGRATIONS)},
        "resources": {"excludeResourcePrefixes": list(EXCLUDED_RESOURCE_PREFIXES)},
        "waitForPodsReady": WAIT_FOR_PODS_READY,
    }


def helm_values(prometheus: bool) -> dict[str, Any]:
    """The subset of the chart's values the platform sets (paths checked against the chart's values.yaml)."""
    return {
        "enablePrometheus": prometheus,
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(manager_config(), sort_keys=False)},
    }


def lendable_pools(quotas: Iterable[Mapping[str, int]]) -> frozenset[str]:
    """Pools some team has nominal quota on (given every team's quota by pool): the only ones a
    borrowing team can borrow on in the cohort, so the only ones its queue needs a flavor for."""
    return frozenset(pool for quota in quotas for pool, units in quota.items() if units > 0)
