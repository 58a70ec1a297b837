"""Plan cost of model endpoints: per endpoint, at 10 and 100 endpoints, against the same resources registered bare.

``python -m benchmarks.endpoints [--sizes 10,100] [--repeat 5] [--json]``

The stack is an ``existing`` cluster with four pools (one time-sliced), eight teams and the serving stack;
size N adds N endpoints spread over teams and pools, every third with a Hugging Face token (a Secret and a
service account), every second scaling on vLLM's load through KEDA, every fifth with a schedule of minimum
replicas (the platform's own ScaledObject), every fourth with an API key (a Secret). Measured as ``benchmarks.train_jobs``
measures jobs (the same helpers): ours (``parse`` + ``build``) and bare (``benchmarks/replay.py``), checked
identical first, best times, their ratio, and the cost per endpoint over the same stack without endpoints.
A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks.train_jobs import POOLS, TEAMS, measure_raw, render


def make_raw(endpoints: int) -> dict[str, Any]:
    pools = [dict(p) for p in POOLS]
    teams = [
        {"name": f"team-{t}", "gpuQuota": {"l4": 8, "l4-shared": 16, "a10g": 16, "h100": 32}, "canBorrow": True}
        for t in range(TEAMS)
    ]
    out = []
    for i in range(endpoints):
        pool = pools[i % len(pools)]
        shared = pool["name"] == "l4-shared"
        endpoint: dict[str, Any] = {
            "name": f"model-{i:04d}",
            "team": f"team-{i % TEAMS}",
            "model": f"hf://org/model-{i}",
            "pool": pool["name"],
            "gpusPerReplica": 1,
            "maxModelLen": 4096,
        }
        if shared:
            endpoint["gpuMemoryUtilization"] = 0.2
        if i % 3 == 0:
            endpoint["hfToken"] = f"hf_token_{i}"
        if i % 2 == 0:
            endpoint.update(maxReplicas=2, scaling={"metric": "requests-waiting", "target": 5})
        if i % 5 == 0:
            endpoint.update(maxReplicas=2, schedule=[{"minReplicas": 2, "start": "08:00", "end": "20:00"}])
        if i % 4 == 0:
            endpoint["apiKey"] = f"key-{i}"
        out.append(endpoint)
    return {
        "cloud": "existing",
        "cluster": {"name": "bench", "context": "bench"},
        "nodePools": pools,
        "gpuSoftware": {"devicePlugin": {"enabled": True}, "dcgm": {"enabled": True}},
        "teams": teams,
        "queues": {"enabled": True, "allowOvercommit": True},
        "serving": {"enabled": True, "prometheus": "http://prometheus.monitoring.svc:9090", "endpoints": out},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [measure_raw(make_raw, int(n), args.repeat) for n in args.sizes.split(",")]
    print(json.dumps(rows, indent=2) if args.json else render(rows, "endpoints"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
