"""What the three benchmark stacks share: the generated teams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def make_teams(pools: Sequence[Mapping[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` teams spread over the pools: team j has its own namespace, a quota of 1 on pool
    j * (N / count), and may borrow when j is even."""
    step = max(1, len(pools) // count)
    return [
        {
            "name": f"team{j:04d}",
            "namespace": f"ns-team{j:04d}",
            "gpuQuota": {pools[(j * step) % len(pools)]["name"]: 1},
            "canBorrow": j % 2 == 0,
        }
        for j in range(count)
    ]
