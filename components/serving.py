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
from components.endpoint_exposure import Exposure, Route, route_manifests
from components.inference_service import EndpointSpec, inference_service_manifest, predictor, runtime_manifest
from components.manifests import manifest_resource
from components.secrets import workload_secret
from components.versions import CERT_MANAGER, KEDA, KSERVE, KSERVE_CRD
from components.vllm_deployment import deployment_manifest, scaled_object_manifest, service_manifest

NAMESPACES = {name: name for name in L.SERVING_NAMESPACES if name not in ("keda", L.GATEWAY_NAMESPACE)}
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
    api_key: str | None = None
    """vLLM's API key (a Pulumi secret), into the Secret ``spec.api_key_secret``."""


@dataclass(frozen=True)
class EndpointsArgs:
    endpoints: Sequence[Endpoint]
    depends_on: Sequence[pulumi.Resource] = ()
    plain: bool = False
    """Render vLLM Deployments and Services (``components/vllm_deployment.py``) instead of InferenceServices."""
    exposure: Exposure | None = None
    """How endpoints with an ``external_host`` are reached from outside (``components/endpoint_exposure.py``)."""
    exposure_ready: Sequence[pulumi.Resource] = ()
    """What their routes wait for (the load balancer controller and its class, or the Gateway)."""


class Endpoints(pulumi.ComponentResource):
    """One team's model endpoints."""

    def __init__(self, name: str, args: EndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:Endpoints", name, None, opts)
        for endpoint in args.endpoints:
            spec = endpoint.spec
            at = f"{name}-{spec.name}"
            deps = [*args.depends_on, *self._credentials(at, endpoint, args.depends_on)]
            server: pulumi.Resource
            if args.plain:
                server, workload = self._plain(at, spec, deps), spec.name
            else:
                isvc = inference_service_manifest(spec)
                server = manifest_resource(at, isvc, pulumi.ResourceOptions(parent=self, depends_on=deps))
                workload = predictor(spec.name)
            # The Deployment and its Service (port 80) share the name: ours, or KServe's predictor's.
            scaled = scaled_object_manifest(spec, workload)
            if scaled is not None:
                manifest_resource(
                    f"{at}-scaling", scaled, pulumi.ResourceOptions(parent=self, depends_on=[*deps, server])
                )
            if spec.external_host is not None and args.exposure is not None:
                route = Route(spec.name, spec.namespace, workload, spec.external_host)
                for manifest in route_manifests(route, args.exposure):
                    manifest_resource(
                        f"{at}-{manifest['kind'].lower()}",
                        manifest,
                        pulumi.ResourceOptions(
                            parent=self, depends_on=[*args.depends_on, *args.exposure_ready, server]
                        ),
                    )
        self.register_outputs({})

    def _credentials(self, at: str, endpoint: Endpoint, after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """The endpoint's Secrets (Hugging Face token, API key) and the service account that lists the token."""
        spec = endpoint.spec
        made: list[pulumi.Resource] = []
        if endpoint.hf_token is not None and spec.secret_name:
            made.append(
                workload_secret(
                    f"{at}-secret", spec.secret_name, spec.namespace, {"HF_TOKEN": endpoint.hf_token}, self, after
                )
            )
        if endpoint.api_key is not None and spec.api_key_secret:
            made.append(
                workload_secret(
                    f"{at}-api-key",
                    spec.api_key_secret,
                    spec.namespace,
                    {"VLLM_API_KEY": endpoint.api_key},
                    self,
                    after,
                )
            )
        if endpoint.token_service_account and spec.service_account and spec.secret_name:
            made.append(
                k8s.core.v1.ServiceAccount(
                    f"{at}-sa",
                    metadata={
                        "name": spec.service_account,
                        "namespace": spec.namespace,
                        "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY},
                    },
                    secrets=[{"name": spec.secret_name}],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
                )
            )
        return made

    def _plain(self, at: str, spec: EndpointSpec, deps: list[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        deployment: Any = deployment_manifest(spec)
        scales = scaled_object_manifest(spec, spec.name) is not None
        server = k8s.apps.v1.Deployment(
            at,
            metadata=deployment["metadata"],
            spec=deployment["spec"],
            # With scaling, KEDA owns the replica count.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=deps, ignore_changes=["spec.replicas"] if scales else None
            ),
        )
        service: Any = service_manifest(spec)
        k8s.core.v1.Service(
            at,
            metadata=service["metadata"],
            spec=service["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
        )
        return server
