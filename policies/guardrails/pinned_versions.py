"""pinned-versions: every Helm chart, container image and node AMI is pinned (no missing version, no `latest`).

A floating version makes two applies of the same config install different
software: the plan stops being a plan.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from .resource_policy import resource_policy
from .workloads import containers, pod_specs

NAME = "pinned-versions"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
DEFAULT_FLOATING = ["latest", "main", "master", "stable", "nightly"]


def image_problem(image: str, floating: list[str], require_digest: bool) -> str | None:
    """Why an image reference is not pinned, or ``None``."""
    if "@sha256:" in image:
        return None
    if require_digest:
        return "has no @sha256 digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (Kubernetes pulls :latest)"
    tag = last.rsplit(":", 1)[1]
    if tag in floating:
        return f"uses the floating tag {tag!r}"
    return None


def _value_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """``(path, image)`` for chart values that name a floating image tag explicitly.

    Values computed by other resources are unknown in a preview; they cannot
    name an image tag the user typed, so they are skipped rather than turning
    the whole check into a "can't run during preview" advisory.
    """
    if isinstance(values, Mapping):
        for key in list(values.keys()):
            try:
                value = values[key]
            except UnknownValueError:
                continue
            at = f"{path}.{key}"
            if key == "tag" and isinstance(value, str) and value:
                yield at, f"image:{value}"
            elif key == "image" and isinstance(value, str) and value:
                yield at, value
            else:
                yield from _value_images(value, at)
    elif isinstance(values, Sequence) and not isinstance(values, str):
        for i in range(len(values)):
            try:
                value = values[i]
            except UnknownValueError:
                continue
            yield from _value_images(value, f"{path}[{i}]")


def violations(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    floating = list(config.get("floatingTags") or DEFAULT_FLOATING)
    require_digest = bool(config.get("requireDigest", False))
    found: list[str] = []
    if resource_type in HELM_TYPES:
        chart = props.get("chart", "?")
        version = str(props.get("version") or "").strip()
        if not version:
            found.append(f"Helm chart {chart!r} has no version; pin chart version (e.g. version: 1.2.3)")
        elif version.lstrip("v") in floating or version in ("*", "x") or "*" in version or "x" in version.split("."):
            found.append(f"Helm chart {chart!r} version {version!r} floats; pin an exact version")
        for at, image in _value_images(props.get("values") or {}):
            problem = image_problem(image, floating, False)
            if problem and "no tag" not in problem:
                found.append(f"Helm chart {chart!r} {at}={image.removeprefix('image:')!r} {problem}; pin a version")
    if resource_type == EC2_NODE_CLASS:
        for i, term in enumerate((props.get("spec") or {}).get("amiSelectorTerms") or []):
            alias = str(term.get("alias") or "")
            if alias.endswith("@latest"):
                found.append(
                    f"spec.amiSelectorTerms[{i}].alias {alias!r} floats to every new AMI; pin a release (al2023@vYYYYMMDD)"
                )
    for spec_path, spec in pod_specs(resource_type, props):
        for where, container in containers(spec):
            image = str(container.get("image") or "")
            problem = image_problem(image, floating, require_digest) if image else "has no image"
            if problem:
                found.append(f"{spec_path}.{where}: image {image!r} {problem}; pin a version tag or digest")
    return found


policy = resource_policy(
    NAME,
    "Helm charts and container images are pinned to exact versions (no missing version, no latest).",
    violations,
    {
        "floatingTags": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_FLOATING,
            "description": "Tags and chart versions that move and so do not count as pinned.",
        },
        "requireDigest": {
            "type": "boolean",
            "default": False,
            "description": "Require container images to be pinned by @sha256 digest, not only by tag.",
        },
    },
)
