"""Turn captured registrations into files: resources.json, manifests/, policy.json.

Typed Kubernetes resources carry their whole manifest in their inputs, so they
are written as YAML that ``kubectl apply -f`` accepts. Helm releases render
inside the provider (there is no chart offline), so they are listed with their
chart, version and values instead.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from infra.plan.engine import ProgramError, Registration

HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
HELM_LIST = "helm-releases.yaml"

# apply order: what others live in or refer to comes first (kubectl applies files alphabetically).
_KIND_RANK = {
    "Namespace": 0,
    "CustomResourceDefinition": 1,
    "PriorityClass": 2,
    "ServiceAccount": 3,
    "ConfigMap": 4,
    "Secret": 4,
    "ResourceQuota": 5,
    "LimitRange": 5,
    "Node": 6,
    "ResourceFlavor": 7,
    "ClusterQueue": 8,
    "LocalQueue": 9,
}
_DEFAULT_RANK = 10


def is_manifest(reg: Registration) -> bool:
    return (
        reg.custom
        and reg.type.startswith("kubernetes:")
        and not reg.type.startswith("pulumi:providers:")
        and (reg.type not in HELM_RELEASE_TYPES)
    )


def resource_record(reg: Registration) -> dict[str, Any]:
    return {
        "urn": reg.urn,
        "type": reg.type,
        "name": reg.name,
        "parent": reg.parent,
        "custom": reg.custom,
        "protect": reg.protect,
        "retainOnDelete": reg.retain_on_delete,
        "deleteBeforeReplace": reg.delete_before_replace,
        "replaceOnChanges": sorted(reg.replace_on_changes),
        "provider": reg.provider.rsplit("::", 1)[0] if reg.provider else "",
        "dependencies": sorted(reg.dependencies),
        "inputs": reg.inputs(),
    }


def manifests(registrations: Sequence[Registration]) -> list[tuple[str, dict[str, Any]]]:
    """``(file name, object)`` for every Kubernetes object, sorted in apply order."""
    out: list[tuple[str, dict[str, Any]]] = []
    for reg in registrations:
        if not is_manifest(reg):
            continue
        obj = reg.inputs()
        kind = str(obj.get("kind", reg.type.rsplit(":", 1)[-1]))
        meta = obj.get("metadata") or {}
        # "_" cannot occur in Kubernetes names, so distinct objects get distinct file names.
        parts = [kind.lower(), str(meta.get("namespace") or ""), str(meta.get("name") or reg.name)]
        slug = "_".join(re.sub(r"[^a-z0-9.-]+", "-", p.lower()) for p in parts if p)
        out.append((f"{_KIND_RANK.get(kind, _DEFAULT_RANK):02d}-{slug}.yaml", obj))
    out.sort(key=lambda item: item[0])
    for (first, _), (second, _) in itertools.pairwise(out):
        if first == second:
            # The API server would keep one of them; so would the file system. Never write one silently.
            raise ProgramError(f"two Kubernetes objects with the same kind and name would be planned: {first}")
    return out


def helm_releases(registrations: Sequence[Registration]) -> list[dict[str, Any]]:
    releases = []
    for reg in registrations:
        if reg.type not in HELM_RELEASE_TYPES:
            continue
        inputs = reg.inputs()
        releases.append(
            {
                "urn": reg.urn,
                "release": inputs.get("name", reg.name),
                "namespace": inputs.get("namespace", ""),
                "chart": inputs.get("chart", ""),
                "version": inputs.get("version", ""),
                "repo": (inputs.get("repositoryOpts") or {}).get("repo", ""),
                "values": inputs.get("values") or {},
            }
        )
    return sorted(releases, key=lambda r: r["urn"])


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def dump_yaml(value: Any) -> str:
    return str(yaml.safe_dump(value, sort_keys=True, default_flow_style=False))


def write_outputs(
    out_dir: Path,
    registrations: Sequence[Registration],
    violations: list[dict[str, Any]],
    summary: dict[str, Any],
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    records = sorted((resource_record(r) for r in registrations), key=lambda r: r["urn"])
    (out_dir / "resources.json").write_text(dump_json(records), encoding="utf-8")
    (out_dir / "policy.json").write_text(dump_json(violations), encoding="utf-8")
    (out_dir / "summary.json").write_text(dump_json(summary), encoding="utf-8")
    manifest_dir = out_dir / "manifests"
    manifest_dir.mkdir(exist_ok=True)
    for stale in manifest_dir.glob("*.yaml"):
        stale.unlink()
    for file_name, obj in manifests(registrations):
        (manifest_dir / file_name).write_text(dump_yaml(obj), encoding="utf-8")
    releases = helm_releases(registrations)
    if releases:
        # Kept beside manifests/, not in it: these are not Kubernetes objects,
        # and `kubectl apply -f manifests/` must accept every file there.
        header = (
            "# Helm releases render inside the Kubernetes provider at apply time; offline they are\n"
            "# listed here with chart, version, repository and values.\n"
        )
        (out_dir / HELM_LIST).write_text(header + yaml.safe_dump_all(releases, sort_keys=True), encoding="utf-8")
