"""One way to register a rendered manifest (``apiVersion``, ``kind``, ``metadata``, ``spec``) as a Pulumi resource."""

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# Built-in kinds the platform renders as manifests: their typed resources (a CustomResource of a built-in kind
# would plan the same, but lose the provider's await logic and schema).
BUILT_IN: Mapping[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    ): k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding
    ),
}


def manifest_resource(name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    typed = BUILT_IN.get((manifest["apiVersion"], manifest["kind"]))
    if typed is not None:
        return typed(name, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )
