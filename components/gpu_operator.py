"""NVIDIA GPU Operator: MIG manager layouts and typed Helm values. Pure data.

The operator reuses the platform's per-pool device-plugin ConfigMap
(``devicePlugin.config``) and gets a second one for the MIG manager
(``migManager.config``, mig-parted format): a node selects its layout with the
``nvidia.com/mig.config`` label. On EKS NVIDIA AMIs the driver and container
toolkit are already installed, so those operands stay off.
"""

from collections.abc import Sequence
from typing import Any

import yaml

from components.device_plugin import DEFAULT_CONFIG, Toleration, tolerations
from components.pool_spec import PoolSpec

MIG_DISABLED = "all-disabled"
MIG_CONFIG_KEY = "config.yaml"


def mig_parted_config(pools: Sequence[PoolSpec]) -> dict[str, Any]:
    """mig-parted's v1 config: one named layout per MIG pool, plus MIG off for every other node."""
    configs: dict[str, Any] = {MIG_DISABLED: [{"devices": "all", "mig-enabled": False}]}
    for pool in sorted(pools, key=lambda p: p.name):
        if pool.sharing.mig is not None:
            configs[pool.mig_config] = [
                {"devices": "all", "mig-enabled": True, "mig-devices": dict(pool.sharing.mig.layout)}
            ]
    return {"version": "v1", "mig-configs": configs}


def mig_config_map_data(pools: Sequence[PoolSpec]) -> dict[str, str]:
    return {MIG_CONFIG_KEY: str(yaml.safe_dump(mig_parted_config(pools), sort_keys=False))}


def mig_strategy(pools: Sequence[PoolSpec]) -> str:
    """The operator's one, cluster-wide MIG strategy (the config checks keep pools consistent)."""
    strategies = {p.sharing.mig.strategy for p in pools if p.sharing.mig is not None}
    return strategies.pop() if len(strategies) == 1 else "single" if not strategies else "mixed"


def helm_values(
    pools: Sequence[PoolSpec],
    device_plugin_config_map: str,
    mig_config_map: str,
    *,
    driver: bool,
    toolkit: bool,
    dcgm: bool,
    service_monitor: bool,
    mig_reboot: bool = False,
    mofed: bool | None = None,
) -> dict[str, Any]:
    """The subset of the chart's values the platform sets (paths checked against the chart's values.yaml).

    ``mig_reboot``: the MIG manager reboots a node to change MIG mode (cloud VMs such as EKS AL2023
    nodes cannot reset the GPU otherwise). ``mofed``: the device plugin's MOFED support, off on EFA nodes.
    """
    daemonset_tolerations: list[Toleration] = tolerations(pools)
    device_plugin: dict[str, Any] = {
        "config": {"create": False, "name": device_plugin_config_map, "default": DEFAULT_CONFIG}
    }
    if mofed is not None:
        device_plugin["env"] = [{"name": "MOFED_ENABLED", "value": str(mofed).lower()}]
    mig_manager: dict[str, Any] = {
        "enabled": any(p.sharing.mig is not None for p in pools),
        "config": {"create": False, "name": mig_config_map, "default": MIG_DISABLED},
    }
    if mig_reboot:
        mig_manager["env"] = [{"name": "WITH_REBOOT", "value": "true"}]
    return {
        "driver": {"enabled": driver},
        "toolkit": {"enabled": toolkit},
        "devicePlugin": device_plugin,
        "mig": {"strategy": mig_strategy(pools)},
        "migManager": mig_manager,
        "dcgmExporter": {"enabled": dcgm, "serviceMonitor": {"enabled": service_monitor}},
        "gfd": {"enabled": True},
        "nfd": {"enabled": True},
        "daemonsets": {"tolerations": daemonset_tolerations},
    }
