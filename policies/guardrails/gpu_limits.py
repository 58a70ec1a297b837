"""gpu-limits: containers that use GPUs set them in limits, equal to requests when both are set.

Kubernetes schedules extended resources by limits; a GPU only in requests is
rejected at admission time, after the rest of the stack has been applied.
"""

from collections.abc import Mapping
from typing import Any

from .resource_policy import resource_policy
from .workloads import containers, gpu_amount, pod_specs, quantity

NAME = "gpu-limits"
DEFAULT_RESOURCES = ["nvidia.com/gpu", "nvidia.com/gpu.shared", "nvidia.com/mig-*"]


def violations(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    patterns = list(config.get("resourceNames") or DEFAULT_RESOURCES)
    found: list[str] = []
    for spec_path, spec in pod_specs(resource_type, props):
        for where, container in containers(spec):
            requests = gpu_amount(container, "requests", patterns)
            limits = gpu_amount(container, "limits", patterns)
            for name in sorted(set(requests) | set(limits)):
                at = f"{spec_path}.{where}.resources"
                if name not in limits:
                    found.append(
                        f"{at}: requests {name}={_show(requests[name])} but sets no limit; "
                        f"GPUs are scheduled by limits: set limits.{name} (equal to the request)"
                    )
                elif name in requests and quantity(requests[name]) != quantity(limits[name]):
                    found.append(
                        f"{at}: requests {name}={_show(requests[name])} but limits it to {_show(limits[name])}; "
                        "GPU requests must equal limits"
                    )
                elif (q := quantity(limits[name])) is None or q < 0 or not q.is_integer():
                    found.append(f"{at}: {name}={_show(limits[name])} is not a whole number of GPUs")
    return found


def _show(value: Any) -> str:
    q = quantity(value)
    return str(int(q)) if q is not None and q.is_integer() else str(value)


policy = resource_policy(
    NAME,
    "Containers that use GPUs set them in limits, equal to their requests.",
    violations,
    {
        "resourceNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_RESOURCES,
            "description": "GPU resource names to check; a trailing * matches a prefix.",
        }
    },
)
