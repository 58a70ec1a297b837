"""How the offline plan scales with stack size, on every cloud, against bare SDK programs.

``python -m benchmarks.plan_scale [--cloud existing|aws|gcp|all] [--sizes 10,100] [--repeat 3] [--json]``

For each cloud and size N it generates a stack config with N GPU node pools
and its teams (``benchmarks/<cloud>_stack.py``: ``existing``, ``aws`` EKS,
``gcp`` GKE), validates it through ``stacks.loader.parse``, then measures in
the same process:

* **ours**: ``parse`` + ``run_program(lambda: build(config))``, the whole
  platform program (config model, components) under the mock engine;
* **bare**: the same cloud and Kubernetes resources with the same inputs,
  registered straight from the raw dict with the plain ``pulumi_kubernetes``
  (and ``pulumi_aws`` / ``pulumi_gcp``) SDK, no components and no config model,
  under the identical mock engine;
* the policy pack over ours' registrations (``run_policies``), once.

Wall time is the best of ``--repeat`` runs (``time.perf_counter``); peak memory
is the ``tracemalloc`` peak of one more, separate run so tracing does not
distort the timings. That traced run also provides the registrations that,
before anything is timed, must match: ours and bare registered the same custom
resources (type/name multiset) with identical inputs (values and secretness),
dependencies, property dependencies, provider, protect and ignoreChanges.
This is a benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import platform
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from infra.layers import build
from infra.plan.engine import Capture, Registration, run_program
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
    """One cloud's generated stack and bare program (``benchmarks/<cloud>_stack.py``)."""

    cloud: str
    make_raw: Callable[[int], dict[str, Any]]
    bare_resources: Callable[[Mapping[str, Any]], dict[str, Any]]


def bench_for(cloud: str) -> Bench:
    """Imported on demand, so an ``existing``-only run never loads pulumi_aws or pulumi_gcp."""
    module = importlib.import_module(f"benchmarks.{cloud}_stack")
    return Bench(cloud, module.make_raw, module.bare_resources)


def ours_program(raw: Mapping[str, Any]) -> Capture:
    """The real platform: validate the raw config, then run ``build`` under the mock engine."""
    config = parse(raw)
    return run_program(lambda: build(config), STACK)


def bare_program(bench: Bench, raw: Mapping[str, Any]) -> Capture:
    return run_program(lambda: bench.bare_resources(raw), STACK)


# ---------------------------------------------------------------- checks and measurements


def _ref(urn: str) -> str:
    """``type::name`` of a URN, the type without its parents' qualification (parents differ by design)."""
    _, type_, name = urn.rsplit("::", 2)
    return f"{type_.rsplit('$', 1)[-1]}::{name}"


def _provider_ref(reference: str) -> str:
    """A provider reference is ``<urn>::<id>``; the id is the same mock id on both sides, keep the URN part."""
    return _ref(reference.rsplit("::", 1)[0]) if reference else ""


def _record(r: Registration) -> str:
    """Everything the engine would diff or order by, as one comparable JSON string."""
    return json.dumps(
        {
            "inputs": r.inputs_revealed(),
            "secret_marked": r.inputs(),
            "dependencies": sorted(_ref(d) for d in r.dependencies),
            "property_dependencies": {k: sorted(_ref(d) for d in v) for k, v in r.property_dependencies.items()},
            "provider": _provider_ref(r.provider),
            "protect": r.protect,
            "ignore_changes": sorted(r.ignore_changes),
        },
        sort_keys=True,
    )


def check_same_resources(ours: Capture, bare: Capture) -> int:
    """Both programs registered the same multiset of custom resources (type, name), each with identical
    inputs (values and secretness), dependencies, property dependencies (by type and name), provider,
    protect and ignoreChanges; return how many. Parents differ by design (components), and component
    resources and the root stack are not compared."""

    def customs(capture: Capture) -> dict[tuple[str, str], list[str]]:
        out: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for r in capture.registrations:
            if r.custom:
                out[(r.type, r.name)].append(_record(r))
        return {key: sorted(records) for key, records in out.items()}

    a, b = customs(ours), customs(bare)
    counts = {key: len(v) for key, v in a.items()}, {key: len(v) for key, v in b.items()}
    if counts[0] != counts[1]:
        only_ours = sorted(key for key in a if counts[0][key] != counts[1].get(key))[:5]
        only_bare = sorted(key for key in b if counts[1][key] != counts[0].get(key))[:5]
        raise SystemExit(
            f"bare program differs from ours: only (or more often) in ours {only_ours}, in bare {only_bare}"
        )
    differ = sorted(key for key in a if a[key] != b[key])
    if differ:
        key = differ[0]
        raise SystemExit(
            f"registrations differ for {len(differ)} resource(s), first {key}:\n ours {a[key]}\n bare {b[key]}"
        )
    return sum(counts[0].values())


def best_time(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
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
    """Custom resources (providers included), checked identical in both programs."""
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


def measure(bench: Bench, size: int, repeat: int, policy_pack: Path | None) -> Row:
    raw = bench.make_raw(size)
    parse(raw)  # a generated config that does not validate is a bug here, not a figure
    label = f"{bench.cloud} {size}"

    def ours() -> Capture:
        return ours_program(raw)

    def bare() -> Capture:
        return bare_program(bench, raw)

    log(f"{label}: peak memory, then check both programs register the same custom resources")
    ours_capture, peak_ours = traced(ours)
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
    log(f"{label}: timing ours and bare (best of {repeat})")
    time_ours = best_time(ours, repeat)
    time_bare = best_time(bare, repeat)
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


def environment(repeat: int, clouds: Sequence[str]) -> dict[str, str | int]:
    from importlib.metadata import version

    env: dict[str, str | int] = {"python": platform.python_version(), "pulumi": version("pulumi")}
    for package in ("pulumi_kubernetes", *(f"pulumi_{c}" for c in clouds if c != "existing")):
        env[package] = version(package)
    env["machine"] = platform.machine()
    env["repeat"] = repeat
    return env


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
    p.add_argument("--repeat", type=int, default=3, help="timed runs per program and size; best is kept (default: 3)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--no-policy", action="store_true", help="skip the policy-pack run")
    p.add_argument("--policy-pack", type=Path, default=ROOT / "policies", help="policy pack directory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repeat = max(1, args.repeat)
    policy_pack = None if args.no_policy else args.policy_pack
    clouds = list(CLOUDS) if args.cloud == "all" else [args.cloud]
    rows: list[Row] = []
    for cloud in clouds:
        bench = bench_for(cloud)
        # Warm up once per cloud (imports, lazy SDK modules, first event loop) so neither
        # program pays that cost in its first timed run.
        warm = bench.make_raw(3)
        ours_program(warm)
        bare_program(bench, warm)
        rows += [measure(bench, size, repeat, policy_pack) for size in args.sizes]
    log("done")
    env = environment(repeat, clouds)
    if args.json:
        print(json.dumps({"environment": env, "results": [asdict(r) for r in rows]}, indent=2))
    else:
        versions = ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("machine", "repeat"))
        print(
            f"plan scale: {versions}, best of {repeat}; resources include the root stack "
            "(ours also its component resources); custom = custom resources checked identical"
        )
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
