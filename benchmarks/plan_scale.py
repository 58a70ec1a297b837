"""How the offline plan scales with stack size, against a bare pulumi_kubernetes program.

``python -m benchmarks.plan_scale [--sizes 10,100,1000] [--repeat 3] [--json]``

For each size N it generates a stack config with N GPU node pools (one node
each, so N ``NodePatch`` resources) and max(1, N/10) teams, validates it through
``stacks.loader.parse``, then measures in the same process:

* **ours**: ``parse`` + ``run_program(lambda: build(config))``, the whole
  platform program (config model, components) under the mock engine;
* **bare**: the same Kubernetes resources with the same inputs, registered
  straight from the raw dict with the plain ``pulumi_kubernetes`` SDK (no
  components, no config model) under the identical mock engine;
* the policy pack over ours' registrations (``run_policies``), once.

Wall time is the best of ``--repeat`` runs (``time.perf_counter``); peak memory
is the ``tracemalloc`` peak of one more, separate run so tracing does not
distort the timings. Before timing, each size checks that ours and bare
registered the same Kubernetes resources with identical inputs,
dependencies and provider.
This is a benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import labels as L
from components.catalog import GPUS
from components.versions import FAKE_GPU_OPERATOR, NVIDIA_DEVICE_PLUGIN
from infra.layers import build
from infra.plan.engine import Capture, run_program
from infra.plan.policy_runner import run_policies
from stacks.loader import parse

ROOT = Path(__file__).resolve().parents[1]
STACK = "bench"
CLUSTER = "bench"
CONTEXT = "kind-bench"
GPU_NAMESPACE = "gpu-operator"
GPU_CYCLE = ("l4", "t4", "a10g", "h100")
TEAM_LABEL = "gpu-platform.io/team"
MIB = 1024 * 1024

# ---------------------------------------------------------------- generated stack config


def make_raw(size: int) -> dict[str, Any]:
    """A stack config (the ``gpu-platform:`` keys, prefix removed) with ``size`` GPU node pools.

    Pool i: GPU cycling over ``GPU_CYCLE``, 1..8 GPUs per node, one named node,
    time-slicing x4 when i % 3 == 0, simulated (fake GPUs) when i % 3 == 1, so
    both Helm releases' values and the device-plugin ConfigMap grow with N.
    """
    pools: list[dict[str, Any]] = []
    for i in range(size):
        pool: dict[str, Any] = {
            "name": f"pool-{i:04d}",
            "gpu": GPU_CYCLE[i % len(GPU_CYCLE)],
            "gpusPerNode": i % 8 + 1,
            "minNodes": 0,
            "maxNodes": 1 + i % 3,
            "nodes": [f"node-{i:04d}"],
        }
        if i % 3 == 0:
            pool["sharing"] = {"mode": "time-slicing", "replicas": 4}
        elif i % 3 == 1:
            pool["simulated"] = True
        pools.append(pool)
    teams = [
        {
            "name": f"team{j:04d}",
            "namespace": f"ns-team{j:04d}",
            "gpuQuota": {pools[(j * 10) % size]["name"]: 1},
            "canBorrow": j % 2 == 0,
        }
        for j in range(max(1, size // 10))
    ]
    return {
        "cloud": "existing",
        "cluster": {"name": CLUSTER, "context": CONTEXT},
        "nodePools": pools,
        "gpuSoftware": {"namespace": GPU_NAMESPACE, "devicePlugin": {"enabled": True}, "fakeGpus": {"enabled": True}},
        "teams": teams,
    }


# ---------------------------------------------------------------- the two programs


def ours_program(raw: Mapping[str, Any]) -> Capture:
    """The real platform: validate the raw config, then run ``build`` under the mock engine."""
    config = parse(raw)
    return run_program(lambda: build(config), STACK)


def _dump(document: dict[str, Any]) -> str:
    return str(yaml.safe_dump(document, sort_keys=False))


def bare_resources(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Register the same Kubernetes resources by hand, straight from the raw dict.

    Uses only the plain SDK plus pure-data constants (label keys, chart pins,
    GPU product names); no ComponentResource and no config model.
    """
    pools: list[Mapping[str, Any]] = raw["nodePools"]
    software = raw["gpuSoftware"]
    provider = k8s.Provider(
        f"{raw['cluster']['name']}-k8s", context=raw["cluster"]["context"], enable_server_side_apply=True
    )
    opts = pulumi.ResourceOptions(provider=provider)

    gpu_taint = k8s.core.v1.TaintPatchArgs(key=L.GPU_TAINT_KEY, value=L.GPU_TAINT_VALUE, effect=L.GPU_TAINT_EFFECT)
    for pool in pools:
        name, gpu, simulated = pool["name"], pool["gpu"], pool.get("simulated", False)
        labels = {L.POOL_LABEL: name, L.GPU_LABEL: gpu, L.GPU_PRODUCT_LABEL: GPUS[gpu].product}
        labels[L.SIMULATED_POOL_LABEL if simulated else L.DEVICE_PLUGIN_CONFIG_LABEL] = name
        for node in pool.get("nodes", []):
            k8s.core.v1.NodePatch(
                f"pool-{name}-{node}",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node, labels=labels),
                spec=k8s.core.v1.NodeSpecPatchArgs(taints=[gpu_taint]),
                opts=opts,
            )

    ns = k8s.core.v1.Namespace(
        "gpu-software-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=software["namespace"],
            labels={L.MANAGED_BY_LABEL: L.MANAGED_BY, "pod-security.kubernetes.io/enforce": "privileged"},
        ),
        opts=opts,
    )

    base: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": "none"}}
    data = {"default": _dump(base)}
    for pool in sorted(pools, key=lambda p: p["name"]):
        if pool.get("simulated", False):
            continue
        sharing = pool.get("sharing", {})
        config = dict(base)
        if sharing.get("mode") == "time-slicing":
            config["sharing"] = {
                "timeSlicing": {
                    "renameByDefault": sharing.get("renameByDefault", False),
                    "resources": [{"name": L.GPU_RESOURCE, "replicas": sharing["replicas"]}],
                    "failRequestsGreaterThanOne": sharing.get("failRequestsGreaterThanOne", True),
                }
            }
        data[pool["name"]] = _dump(config)
    config_map_name = "nvidia-device-plugin-configs"
    config_map = k8s.core.v1.ConfigMap(
        "gpu-software-device-plugin-configs",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=config_map_name, namespace=ns.metadata.name, labels={L.MANAGED_BY_LABEL: L.MANAGED_BY}
        ),
        data=data,
        opts=opts,
    )

    not_simulated = {"key": L.SIMULATED_POOL_LABEL, "operator": "DoesNotExist"}
    markers = [
        {"key": "feature.node.kubernetes.io/pci-10de.present", "operator": "In", "values": ["true"]},
        {"key": "feature.node.kubernetes.io/cpu-model.vendor_id", "operator": "In", "values": ["NVIDIA"]},
        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]},
        {"key": L.POOL_LABEL, "operator": "Exists"},
    ]
    device_plugin_values = {
        "config": {"name": config_map_name, "default": "default"},
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": L.GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [m, not_simulated]} for m in markers]
                }
            }
        },
        "priorityClassName": "system-node-critical",
        "gfd": {"enabled": software["devicePlugin"].get("gpuFeatureDiscovery", False)},
    }
    k8s.helm.v3.Release(
        "gpu-software-device-plugin",
        k8s.helm.v3.ReleaseArgs(
            name="nvidia-device-plugin",
            chart=NVIDIA_DEVICE_PLUGIN.chart,
            version=NVIDIA_DEVICE_PLUGIN.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=NVIDIA_DEVICE_PLUGIN.repo),
            namespace=ns.metadata.name,
            values=device_plugin_values,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
        ),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[config_map]),
    )

    fake_values = {
        "topology": {
            "nodePools": {
                p["name"]: {
                    "gpuProduct": GPUS[p["gpu"]].product,
                    "gpuCount": p.get("gpusPerNode", 1),
                    "gpuMemory": GPUS[p["gpu"]].memory_mib,
                }
                for p in sorted(pools, key=lambda p: p["name"])
                if p.get("simulated", False)
            },
            "nodePoolLabelKey": L.SIMULATED_POOL_LABEL,
            "migStrategy": "none",
        }
    }
    k8s.helm.v3.Release(
        "gpu-software-fake-gpus",
        k8s.helm.v3.ReleaseArgs(
            name="fake-gpu-operator",
            chart=FAKE_GPU_OPERATOR.chart,
            version=FAKE_GPU_OPERATOR.version,
            namespace=ns.metadata.name,
            values=fake_values,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
        ),
        opts=opts,
    )

    for team in raw["teams"]:
        k8s.core.v1.Namespace(
            f"team-{team['name']}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=team.get("namespace") or f"team-{team['name']}",
                labels={
                    TEAM_LABEL: team["name"],
                    L.MANAGED_BY_LABEL: L.MANAGED_BY,
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=opts,
        )
    return {"gpuNamespace": ns.metadata.name}


def bare_program(raw: Mapping[str, Any]) -> Capture:
    return run_program(lambda: bare_resources(raw), STACK)


# ---------------------------------------------------------------- checks and measurements


def check_same_resources(ours: Capture, bare: Capture) -> int:
    """Both programs registered the same custom resources, with identical inputs, dependencies
    (by resource name) and provider; return how many. Parents differ by design (components)."""

    def name(urn: str) -> str:
        return urn.rsplit("::", 1)[-1]

    def customs(capture: Capture) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (r.type, r.name): {
                "inputs": r.inputs_revealed(),
                "dependencies": sorted(name(d) for d in r.dependencies),
                "provider": name(r.provider),
            }
            for r in capture.registrations
            if r.custom
        }

    a, b = customs(ours), customs(bare)
    if a.keys() != b.keys():
        only_ours = sorted(a.keys() - b.keys())[:5]
        only_bare = sorted(b.keys() - a.keys())[:5]
        raise SystemExit(f"bare program differs from ours: only ours {only_ours}, only bare {only_bare}")
    differ = sorted(key for key in a if a[key] != b[key])
    if differ:
        key = differ[0]
        raise SystemExit(f"inputs differ for {len(differ)} resource(s), first {key}:\n ours {a[key]}\n bare {b[key]}")
    return len(a)


def best_time(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def peak_mib(run: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / MIB


@dataclass
class Row:
    size: int
    teams: int
    resources_ours: int
    """Every registration, the root stack and component resources included."""
    resources_bare: int
    kubernetes_resources: int
    """Custom resources (provider included), identical in both programs."""
    time_ours_s: float
    time_bare_s: float
    time_ratio: float
    peak_ours_mib: float
    peak_bare_mib: float
    peak_ratio: float
    policy_s: float | None
    policy_violations: int | None
    ms_per_resource: float
    """Ours' best time per registered resource."""


def measure(size: int, repeat: int, policy_pack: Path | None) -> Row:
    raw = make_raw(size)
    parse(raw)  # a generated config that does not validate is a bug here, not a figure
    teams = len(raw["teams"])

    def ours() -> Capture:
        return ours_program(raw)

    def bare() -> Capture:
        return bare_program(raw)

    log(f"size {size}: checking both programs register the same Kubernetes resources")
    ours_capture, bare_capture = ours(), bare()
    kubernetes_resources = check_same_resources(ours_capture, bare_capture)
    log(f"size {size}: timing ours and bare (best of {repeat})")
    time_ours = best_time(ours, repeat)
    time_bare = best_time(bare, repeat)
    log(f"size {size}: peak memory")
    peak_ours = peak_mib(ours)
    peak_bare = peak_mib(bare)
    policy_s: float | None = None
    violations: int | None = None
    if policy_pack is not None:
        log(f"size {size}: policy pack")
        start = time.perf_counter()
        policy_run = run_policies(ours_capture.registrations, STACK, policy_pack)
        policy_s = time.perf_counter() - start
        violations = len(policy_run.violations)
    resources_ours = len(ours_capture.registrations)
    return Row(
        size=size,
        teams=teams,
        resources_ours=resources_ours,
        resources_bare=len(bare_capture.registrations),
        kubernetes_resources=kubernetes_resources,
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
        "size",
        "resources ours/bare",
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
            str(r.size),
            f"{r.resources_ours}/{r.resources_bare}",
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
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in (header, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def environment(repeat: int) -> dict[str, str | int]:
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "pulumi": version("pulumi"),
        "pulumi_kubernetes": version("pulumi_kubernetes"),
        "machine": platform.machine(),
        "repeat": repeat,
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    p.add_argument("--sizes", type=_sizes, default=[10, 100, 1000], help="node pools per stack (default: 10,100,1000)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per program and size; best is kept (default: 3)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--no-policy", action="store_true", help="skip the policy-pack run")
    p.add_argument("--policy-pack", type=Path, default=ROOT / "policies", help="policy pack directory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repeat = max(1, args.repeat)
    policy_pack = None if args.no_policy else args.policy_pack
    # Warm up once (imports, lazy SDK modules, first event loop) so neither
    # program pays that cost in its first timed run.
    warm = make_raw(3)
    ours_program(warm)
    bare_program(warm)
    rows = [measure(size, repeat, policy_pack) for size in args.sizes]
    if args.json:
        print(json.dumps({"environment": environment(repeat), "results": [asdict(r) for r in rows]}, indent=2))
    else:
        env = environment(repeat)
        print(
            f"plan scale: python {env['python']}, pulumi {env['pulumi']}, pulumi_kubernetes "
            f"{env['pulumi_kubernetes']}, best of {repeat}; resources include the root stack "
            "(ours also its component resources)"
        )
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
