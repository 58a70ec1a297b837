"""A model endpoint without KServe: vLLM's OpenAI server as a Deployment, a Service and, when it scales on
load, a KEDA ScaledObject. Pure data.

Same container as the platform's KServe runtime (``components/inference_service.py``): vLLM's image,
port, probes and ``/dev/shm``. Without KServe's storage initializer, vLLM fetches the weights itself:
``hf://org/model`` becomes ``--model org/model`` (with ``HF_TOKEN`` for gated models, a Hugging Face
cache on an emptyDir), and ``pvc://claim/path`` mounts the claim read-only.
"""

from typing import Any

from components import labels as L
from components.inference_service import (
    ENDPOINT_LABEL,
    GRACE_S,
    PORT,
    SCALING_QUERIES,
    TEAM_LABEL,
    EndpointSpec,
    runtime_manifest,
    secret_env,
)
from components.schedule import cron_trigger

MODELS_MOUNT = "/mnt/models"
SKIP_AWAIT = L.SKIP_AWAIT
"""A GPU node from zero, the image and the weights take longer than Pulumi's 10-minute wait for a Deployment
to be available (and its Service to have endpoints): ``pulumi up`` returns once the objects are accepted, as for
an InferenceService; ``kubectl rollout status`` follows the rest."""


def _model_source(e: EndpointSpec) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(vLLM's --model, volumes, volume mounts) for the endpoint's model URI (hf:// or pvc://; checked)."""
    scheme, _, rest = e.model.partition("://")
    if scheme == "pvc":
        claim, _, path = rest.partition("/")
        volume = {"name": "model", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        return (
            f"{MODELS_MOUNT}/{path}".rstrip("/"),
            [volume],
            [{"name": "model", "mountPath": MODELS_MOUNT, "readOnly": True}],
        )
    cache = {"name": "hf-cache", "emptyDir": {}}
    return rest, [cache], [{"name": "hf-cache", "mountPath": "/tmp/hf"}]


def deployment_manifest(e: EndpointSpec) -> dict[str, Any]:
    (container,) = runtime_manifest()["spec"]["containers"]
    model, volumes, mounts = _model_source(e)
    labels = {TEAM_LABEL: e.team, ENDPOINT_LABEL: e.name}
    env = [v for v in container["env"] if v["name"] != "HF_HOME"] + [{"name": "HF_HOME", "value": "/tmp/hf"}]
    env += secret_env(e)
    args = [f"--port={PORT}", f"--served-model-name={e.name}", f"--model={model}"]
    args += [f"--tensor-parallel-size={e.tensor_parallel_size}", f"--gpu-memory-utilization={e.gpu_memory_utilization}"]
    if e.max_model_len is not None:
        args.append(f"--max-model-len={e.max_model_len}")
    resources = {e.gpu_resource: str(e.gpus_per_replica), "cpu": e.cpu, "memory": e.memory}
    pod: dict[str, Any] = {
        "nodeSelector": dict(e.node_selector),
        "tolerations": [dict(t) for t in e.tolerations],
        "terminationGracePeriodSeconds": GRACE_S,
        "containers": [
            {
                **{k: v for k, v in container.items() if k not in ("args", "env", "volumeMounts")},
                "name": "vllm",
                "args": [*args, *e.args],
                "env": env,
                "resources": {"requests": resources, "limits": resources},
                "volumeMounts": [*container["volumeMounts"], *mounts],
            }
        ],
        "volumes": [*runtime_manifest()["spec"]["volumes"], *volumes],
    }
    if e.service_account is not None:
        pod["serviceAccountName"] = e.service_account
    return {
        "metadata": {
            "name": e.name,
            "namespace": e.namespace,
            "labels": {**labels, L.MANAGED_BY_LABEL: L.MANAGED_BY},
            "annotations": SKIP_AWAIT,
        },
        "spec": {
            "replicas": e.min_replicas,
            # A new replica needs GPUs of its own: replace one at a time rather than surge past the quota.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": pod,
            },
        },
    }


def service_manifest(e: EndpointSpec) -> dict[str, Any]:
    """The endpoint's in-cluster address: ``<name>.<namespace>.svc`` on port 80."""
    return {
        "metadata": {
            "name": e.name,
            "namespace": e.namespace,
            "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY},
            "annotations": SKIP_AWAIT,
        },
        "spec": {
            "selector": {TEAM_LABEL: e.team, ENDPOINT_LABEL: e.name},
            "ports": [{"name": "http", "port": 80, "targetPort": PORT, "protocol": "TCP"}],
        },
    }


def scaled_object_manifest(e: EndpointSpec, deployment: str) -> dict[str, Any] | None:
    """KEDA scaling of ``deployment`` on vLLM's load (the same query and per-replica threshold KServe's KEDA class
    uses) and on the endpoint's schedule (cron triggers); KEDA runs the largest count any trigger asks for. Named
    after the endpoint: never KServe's own ``<name>-predictor``."""
    triggers: list[dict[str, Any]] = [cron_trigger(w) for w in e.schedule]
    if e.scaling is not None and e.max_replicas > e.min_replicas:
        metric, target = e.scaling
        query = f'sum({SCALING_QUERIES[metric]}{{namespace="{e.namespace}",model_name="{e.name}"}})'
        triggers.insert(
            0,
            {
                "type": "prometheus",
                "metadata": {"serverAddress": e.prometheus, "query": query, "threshold": f"{target:g}"},
            },
        )
    if not triggers:
        return None
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": e.name, "namespace": e.namespace, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        "spec": {
            "scaleTargetRef": {"name": deployment},
            "minReplicaCount": e.min_replicas,
            "maxReplicaCount": e.max_replicas,
            "triggers": triggers,
        },
    }
