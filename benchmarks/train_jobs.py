"""Plan cost of training jobs: per job, at 10 and 100 jobs, against the same resources registered bare.

``python -m benchmarks.train_jobs [--sizes 10,100] [--repeat 5] [--json]``

The stack is an ``existing`` cluster with four pools (one time-sliced, one MIG-free multi-GPU), eight teams
and Kubeflow Trainer with its three runtimes; size N adds N training jobs spread over teams, pools and
runtimes, every third with a Hugging Face token (a Kubernetes Secret), every fourth with its own restart
policy (its own TrainingRuntime), and checkpoints on the teams' volumes. For each size it measures, as
``plan_scale`` does, ours (``parse`` + ``build`` under the mock engine) and bare (ours' custom resources
registered again with the SDKs' typed classes, ``benchmarks/replay.py``), checks both registered the same
resources, and reports the best times, their ratio, and the cost per job: the time over the same stack
without jobs, divided by N. A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.plan_scale import bare_program, best_times, log, ours_program
from benchmarks.replay import check_same_resources, plan
from stacks.loader import parse

POOLS = [
    {"name": "l4", "gpu": "l4", "gpusPerNode": 1, "maxNodes": 8},
    {
        "name": "l4-shared",
        "gpu": "l4",
        "gpusPerNode": 1,
        "maxNodes": 4,
        "sharing": {"mode": "time-slicing", "replicas": 4},
    },
    {"name": "a10g", "gpu": "a10g", "gpusPerNode": 4, "maxNodes": 4},
    {"name": "h100", "gpu": "h100", "gpusPerNode": 8, "maxNodes": 4},
]
TEAMS = 8
RUNTIMES = ["torch-distributed", "deepspeed-distributed", "jax-distributed"]


def make_raw(jobs: int) -> dict[str, Any]:
    pools = [dict(p) for p in POOLS]
    teams = [
        {"name": f"team-{t}", "gpuQuota": {"l4": 1, "l4-shared": 2, "a10g": 2, "h100": 4}, "canBorrow": t % 2 == 0}
        for t in range(TEAMS)
    ]
    out = []
    for i in range(jobs):
        pool = pools[i % len(pools)]
        per_node = pool["gpusPerNode"] if pool["name"] != "l4-shared" else 1
        job: dict[str, Any] = {
            "name": f"job-{i:04d}",
            "team": f"team-{i % TEAMS}",
            "runtime": RUNTIMES[i % len(RUNTIMES)],
            "image": "nvcr.io/nvidia/pytorch:25.10-py3",
            "command": ["torchrun"],
            "args": ["/workspace/train.py", "--step", str(i)],
            "nodes": 1,
            "gpusPerNode": 1 if per_node == 1 else min(per_node, 2),
            "pool": pool["name"],
            "env": {"STEP": str(i)},
            "checkpoint": True,
        }
        if i % 3 == 0:
            job["hfToken"] = f"hf_token_{i}"
        if i % 4 == 0:
            job["runPolicy"] = {"maxRestarts": 1}
        out.append(job)
    return {
        "cloud": "existing",
        "cluster": {"name": "bench", "context": "bench"},
        "nodePools": pools,
        "gpuSoftware": {"devicePlugin": {"enabled": True}, "dcgm": {"enabled": True}},
        "teams": teams,
        "queues": {"enabled": True},
        "training": {"enabled": True, "runtimes": RUNTIMES, "jobs": out},
        "storage": {"enabled": True, "sizeGiB": 100},
    }


def measure(jobs: int, repeat: int) -> dict[str, Any]:
    return measure_raw(make_raw, jobs, repeat)


def measure_raw(make: Callable[[int], dict[str, Any]], jobs: int, repeat: int) -> dict[str, Any]:
    """Ours and bare for the stack ``make(jobs)``, and the cost per workload over ``make(0)``."""
    raw, base = make(jobs), make(0)
    parse(raw)  # a generated config that does not validate is a bug here, not a figure
    ours_capture = ours_program(raw)
    steps = plan(ours_capture)
    custom = check_same_resources(ours_capture, bare_program(steps))
    base_steps = plan(ours_program(base))
    log(f"{jobs} workloads: timing ours and bare, with and without the jobs (best of {repeat})")
    ours, bare, ours0, bare0 = best_times(
        [
            lambda: ours_program(raw),
            lambda: bare_program(steps),
            lambda: ours_program(base),
            lambda: bare_program(base_steps),
        ],
        repeat,
    )
    return {
        "jobs": jobs,
        "resources_ours": len(ours_capture.registrations),
        "custom_resources": custom,
        "time_ours_s": ours,
        "time_bare_s": bare,
        "time_ratio": ours / bare,
        "ms_per_job_ours": (ours - ours0) / jobs * 1000,
        "ms_per_job_bare": (bare - bare0) / jobs * 1000,
        "per_job_ratio": (ours - ours0) / max(bare - bare0, 1e-9),
    }


def render(rows: Sequence[dict[str, Any]], what: str = "jobs") -> str:
    head = f"{what:>9} {'resources':>9} {'ours s':>8} {'bare s':>8} {'ratio':>6} {'ms/each ours':>12} {'ms/each bare':>12} {'ratio/each':>10}"
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['jobs']:>9} {r['resources_ours']:>9} {r['time_ours_s']:>8.3f} {r['time_bare_s']:>8.3f} "
            f"{r['time_ratio']:>6.2f} {r['ms_per_job_ours']:>12.2f} {r['ms_per_job_bare']:>12.2f} {r['per_job_ratio']:>10.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [measure(int(n), args.repeat) for n in args.sizes.split(",")]
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
