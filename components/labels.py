"""Node labels, taints and resource names the platform relies on. Pure data.

Workloads, Kueue flavors, the device plugin and the policy pack all key on
these; they are a contract with users' manifests, so they change only with
a migration note.
"""

GPU_RESOURCE = "nvidia.com/gpu"
"""Extended resource the NVIDIA device plugin advertises."""

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"
"""Every GPU node carries ``nvidia.com/gpu=present:NoSchedule`` (what GKE sets on GPU nodes too)."""

POOL_LABEL = "gpu-platform.io/pool"
"""Names the node pool a node belongs to; workloads select pools with it."""
GPU_LABEL = "gpu-platform.io/gpu"
"""Portable GPU name of the node (``l4``, ``h100`` ...)."""
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
"""GPU product as GPU feature discovery names it (``NVIDIA-L4``)."""
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
"""Selects the named device-plugin config (sharing settings) a node uses."""
SIMULATED_POOL_LABEL = "run.ai/simulated-gpu-node-pool"
"""fake-gpu-operator's default ``topology.nodePoolLabelKey``: marks simulated GPU nodes."""
SYSTEM_NODES = {"gpu-platform.io/role": "system"}
"""Label of the system (CPU) nodes, and the node selector of the controllers the platform runs there."""
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gpu-platform"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
"""Selects the MIG layout the GPU Operator's MIG manager applies to a node."""
EXTERNAL_DEVICE_PLUGIN_LABEL = "gpu-platform.io/external-device-plugin"
"""Marks nodes whose image runs its own device plugin (Bottlerocket NVIDIA): ours stays away."""
KUEUE_NAMESPACE = "kueue-system"
"""Where Kueue runs (the platform creates this namespace when queues are on)."""
TRAINER_NAMESPACE = "kubeflow-system"
"""Where Kubeflow Trainer and JobSet run (the chart's documented namespace)."""
TRAINING_SERVICE_ACCOUNT = "trainer"
"""Service account of training pods in every team namespace (bound to the team's read-write storage identity)."""
SERVING_SERVICE_ACCOUNT = "model-reader"
"""Service account of serving pods (bound to the team's read-only storage identity)."""
TEAM_LABEL = "gpu-platform.io/team"
"""On a team's namespace (and its workloads' pods): the team's name."""
TEAM_GROUP_PREFIX = "gpu-platform:team:"
"""Kubernetes group ``gpu-platform:team:<team>``: its members may deploy the team's workloads (its namespace only)."""
GATEWAY_NAMESPACE = "serving-gateway"
"""Where the platform's GKE Gateway for external endpoints lives."""
SERVING_NAMESPACES = ("cert-manager", "kserve", "keda", GATEWAY_NAMESPACE)
"""Where the serving stack runs (KServe's chart names its webhook certificate for ``kserve``)."""
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
"""Annotation: ``pulumi up`` returns once the object is accepted. For what becomes ready only when a GPU node, the
image and the weights are up (longer than Pulumi's 10-minute wait): endpoints' Deployments, Services, Ingresses."""
