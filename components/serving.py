"""The serving stack (cert-manager, KServe in Standard mode, KEDA, the vLLM runtime) and teams' endpoints.

Order matters and is explicit: cert-manager (KServe's webhook certificate is a cert-manager
Certificate) and KServe's CRDs before KServe; KEDA before KServe, whose KEDA autoscaler class
creates ScaledObjects; the vLLM ClusterServingRuntime after KServe; endpoints after all of it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components import labels as L
from components.inference_service import EndpointSpec, inference_service_manifest, runtime_manifest
from components.secrets import workload_secret
from components.versions import CERT_MANAGER, KEDA, KSERVE, KSERVE_CRD
from components.vllm_deployment import deployment_manifest, scaled_object_manifest, service_manifest

NAMESPACES = {name: name for name in L.SERVING_NAMESPACES if name != "keda"}
KEDA_NAMESPACE = "keda"


def kserve_values() -> dict[str, Any]:
    """The subset of kserve-resources' values the platform sets (paths checked against the chart)."""
    return {
        "kserve": {
            "controller": {
                "deploymentMode": "Standard",
                # In-cluster endpoints only: no Istio virtual hosts, no Ingress objects (exposure is opt-in).
                "gateway": {"disableIstioVirtualHost": True, "disableIngressCreation": True},
            }
        }
    }


def cert_manager_values() -> dict[str, Any]:
    return {"crds": {"enabled": True}}


def keda_values() -> dict[str, Any]:
    return {"crds": {"install": True}}


@dataclass(frozen=True)
class ServingStackArgs:
    keda: pulumi.Resource
    """KEDA's release (``keda_release``): KServe's KEDA autoscaler class creates ScaledObjects."""
    after: Sequence[pulumi.Resource] = ()


def keda_release(name: str, parent: pulumi.Resource, after: Sequence[pulumi.Resource] = ()) -> k8s.helm.v3.Release:
    """KEDA in its namespace: for endpoints that scale on load and for warm GPU capacity."""
    ns = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata={"name": KEDA_NAMESPACE, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return helm.release(name, "keda", KEDA, ns.metadata.name, keda_values(), parent, depends_on=after)


class Keda(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, after: Sequence[pulumi.Resource], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:Keda", name, None, opts)
        self.release = keda_release(f"{name}-release", self, after)
        self.register_outputs({})


class ServingStack(pulumi.ComponentResource):
    runtime: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: ServingStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:ServingStack", name, None, opts)
        ns = {
            key: k8s.core.v1.Namespace(
                f"{name}-{key}",
                metadata={"name": namespace, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, namespace in NAMESPACES.items()
        }
        cert_manager = helm.release(
            f"{name}-cert-manager",
            "cert-manager",
            CERT_MANAGER,
            ns["cert-manager"].metadata.name,
            cert_manager_values(),
            self,
            depends_on=args.after,
        )
        crds = helm.release(f"{name}-kserve-crd", "kserve-crd", KSERVE_CRD, ns["kserve"].metadata.name, {}, self)
        kserve = helm.release(
            f"{name}-kserve",
            "kserve",
            KSERVE,
            ns["kserve"].metadata.name,
            kserve_values(),
            self,
            depends_on=[cert_manager, args.keda, crds],
        )
        manifest = runtime_manifest()
        self.runtime = k8s.apiextensions.CustomResource(
            f"{name}-runtime-vllm",
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[kserve, crds]),
        )
        self.register_outputs({})


@dataclass(frozen=True)
class Endpoint:
    spec: EndpointSpec
    hf_token: str | None = None
    token_service_account: bool = False
    """Create the endpoint's own service account (``spec.service_account``) listing the token Secret, from
    which KServe's storage initializer reads ``HF_TOKEN`` to download a gated model."""


@dataclass(frozen=True)
class EndpointsArgs:
    endpoints: Sequence[Endpoint]
    depends_on: Sequence[pulumi.Resource] = ()
    plain: bool = False
    """Render vLLM Deployments and Services (``components/vllm_deployment.py``) instead of InferenceServices."""


class Endpoints(pulumi.ComponentResource):
    """One team's model endpoints."""

    def __init__(self, name: str, args: EndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:Endpoints", name, None, opts)
        for endpoint in args.endpoints:
            spec = endpoint.spec
            deps = list(args.depends_on)
            if endpoint.hf_token is not None and spec.secret_name:
                deps.append(
                    workload_secret(
                        f"{name}-{spec.name}-secret",
                        spec.secret_name,
                        spec.namespace,
                        {"HF_TOKEN": endpoint.hf_token},
                        self,
                        args.depends_on,
                    )
                )
            if endpoint.token_service_account and spec.service_account and spec.secret_name:
                deps.append(
                    k8s.core.v1.ServiceAccount(
                        f"{name}-{spec.name}-sa",
                        metadata={
                            "name": spec.service_account,
                            "namespace": spec.namespace,
                            "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY},
                        },
                        secrets=[{"name": spec.secret_name}],
                        opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
                    )
                )
            if args.plain:
                self._plain(name, spec, deps)
                continue
            manifest = inference_service_manifest(spec)
            k8s.apiextensions.CustomResource(
                f"{name}-{spec.name}",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
            )
        self.register_outputs({})

    def _plain(self, name: str, spec: EndpointSpec, deps: list[pulumi.Resource]) -> None:
        deployment: Any = deployment_manifest(spec)
        scaled = scaled_object_manifest(spec)
        server = k8s.apps.v1.Deployment(
            f"{name}-{spec.name}",
            metadata=deployment["metadata"],
            spec=deployment["spec"],
            # With scaling, KEDA owns the replica count.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=deps, ignore_changes=["spec.replicas"] if scaled else None
            ),
        )
        service: Any = service_manifest(spec)
        k8s.core.v1.Service(
            f"{name}-{spec.name}",
            metadata=service["metadata"],
            spec=service["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
        )
        if scaled is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-{spec.name}-scaling",
                api_version=scaled["apiVersion"],
                kind=scaled["kind"],
                metadata=scaled["metadata"],
                spec=scaled["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*deps, server]),
            )
