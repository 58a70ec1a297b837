"""A team's model endpoint as a KServe ``InferenceService`` on the platform's vLLM runtime. Pure data.

The platform's ``vllm`` ClusterServingRuntime is KServe v0.20.0's own ``kserve-vllmserver`` shape
(vLLM's OpenAI server on 8080, the model at ``/mnt/models`` from the storage initializer, readiness
and a 30-minute startup allowance, a memory-backed ``/dev/shm``) with vLLM's image
pinned. An endpoint adds what follows from its pool and config: node selector and tolerations, the
GPU resource per replica, vLLM's tensor parallelism, context length and memory use, the team's
read-only storage identity, and, when it scales on load, a KEDA-backed metric from Prometheus.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components import labels as L
from components.schedule import Window
from components.versions import VLLM_IMAGE

API_VERSION = "serving.kserve.io/v1beta1"
RUNTIME_API_VERSION = "serving.kserve.io/v1alpha1"
VLLM_RUNTIME = "vllm"
MODEL_FORMAT = "vLLM"
PORT = 8080
TEAM_LABEL = L.TEAM_LABEL
ENDPOINT_LABEL = "gpu-platform.io/endpoint"
# vLLM's own Prometheus metrics, by the config's names (vLLM >= 0.10 renamed gpu_cache_usage_perc).
SCALING_QUERIES = {
    "requests-waiting": "vllm:num_requests_waiting",
    "requests-running": "vllm:num_requests_running",
    "kv-cache": "vllm:kv_cache_usage_perc",
}
DRAIN_S = 120
"""A replica told to stop (scale-in, a rollout, the end of a schedule window) keeps serving this long first: the
Service and the load balancer stop sending it new requests meanwhile, and requests in flight (long generations,
streams) finish, which vLLM's own shutdown would cut off."""
GRACE_S = DRAIN_S + 30
"""The pod's termination grace period: the drain, then vLLM's own shutdown."""
# vLLM's /health: up once the weights are loaded, and open with an API key (which guards /v1/* only).
_PROBE = {"httpGet": {"path": "/health", "port": PORT}}


def runtime_manifest() -> dict[str, Any]:
    """The platform's vLLM ClusterServingRuntime."""
    return {
        "apiVersion": RUNTIME_API_VERSION,
        "kind": "ClusterServingRuntime",
        "metadata": {"name": VLLM_RUNTIME, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        "spec": {
            "annotations": {"prometheus.kserve.io/port": str(PORT), "prometheus.kserve.io/path": "/metrics"},
            "supportedModelFormats": [{"name": MODEL_FORMAT, "version": "1", "autoSelect": True, "priority": 1}],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": VLLM_IMAGE,
                    "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
                    "args": [f"--port={PORT}", "--served-model-name={{.Name}}", "--model=/mnt/models"],
                    "env": [
                        {"name": "HF_HOME", "value": "/tmp"},
                        {"name": "VLLM_CONFIG_ROOT", "value": "/tmp"},
                        {"name": "VLLM_WORKER_MULTIPROC_METHOD", "value": "spawn"},
                    ],
                    "ports": [{"containerPort": PORT, "protocol": "TCP"}],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "privileged": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "readinessProbe": {**_PROBE, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
                    # Weights of a 70B model take many minutes to load: 30 minutes before the kubelet gives up.
                    "startupProbe": {
                        **_PROBE,
                        "initialDelaySeconds": 30,
                        "periodSeconds": 30,
                        "timeoutSeconds": 10,
                        "failureThreshold": 60,
                    },
                    "volumeMounts": [{"name": "devshm", "mountPath": "/dev/shm"}],
                    "lifecycle": {"preStop": {"sleep": {"seconds": DRAIN_S}}},
                }
            ],
            "volumes": [{"name": "devshm", "emptyDir": {"medium": "Memory"}}],
        },
    }


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    team: str
    namespace: str
    model: str
    """``hf://``, ``s3://``, ``gs://`` or ``pvc://`` URI the storage initializer fetches."""
    gpu_resource: str
    gpus_per_replica: int
    node_selector: Mapping[str, str]
    tolerations: Sequence[Mapping[str, str]]
    min_replicas: int
    max_replicas: int
    cpu: str
    memory: str
    tensor_parallel_size: int
    gpu_memory_utilization: float
    max_model_len: int | None = None
    args: tuple[str, ...] = ()
    service_account: str | None = None
    secret_name: str | None = None
    """Kubernetes Secret holding ``HF_TOKEN``: the serving container's env, and (through the endpoint's own
    service account, ``token_service_account``) the storage initializer's, which downloads the weights."""
    scaling: tuple[str, float] | None = None
    """(config metric name, target per replica)."""
    prometheus: str = ""
    schedule: tuple[Window, ...] = ()
    """At least ``count`` replicas during each weekly window (KEDA cron triggers on the platform's own
    ScaledObject; in KServe mode the InferenceService then leaves scaling to it)."""
    api_key_secret: str | None = None
    """Kubernetes Secret holding ``VLLM_API_KEY``: vLLM then requires it as a bearer token on ``/v1``."""
    external_host: str | None = None
    """Host name the endpoint is reachable at from outside the cluster (None: in-cluster only)."""


def predictor(name: str) -> str:
    """What KServe names an InferenceService's predictor Deployment and its Service (port 80), in Standard mode."""
    return f"{name}-predictor"


def secret_env(e: EndpointSpec) -> list[dict[str, Any]]:
    """The serving container's credentials, from the endpoint's Secrets."""
    env: list[dict[str, Any]] = []
    if e.secret_name is not None:
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": e.secret_name, "key": "HF_TOKEN"}}})
    if e.api_key_secret is not None:
        key = {"name": e.api_key_secret, "key": "VLLM_API_KEY"}
        env.append({"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": key}})
    return env


def _vllm_args(e: EndpointSpec) -> list[str]:
    args = [f"--tensor-parallel-size={e.tensor_parallel_size}", f"--gpu-memory-utilization={e.gpu_memory_utilization}"]
    if e.max_model_len is not None:
        args.append(f"--max-model-len={e.max_model_len}")
    return [*args, *e.args]


def _autoscaling(e: EndpointSpec) -> tuple[str, dict[str, Any] | None]:
    """(autoscaler class, predictor.autoScaling): KEDA on vLLM's metric, a fixed replica count, or, with a
    schedule, the platform's own ScaledObject (KServe's KEDA class renders no cron trigger; with the
    ``external`` class KServe makes no scaler and leaves the Deployment's replicas to ours)."""
    if e.schedule:
        return "external", None
    if e.scaling is None or e.min_replicas == e.max_replicas:
        return "none", None
    metric, target = e.scaling
    query = f'sum({SCALING_QUERIES[metric]}{{namespace="{e.namespace}",model_name="{e.name}"}})'
    return "keda", {
        "metrics": [
            {
                "type": "External",
                "external": {
                    "metric": {"backend": "prometheus", "serverAddress": e.prometheus, "query": query},
                    # KServe builds KEDA's Prometheus trigger from target.value (and refuses an InferenceService
                    # without one); that trigger's threshold is per replica: KEDA divides the sum by the count.
                    "target": {"type": "Value", "value": f"{target:g}"},
                },
            }
        ]
    }


def inference_service_manifest(e: EndpointSpec) -> dict[str, Any]:
    resources = {
        "requests": {e.gpu_resource: str(e.gpus_per_replica), "cpu": e.cpu, "memory": e.memory},
        # CPU and memory limits as well: KServe fills in a 1-CPU, 2Gi limit where none is given.
        "limits": {e.gpu_resource: str(e.gpus_per_replica), "cpu": e.cpu, "memory": e.memory},
    }
    model: dict[str, Any] = {
        "modelFormat": {"name": MODEL_FORMAT},
        "runtime": VLLM_RUNTIME,
        "storageUri": e.model,
        "args": _vllm_args(e),
        "resources": resources,
    }
    if env := secret_env(e):
        model["env"] = env
    autoscaler, autoscaling = _autoscaling(e)
    predictor: dict[str, Any] = {
        "minReplicas": e.min_replicas,
        "maxReplicas": e.max_replicas,
        "nodeSelector": dict(e.node_selector),
        "tolerations": [dict(t) for t in e.tolerations],
        "terminationGracePeriodSeconds": GRACE_S,
        "model": model,
    }
    if autoscaling is not None:
        predictor["autoScaling"] = autoscaling
    if e.service_account is not None:
        predictor["serviceAccountName"] = e.service_account
    annotations = {
        # Standard (raw Deployment) mode: no Knative, no Istio.
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": autoscaler,
        "serving.kserve.io/enable-prometheus-scraping": "true",
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": e.name,
            "namespace": e.namespace,
            "labels": {TEAM_LABEL: e.team, ENDPOINT_LABEL: e.name, L.MANAGED_BY_LABEL: L.MANAGED_BY},
            "annotations": annotations,
        },
        "spec": {"predictor": predictor},
    }
