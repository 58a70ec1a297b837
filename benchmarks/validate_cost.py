"""What validating the rendered objects costs, apart from the plan.

``python -m benchmarks.validate_cost [--cloud existing|aws|gcp|all] [--sizes 10,100] [--schemas DIR] [--repeat 5] [--json]``

For each cloud and size N it plans the generated stack of ``benchmarks/<cloud>_stack.py`` once (the
same stacks as ``plan_scale``), renders its Kubernetes objects (``infra.plan.render.manifests``) and
times ``infra.plan.validate.validate_manifests`` over them: without a CRD schema directory (core objects
only, custom resources counted as not validated) and, with ``--schemas DIR``, against the CRD schemas
there too. *cold* is the first call with empty caches (loading kubernetes-validate's definitions and
compiling each kind's validator); *warm* is the best of ``--repeat`` calls after it, which is what a
second stack in the same process, or a test suite, pays. The plan's own time (one run) is printed for
scale (after a warm-up plan per cloud, so it excludes imports). This is a benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.layers import build
from infra.plan.engine import Capture, run_program
from infra.plan.render import manifests
from infra.plan.validate import clear_caches, validate_manifests
from stacks.loader import parse

CLOUDS = ("existing", "aws", "gcp")


@dataclass
class Row:
    cloud: str
    size: int
    plan_s: float
    """One run of parse + the program under the mock engine, for scale."""
    objects: int
    schemas: str
    """``none`` or the CRD schema directory."""
    validated: int
    invalid: int
    not_validated: int
    cold_ms: float
    warm_ms: float
    warm_ms_per_object: float


def _time(call: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        call()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def _plan(cloud: str, size: int) -> Capture:
    config = parse(importlib.import_module(f"benchmarks.{cloud}_stack").make_raw(size))
    return run_program(lambda: build(config), "bench")


def measure(cloud: str, size: int, schema_dirs: Sequence[Path | None], repeat: int) -> list[Row]:
    start = time.perf_counter()
    capture = _plan(cloud, size)
    plan_s = time.perf_counter() - start
    objects = manifests(capture.registrations)
    rows = []
    for schema_dir in schema_dirs:
        clear_caches()
        cold = _time(lambda: validate_manifests(objects, schema_dir), 1)  # noqa: B023 - called right here
        warm = _time(lambda: validate_manifests(objects, schema_dir), repeat)  # noqa: B023
        report = validate_manifests(objects, schema_dir)
        rows.append(
            Row(
                cloud=cloud,
                size=size,
                plan_s=plan_s,
                objects=len(objects),
                schemas=str(schema_dir) if schema_dir else "none",
                validated=report.validated,
                invalid=report.invalid,
                not_validated=report.not_validated,
                cold_ms=1000 * cold,
                warm_ms=1000 * warm,
                warm_ms_per_object=1000 * warm / max(1, len(objects)),
            )
        )
    return rows


def render_table(rows: Sequence[Row]) -> str:
    headers = ["cloud", "size", "plan s", "objects", "schemas", "validated", "invalid", "not valid.", "cold ms"]
    headers += ["warm ms", "ms/object"]
    cells = [
        [
            r.cloud,
            str(r.size),
            f"{r.plan_s:.2f}",
            str(r.objects),
            "CRDs" if r.schemas != "none" else "none",
            str(r.validated),
            str(r.invalid),
            str(r.not_validated),
            f"{r.cold_ms:.1f}",
            f"{r.warm_ms:.1f}",
            f"{r.warm_ms_per_object:.3f}",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.rjust(w) if i > 0 else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    ]
    for c in cells:
        lines.append(
            "  ".join(v.rjust(w) if i > 0 else v.ljust(w) for i, (v, w) in enumerate(zip(c, widths, strict=True)))
        )
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be integers >= 1, got {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.validate_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud", choices=[*CLOUDS, "all"], default="all", help="which generated stacks (default: all)")
    p.add_argument("--sizes", type=_sizes, default=[10, 100], help="GPU pools per stack (default: 10,100)")
    p.add_argument("--schemas", type=Path, default=None, help="a CRD schema directory: also time validation against it")
    p.add_argument("--repeat", type=int, default=5, help="warm calls per case; best is kept (default: 5)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = p.parse_args(argv)
    schema_dirs: list[Path | None] = [None] if args.schemas is None else [None, args.schemas]
    clouds = list(CLOUDS) if args.cloud == "all" else [args.cloud]
    rows: list[Row] = []
    for cloud in clouds:
        _plan(cloud, 3)  # warm-up: imports and lazy provider SDK modules stay out of "plan s"
        for size in args.sizes:
            print(f"{cloud} {size}: planning, then validating", file=sys.stderr)
            rows += measure(cloud, size, schema_dirs, max(1, args.repeat))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
