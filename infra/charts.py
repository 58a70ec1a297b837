"""Which pinned charts a stack installs, decided from its config alone (before anything is built).

The GKE builder opens the webhook ports of exactly these charts to its control
plane; the composition in ``infra/layers.py`` installs them.
"""

from components.versions import KUEUE, ChartPin
from stacks.model import PlatformConfig


def webhook_charts(config: PlatformConfig) -> list[ChartPin]:
    """Installed charts that run admission webhooks the API server must reach."""
    charts = [KUEUE] if config.queues.enabled and config.teams else []
    return [c for c in charts if c.webhook_ports]


def webhook_ports(config: PlatformConfig) -> tuple[int, ...]:
    return tuple(sorted({port for chart in webhook_charts(config) for port in chart.webhook_ports}))
