"""gpu-tolerations: pods that request GPUs tolerate the GPU node taint.

Every GPU pool is tainted ``nvidia.com/gpu=present:NoSchedule``; a GPU pod
without the toleration stays Pending forever, which nobody notices until a job
misses its deadline.
"""

from collections.abc import Mapping
from typing import Any

from .gpu_limits import DEFAULT_RESOURCES
from .resource_policy import resource_policy
from .workloads import pod_specs, requests_gpus

NAME = "gpu-tolerations"
DEFAULTS = {"taintKey": "nvidia.com/gpu", "taintValue": "present", "taintEffect": "NoSchedule"}


def tolerates(toleration: Mapping[str, Any], key: str, value: str, effect: str) -> bool:
    """Kubernetes' matching rule for one toleration against one taint."""
    if toleration.get("effect") not in (None, "", effect):
        return False
    operator = toleration.get("operator") or "Equal"
    if not toleration.get("key"):
        return operator == "Exists"  # an empty key with Exists tolerates everything
    if toleration.get("key") != key:
        return False
    return operator == "Exists" or (toleration.get("value") or "") == value


def violations(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    key = str(config.get("taintKey", DEFAULTS["taintKey"]))
    value = str(config.get("taintValue", DEFAULTS["taintValue"]))
    effect = str(config.get("taintEffect", DEFAULTS["taintEffect"]))
    patterns = list(config.get("resourceNames") or DEFAULT_RESOURCES)
    found = []
    for spec_path, spec in pod_specs(resource_type, props):
        if not requests_gpus(spec, patterns):
            continue
        if not any(tolerates(t, key, value, effect) for t in spec.get("tolerations") or [] if isinstance(t, Mapping)):
            found.append(
                f"{spec_path}: requests GPUs but does not tolerate the GPU node taint {key}={value}:{effect}; "
                f"add tolerations: [{{key: {key}, operator: Exists, effect: {effect}}}]"
            )
    return found


policy = resource_policy(
    NAME,
    "Pods that request GPUs tolerate the GPU node taint.",
    violations,
    {
        "taintKey": {"type": "string", "default": DEFAULTS["taintKey"], "description": "GPU node taint key."},
        "taintValue": {"type": "string", "default": DEFAULTS["taintValue"], "description": "GPU node taint value."},
        "taintEffect": {
            "type": "string",
            "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"],
            "default": DEFAULTS["taintEffect"],
            "description": "GPU node taint effect.",
        },
        "resourceNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_RESOURCES,
            "description": "Resource names that count as GPUs; a trailing * matches a prefix.",
        },
    },
)
