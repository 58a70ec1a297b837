"""Checkpoint volumes on existing clusters: see ``components/model_storage.py``."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import labels as L
from components.model_storage import (
    CLAIM_NAME,
    _check_teams,
    team_prefix,
)
from components.team import TEAM_LABEL

# ------------------------------------------------------------------------------------------- existing


@dataclass(frozen=True)
class PvcModelStorageArgs:
    size_gib: int
    """Requested size of each team's claim, GiB."""
    teams: tuple[tuple[str, str], ...] = ()
    """``(team, namespace)`` per team; the namespaces must exist (TeamSpace creates them)."""
    storage_class: str | None = None
    """StorageClass name; ``None`` uses the cluster's default class. It must support the access modes, and
    should have ``reclaimPolicy: Retain`` (see ``PvcModelStorage``)."""
    access_modes: tuple[str, ...] = ("ReadWriteMany",)
    """Default ``ReadWriteMany``: a multi-node job mounts the claim on every node at once."""


class PvcModelStorage(pulumi.ComponentResource):
    """A protected ``checkpoints`` PersistentVolumeClaim in each team's namespace.

    ``protect``/``retain_on_delete`` guard the claim against Pulumi only. Deleting the team's namespace
    (e.g. removing the team from the config) deletes the claim with it, and a dynamically provisioned
    volume follows its claim unless its StorageClass says ``reclaimPolicy: Retain``; use such a class.
    """

    location: pulumi.Output[str]
    """``pvc://checkpoints``: mount claim ``checkpoints`` of the job's own namespace."""
    claims: dict[str, pulumi.Output[str]]
    """Per team: ``<namespace>/checkpoints``."""

    def __init__(self, name: str, args: PvcModelStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Validated before registering anything: a bad entry must not leave a half-built component.
        _check_teams(args.teams, "PvcModelStorageArgs")
        if args.size_gib < 1 or not args.access_modes:
            raise ValueError(
                f"PvcModelStorageArgs: size_gib {args.size_gib!r} must be >= 1 and access_modes "
                f"{args.access_modes!r} non-empty"
            )
        super().__init__("gpu-platform:index:PvcModelStorage", name, None, opts)
        self.location = pulumi.Output.from_input(f"pvc://{CLAIM_NAME}")
        self.claims = {}
        for team, namespace in args.teams:
            spec: k8s.core.v1.PersistentVolumeClaimSpecArgsDict = {
                "access_modes": list(args.access_modes),
                "resources": {"requests": {"storage": f"{args.size_gib}Gi"}},
            }
            if args.storage_class is not None:
                spec["storage_class_name"] = args.storage_class
            metadata: k8s.meta.v1.ObjectMetaArgsDict = {
                "name": CLAIM_NAME,
                "namespace": namespace,
                "labels": {TEAM_LABEL: team, L.MANAGED_BY_LABEL: L.MANAGED_BY},
            }
            claim = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-{team}",
                metadata=metadata,
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
            )
            self.claims[team] = pulumi.Output.concat(claim.metadata.namespace, "/", claim.metadata.name)
        self.register_outputs({"location": self.location})

    def prefix(self, team: str) -> str:
        return team_prefix(team)
