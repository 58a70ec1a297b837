"""What the policy pack costs per resource through the analyzer protocol, against a pack with one no-op policy.

``python -m benchmarks.policies [--sizes 100,1000] [--repeat 3] [--json]``

For each size N it plans a generated EKS stack (``benchmarks/aws_stack.py``) with enough pools for about N
resources, then, in the same run and over the same registrations, times ``run_policies`` (the gRPC analyzer
protocol the Pulumi CLI speaks, the pack started as its own process) for the platform's pack and for a pack
of one resource policy that does nothing. Best of ``--repeat``. Per resource is the marginal cost between
the smallest and the largest size (start-up cancels out); the ratio is ours over the no-op pack's.
A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.aws_stack import make_raw
from benchmarks.plan_scale import ours_program
from infra.plan.engine import Registration
from infra.plan.policy_runner import run_policies

ROOT = Path(__file__).resolve().parents[1]
NOOP_PACK = """from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

PolicyPack(
    name="noop",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[ResourceValidationPolicy(name="noop", description="Does nothing.", validate=lambda args, report: None)],
)
"""
NOOP_YAML = "description: One policy that does nothing.\nruntime: python\n"


def registrations_near(target: int) -> list[Registration]:
    """The registrations of the generated stack whose size comes closest to ``target`` resources from above."""
    pools = 1
    while True:
        registrations = ours_program(make_raw(pools)).registrations
        if len(registrations) >= target:
            return list(registrations)
        per_pool = max(1, (len(ours_program(make_raw(pools + 1)).registrations) - len(registrations)))
        pools += max(1, (target - len(registrations)) // per_pool)


def best(pack: Path, registrations: Sequence[Registration], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_policies(registrations, "bench", pack)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="target resource counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        noop = Path(tmp)
        (noop / "__main__.py").write_text(NOOP_PACK)
        (noop / "PulumiPolicy.yaml").write_text(NOOP_YAML)
        for size in sizes:
            registrations = registrations_near(size)
            print(
                f"[{size}] {len(registrations)} resources: timing both packs (best of {args.repeat})", file=sys.stderr
            )
            ours, bare = best(ROOT / "policies", registrations, args.repeat), best(noop, registrations, args.repeat)
            rows.append({"target": size, "resources": len(registrations), "ours_s": ours, "noop_s": bare})
    first, last = rows[0], rows[-1]
    span = last["resources"] - first["resources"]
    marginal = (
        {
            "ours_ms_per_resource": 1000 * (last["ours_s"] - first["ours_s"]) / span,
            "noop_ms_per_resource": 1000 * (last["noop_s"] - first["noop_s"]) / span,
        }
        if span > 0
        else {}
    )
    if args.json:
        print(json.dumps({"rows": rows, "marginal": marginal}, indent=2))
        return 0
    print(f"{'resources':>9} {'ours s':>8} {'no-op s':>8} {'ratio':>6}")
    for row in rows:
        print(
            f"{row['resources']:>9} {row['ours_s']:>8.3f} {row['noop_s']:>8.3f} {row['ours_s'] / row['noop_s']:>6.2f}"
        )
    if marginal:
        ours_ms, noop_ms = marginal["ours_ms_per_resource"], marginal["noop_ms_per_resource"]
        ratio = ours_ms / noop_ms if noop_ms > 0 else float("nan")
        print(
            f"per resource ({first['resources']} -> {last['resources']}): ours {ours_ms:.3f} ms, no-op {noop_ms:.3f} ms, ratio {ratio:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
