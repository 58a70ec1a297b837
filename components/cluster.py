"""Access to an existing Kubernetes cluster (kind, k3d, on-prem, a managed cluster made elsewhere)."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class ExistingClusterArgs:
    name: str
    """Cluster name, used in outputs only."""
    context: str | None = None
    """kubeconfig context; ``None`` uses the file's current context."""
    kubeconfig_path: str | None = None
    """kubeconfig file; ``None`` lets the provider use ``$KUBECONFIG`` or ``~/.kube/config``."""
    kubeconfig: str | None = None
    """Inline kubeconfig contents; wrapped as a Pulumi secret."""


class ExistingCluster(pulumi.ComponentResource):
    """An explicit ``kubernetes.Provider`` for a cluster the platform does not create.

    Every Kubernetes resource of the platform uses ``provider``: the ambient
    kubeconfig is never picked up by accident.
    """

    provider: k8s.Provider
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str] | None

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:ExistingCluster", name, None, opts)
        self.kubeconfig = pulumi.Output.secret(args.kubeconfig) if args.kubeconfig is not None else None
        source: pulumi.Input[str] | None = self.kubeconfig if self.kubeconfig is not None else args.kubeconfig_path
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=source, context=args.context, enable_server_side_apply=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_name = pulumi.Output.from_input(args.name)
        self.register_outputs({"clusterName": self.cluster_name})
