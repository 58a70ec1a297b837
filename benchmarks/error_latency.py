"""How long a user waits for a config error: ``python -m infra.plan`` on bad input, start to exit.

    .venv/bin/python -m benchmarks.error_latency [--repeat 5] [--json]

Each case runs the CLI in a fresh interpreter (``subprocess``), as a user would, so the figure includes
Python's start-up and every import up to the answer. Stack config and policy config are both checked
before the Pulumi runtime, a provider SDK or the policy pack loads; the issue's budget is 1 s for each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 1.0

BAD_STACK = "config:\n  gpu-platform:cloud: azure\n  gpu-platform:nodePools:\n    - name: x\n      maxNode: 2\n"
GOOD_STACK = (ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text(encoding="utf-8")
BAD_POLICY = json.dumps({"gpu-cloud-quota": {"quotas": {"aws": {"us-east-1": {"L-DB2E81BB": 64}}}}})


def cases(tmp: Path) -> dict[str, list[str]]:
    (tmp / "Pulumi.bad.yaml").write_text(BAD_STACK)
    (tmp / "Pulumi.good.yaml").write_text(GOOD_STACK)
    (tmp / "policy.json").write_text(BAD_POLICY)
    return {
        "bad stack config": ["--config", str(tmp / "Pulumi.bad.yaml")],
        "bad policy config (valid stack)": [
            "--config",
            str(tmp / "Pulumi.good.yaml"),
            "--policy-config",
            str(tmp / "policy.json"),
        ],
        "both bad": ["--config", str(tmp / "Pulumi.bad.yaml"), "--policy-config", str(tmp / "policy.json")],
        "bad command line": ["--stack", "a/b"],
    }


def measure(argv: list[str], repeat: int) -> tuple[float, float, int]:
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "infra.plan", *argv], cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - start)
        code = result.returncode
    return min(times), statistics.median(times), code


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.error_latency")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in cases(Path(tmp)).items():
            best, median, code = measure(argv, args.repeat)
            rows.append({"case": name, "exit": code, "best_s": round(best, 3), "median_s": round(median, 3)})
    if args.json:
        print(json.dumps({"budget_s": BUDGET_S, "rows": rows}, indent=2))
        return 0
    print(
        f"error latency: python -m infra.plan in a fresh interpreter, best and median of {args.repeat}; budget {BUDGET_S} s"
    )
    print(f"{'case':<34}{'exit':>5}{'best s':>9}{'median s':>10}  within budget")
    for r in rows:
        ok = "yes" if r["median_s"] <= BUDGET_S else "NO"
        print(f"{r['case']:<34}{r['exit']:>5}{r['best_s']:>9.3f}{r['median_s']:>10.3f}  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
