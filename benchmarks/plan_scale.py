"""How the offline plan scales with stack size, on every cloud, against the same resources registered bare.

``python -m benchmarks.plan_scale [--cloud existing|aws|gcp|all] [--sizes 10,100] [--repeat 5] [--json]``

For each cloud and size N it generates a stack config with N GPU node pools
and its teams (``benchmarks/<cloud>_stack.py``: ``existing``, ``aws`` EKS,
``gcp`` GKE), validates it through ``stacks.loader.parse``, then measures in
the same process:

* **ours**: ``parse`` + ``run_program(lambda: build(config))``, the whole
  platform program (config model, components) under the mock engine;
* **bare**: the floor, derived from ours' own plan (``benchmarks/replay.py``):
  every custom resource ours registered, registered again under the identical
  mock engine with the provider SDK's typed class for its type token, the same
  name, inputs, options, provider and dependencies; no components, no config
  model;
* the policy pack over ours' registrations (``run_policies``), once.

Wall time is the best of ``--repeat`` runs (``time.perf_counter``); peak memory
is the ``tracemalloc`` peak of one more, separate run so tracing does not
distort the timings. That traced run also provides the registrations that,
before anything is timed, must match: ours and bare registered the same custom
resources (type, name) with identical inputs (values and secretness; places
unknown in ours ignored), dependencies, property dependencies, provider,
protect, retainOnDelete and ignoreChanges.
This is a benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.replay import Step, check_same_resources, plan, replay
from infra.layers import build
from infra.plan.engine import Capture, run_program
from infra.plan.policy_runner import run_policies
from stacks.loader import parse

ROOT = Path(__file__).resolve().parents[1]
STACK = "bench"
MIB = 1024 * 1024
CLOUDS = ("existing", "aws", "gcp")
DEFAULT_SIZES = [10, 100]
"""Sizes when ``--sizes`` is not given. On 2 cores a 1000-pool stack takes about 5 minutes on aws, 8 on
gcp and well over 10 on existing (its queues grow with pools x teams), mostly in the two traced
peak-memory runs: too slow for the default run. Ask for it with ``--cloud aws --sizes 1000``."""
T = TypeVar("T")

# ---------------------------------------------------------------- the two programs


@dataclass(frozen=True)
class Bench:
    """One cloud's generated stack (``benchmarks/<cloud>_stack.py``)."""

    cloud: str
    make_raw: Callable[[int], dict[str, Any]]


def bench_for(cloud: str) -> Bench:
    return Bench(cloud, importlib.import_module(f"benchmarks.{cloud}_stack").make_raw)


def ours_program(raw: Mapping[str, Any]) -> Capture:
    """The real platform: validate the raw config, then run ``build`` under the mock engine."""
    config = parse(raw)
    return run_program(lambda: build(config), STACK)


def bare_program(steps: Sequence[Step]) -> Capture:
    """Ours' custom resources registered again with the bare SDKs (``benchmarks/replay.py``)."""
    return run_program(lambda: replay(steps), STACK)


# ---------------------------------------------------------------- measurements


def best_times(runs: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Each run's best wall time over ``repeat`` rounds. The runs alternate within a round, so a slow spell
    of the machine (another process, a noisy neighbour) slows both programs rather than one of them, and
    their order flips every round: on the reference machine the first run of a pair was measurably slower
    (up to 15 %), whichever program it was."""
    best = [float("inf")] * len(runs)
    for round_ in range(repeat):
        order = list(range(len(runs)))
        if round_ % 2:
            order.reverse()
        for i in order:
            gc.collect()
            # Everything alive now (imported SDK modules, the other program's inputs) is set aside:
            # otherwise each full collection rescans ~10^5 long-lived objects, and which program happens
            # to trigger it is luck, not cost.
            gc.freeze()
            start = time.perf_counter()
            runs[i]()
            best[i] = min(best[i], time.perf_counter() - start)
            gc.unfreeze()
    return best


def traced(run: Callable[[], T]) -> tuple[T, float]:
    """``run``'s result and its ``tracemalloc`` peak in MiB (objects allocated before it do not count)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / MIB


@dataclass
class Row:
    cloud: str
    size: int
    teams: int
    resources_ours: int
    """Every registration, the root stack and component resources included."""
    resources_bare: int
    custom_resources: int
    """Custom resources (providers included), checked identical in both programs; bare registers only these."""
    time_ours_s: float
    time_bare_s: float
    time_ratio: float
    peak_ours_mib: float
    peak_bare_mib: float
    peak_ratio: float
    policy_s: float | None
    policy_violations: int | None
    """Violations at any level (on aws/gcp mostly advisory gpu-cloud-quota-unknown: no quotas are configured)."""
    ms_per_resource: float
    """Ours' best time per registered resource."""


SMALL = 100
"""Stacks below this many pools run ``SMALL_ROUNDS`` times ``--repeat`` timed rounds."""
SMALL_ROUNDS = 4


def measure(bench: Bench, size: int, repeat: int, policy_pack: Path | None) -> Row:
    raw = bench.make_raw(size)
    parse(raw)  # a generated config that does not validate is a bug here, not a figure
    label = f"{bench.cloud} {size}"

    def ours() -> Capture:
        return ours_program(raw)

    log(f"{label}: peak memory of ours, then of the bare replay of its custom resources, then check them")
    ours_capture, peak_ours = traced(ours)
    steps = plan(ours_capture)

    def bare() -> Capture:
        return bare_program(steps)

    bare_capture, peak_bare = traced(bare)
    custom_resources = check_same_resources(ours_capture, bare_capture)
    resources_ours, resources_bare = len(ours_capture.registrations), len(bare_capture.registrations)
    policy_s: float | None = None
    violations: int | None = None
    if policy_pack is not None:
        log(f"{label}: policy pack over {resources_ours} registrations")
        start = time.perf_counter()
        policy_run = run_policies(ours_capture.registrations, STACK, policy_pack)
        policy_s = time.perf_counter() - start
        violations = len(policy_run.violations)
    # Neither program's timed runs should pay for garbage collecting the other's captures.
    del ours_capture, bare_capture
    # A run of a small stack lasts a fraction of a second, where a scheduler hiccup is a large share:
    # small stacks get more rounds (cheap) so their best times, and the ratio, are not noise.
    rounds = repeat if size >= SMALL else repeat * SMALL_ROUNDS
    log(f"{label}: timing ours and bare, alternating (best of {rounds})")
    time_ours, time_bare = best_times([ours, bare], rounds)
    return Row(
        cloud=bench.cloud,
        size=size,
        teams=len(raw["teams"]),
        resources_ours=resources_ours,
        resources_bare=resources_bare,
        custom_resources=custom_resources,
        time_ours_s=time_ours,
        time_bare_s=time_bare,
        time_ratio=time_ours / time_bare,
        peak_ours_mib=peak_ours,
        peak_bare_mib=peak_bare,
        peak_ratio=peak_ours / peak_bare,
        policy_s=policy_s,
        policy_violations=violations,
        ms_per_resource=1000 * time_ours / resources_ours,
    )


# ---------------------------------------------------------------- output


def render_table(rows: Sequence[Row]) -> str:
    header = (
        "cloud",
        "size",
        "resources ours/bare",
        "custom",
        "time ours s",
        "time bare s",
        "time ratio",
        "peak ours MiB",
        "peak bare MiB",
        "peak ratio",
        "policy s",
        "ms/resource",
    )
    body = [
        (
            r.cloud,
            str(r.size),
            f"{r.resources_ours}/{r.resources_bare}",
            str(r.custom_resources),
            f"{r.time_ours_s:.3f}",
            f"{r.time_bare_s:.3f}",
            f"{r.time_ratio:.2f}",
            f"{r.peak_ours_mib:.1f}",
            f"{r.peak_bare_mib:.1f}",
            f"{r.peak_ratio:.2f}",
            "-" if r.policy_s is None else f"{r.policy_s:.2f}",
            f"{r.ms_per_resource:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )

    lines = [line(row) for row in (header, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def environment(repeat: int, clouds: Sequence[str]) -> dict[str, str | int | float]:
    from importlib.metadata import version

    env: dict[str, str | int | float] = {"python": platform.python_version(), "pulumi": version("pulumi")}
    for package in ("pulumi_kubernetes", *(f"pulumi_{c}" for c in clouds if c != "existing")):
        env[package] = version(package)
    env["machine"] = platform.machine()
    env["cpus"] = os.cpu_count() or 0
    # About 1 from this benchmark alone; well above that, other processes shared the CPUs and times are noisy.
    env["load_average_1m"] = round(os.getloadavg()[0], 2)
    env["repeat"] = repeat
    return env


def busy_cpus(seconds: float = 0.5) -> float | None:
    """How many CPUs other processes keep busy right now (Linux ``/proc/stat``), or None where unknown."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return (1 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be integers >= 1, got {text!r}")
    return sizes


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.plan_scale", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--cloud", choices=[*CLOUDS, "all"], default="all", help="which generated stacks to plan (default: all)"
    )
    defaults = ",".join(map(str, DEFAULT_SIZES))
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        help=f"node pools per stack, on every cloud (default: {defaults})",
    )
    p.add_argument("--repeat", type=int, default=5, help="timed runs per program and size; best is kept (default: 5)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--no-policy", action="store_true", help="skip the policy-pack run")
    p.add_argument("--policy-pack", type=Path, default=ROOT / "policies", help="policy pack directory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repeat = max(1, args.repeat)
    policy_pack = None if args.no_policy else args.policy_pack
    clouds = list(CLOUDS) if args.cloud == "all" else [args.cloud]
    busy = busy_cpus()
    if busy is not None and busy > 0.3:
        log(f"{busy:.1f} CPUs busy before starting: other processes share the machine, so times will be noisy")
    rows: list[Row] = []
    for cloud in clouds:
        bench = bench_for(cloud)
        # Warm up once per cloud (imports, lazy SDK modules, first event loop) so neither
        # program pays that cost in its first timed run.
        bare_program(plan(ours_program(bench.make_raw(3))))
        rows += [measure(bench, size, repeat, policy_pack) for size in args.sizes]
    log("done")
    env = environment(repeat, clouds)
    if args.json:
        print(json.dumps({"environment": env, "results": [asdict(r) for r in rows]}, indent=2))
    else:
        versions = ", ".join(
            f"{k} {v}" for k, v in env.items() if k not in ("machine", "cpus", "load_average_1m", "repeat")
        )
        print(
            f"plan scale: {versions}, best of {repeat}, load average {env['load_average_1m']} at the end; "
            "resources include the root stack "
            "(ours also its component resources); custom = custom resources checked identical"
        )
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
