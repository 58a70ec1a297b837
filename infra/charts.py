"""Which pinned charts a stack installs, decided from its config alone (before anything is built).

The GKE builder opens the ports the API server calls on exactly these charts' pods
(webhooks, aggregated APIs) to its control plane; ``infra/layers.py`` installs them.
"""

from components.versions import CERT_MANAGER, KEDA, KSERVE, KUBEFLOW_TRAINER, KUEUE, ChartPin
from stacks.model import PlatformConfig


def apiserver_charts(config: PlatformConfig) -> list[ChartPin]:
    """Installed charts with webhooks or aggregated APIs the API server must reach."""
    charts = [KUEUE] if config.queues.enabled and config.teams else []
    if config.training.enabled:
        charts.append(KUBEFLOW_TRAINER)
    kserve = config.serving.enabled and config.serving.mode.value == "kserve"
    scaling = config.serving.enabled and any(e.scaling or e.schedule for e in config.serving.endpoints)
    if kserve:
        charts += [CERT_MANAGER, KSERVE]
    if kserve or scaling or any(p.warm for p in config.node_pools):
        charts.append(KEDA)
    return [c for c in charts if c.apiserver_ports]


def apiserver_ports(config: PlatformConfig) -> tuple[int, ...]:
    return tuple(sorted({port for chart in apiserver_charts(config) for port in chart.apiserver_ports}))
