"""A workload's credentials as a Kubernetes Secret: the values stay Pulumi secrets end to end."""

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import labels as L


def workload_secret(
    resource_name: str,
    name: pulumi.Input[str],
    namespace: pulumi.Input[str],
    values: Mapping[str, str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.core.v1.Secret:
    """An Opaque Secret of ``values`` (variable -> secret value), sorted so the plan is stable."""
    return k8s.core.v1.Secret(
        resource_name,
        metadata={"name": name, "namespace": namespace, "labels": {L.MANAGED_BY_LABEL: L.MANAGED_BY}},
        type="Opaque",
        string_data=pulumi.Output.secret(dict(sorted(values.items()))),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
