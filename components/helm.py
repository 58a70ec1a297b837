"""One way to install a pinned chart: atomic, bounded history, a timeout long enough for nodes to come up."""

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.versions import ChartPin

TIMEOUT_S = 900
"""Helm's 300 s default is shorter than a node group takes to bring up the nodes a release waits for;
with ``atomic`` a release that times out is rolled back, so the wait must cover real start-up."""


def release(
    resource_name: str,
    release_name: str,
    pin: ChartPin,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name,
            chart=pin.chart,
            version=pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo) if pin.repo else None,
            namespace=namespace,
            values=dict(values),
            # Roll back a failed install or upgrade instead of leaving a half-applied release.
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=TIMEOUT_S,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
