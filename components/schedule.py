"""Weekly windows as cron expressions (KEDA's cron scaler: minute hour day-of-month month day-of-week). Pure."""

from collections.abc import Sequence
from dataclasses import dataclass

DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0}


@dataclass(frozen=True)
class Window:
    count: int
    """Replicas (or nodes) during the window."""
    days: tuple[str, ...]
    start: str
    """``HH:MM``."""
    end: str
    timezone: str


def cron(time: str, days: Sequence[str]) -> str:
    hour, minute = (int(part) for part in time.split(":"))
    return f"{minute} {hour} * * {','.join(str(DAYS[d]) for d in days)}"


def cron_trigger(w: Window) -> dict[str, object]:
    """A KEDA cron trigger keeping ``w.count`` replicas during the window."""
    return {
        "type": "cron",
        "metadata": {
            "timezone": w.timezone,
            "start": cron(w.start, w.days),
            "end": cron(w.end, w.days),
            "desiredReplicas": str(w.count),
        },
    }
