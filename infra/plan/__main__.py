"""``python -m infra.plan``: plan a stack offline and gate it with the policy pack.

Exit codes: 0 no mandatory violation; 1 mandatory violation(s); 2 invalid config,
policy config or usage (a clear message, no traceback); 3 the program itself failed
while planning (a message naming the error; a bug to report).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.plan.report import build_summary, render_table
from stacks.clouds import Capability, backend
from stacks.loader import ConfigError, ConfigIssue, load_stack_file, parse_stack_file
from stacks.model import NAMESPACE

ROOT = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_MANDATORY, EXIT_USAGE, EXIT_PROGRAM = 0, 1, 2, 3
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""Pulumi's rule for stack names."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m infra.plan",
        description="Evaluate the GPU platform program offline (Pulumi mock engine), render every Kubernetes "
        "object and run the policy pack as `pulumi preview --policy-pack policies` would.",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--stack", default=None, help="plan stacks/Pulumi.STACK.yaml (default: local)")
    source.add_argument("--config", type=Path, default=None, help="plan this stack config file instead")
    p.add_argument(
        "--policy-config",
        type=Path,
        default=None,
        help="policy config JSON, as for `pulumi preview --policy-pack-config` "
        "(default: stacks/policy-config.STACK.json when it exists)",
    )
    p.add_argument(
        "--policy-pack", type=Path, default=ROOT / "policies", help="policy pack directory (default: policies/)"
    )
    p.add_argument("--out", default=None, help="write resources.json, policy.json, summary.json, manifests/ here")
    p.add_argument(
        "--schemas",
        type=Path,
        default=None,
        help="validate custom resources against the CRD schemas in this directory (<group>/<kind>_<version>.json); "
        "core objects are always validated",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    p.add_argument(
        "--environment-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the values of the stack's Pulumi ESC environment (`esc env open ENV --format json > FILE`): its "
        "pulumiConfig is read under the stack file's own values",
    )
    p.add_argument(
        "--diff",
        type=Path,
        default=None,
        metavar="OTHER_DIR",
        help="also show what changed against the plan an earlier --out OTHER_DIR wrote (added, removed, changed)",
    )
    p.add_argument(
        "--graph",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the architecture graph: .dot (Graphviz), .mmd (Mermaid), .svg or .png (with Graphviz)",
    )
    return p


def _usage_problems(args: argparse.Namespace, stack: str) -> list[str]:
    """What is wrong with the command line itself, found before anything is read or run."""
    problems = []
    if not STACK_NAME.match(stack):
        where = "--stack" if args.config is None else f"--config {args.config} (the stack name is its file name)"
        problems.append(
            f"{where}: {stack!r} is not a Pulumi stack name; allowed: 1-100 letters, digits, '-', '_' or '.'"
        )
    if args.out is not None:
        # A string, not a Path, until checked: Path("") would quietly mean the working directory.
        problems += _out_problems(Path(args.out)) if args.out else ["--out: empty; allowed: a directory path"]
    if args.diff is not None and not (args.diff / "resources.json").is_file():
        problems.append(f"--diff {args.diff}: no resources.json there; allowed: a directory an earlier --out wrote")
    if args.graph is not None:
        from infra.plan.graph import graph_problem

        if problem := graph_problem(args.graph):
            problems.append(problem)
    pack = args.policy_pack
    if not (pack / "PulumiPolicy.yaml").is_file():
        problems.append(f"--policy-pack {pack}: not a policy pack directory (no PulumiPolicy.yaml there)")
    if args.schemas is not None:
        from infra.plan.validate import SchemaDirError, validate_manifests

        try:
            validate_manifests([], args.schemas)  # reads and checks the directory, validates nothing
        except SchemaDirError as err:
            problems.append(f"--schemas {args.schemas}: {err}")
    return problems


def _out_problems(out: Path) -> list[str]:
    """``--out`` must be a writable directory or creatable as one: checked before the program runs."""
    if out.exists():
        if not out.is_dir():
            return [f"--out {out}: is a file; allowed: a directory (it is created if missing)"]
        return [] if os.access(out, os.W_OK | os.X_OK) else [f"--out {out}: directory is not writable"]
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return [f"--out {out}: {parent} is a file, so the directory cannot be created"]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"--out {out}: cannot create it, {parent} is not writable"]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stack = (
        args.stack if args.stack is not None else (args.config.stem.removeprefix("Pulumi.") if args.config else "local")
    )
    if problems := _usage_problems(args, stack):
        print("invalid command line:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        return EXIT_USAGE
    config_path: Path = args.config or ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    policy_config_path: Path | None = args.policy_config
    default_policy_config = ROOT / "stacks" / f"policy-config.{stack}.json"
    if policy_config_path is None and args.config is None and default_policy_config.exists():
        policy_config_path = default_policy_config

    # Everything heavy (Pulumi runtime, providers, gRPC) loads only after both configs validated:
    # a typo costs a fraction of a second, and the stack's and the policy config's problems come together.
    errors: list[str] = []
    config = None
    try:
        environment = None
        if args.environment_file is not None:
            from stacks.loader import environment_config, load_json_or_yaml

            environment = environment_config(load_json_or_yaml(args.environment_file), str(args.environment_file))
        stack_file = load_stack_file(config_path, environment)
        if stack_file.environments and environment is None:
            print(
                f"note: the stack imports ESC environment(s) {', '.join(stack_file.environments)}; offline their "
                "values are read only with --environment-file (esc env open ENV --format json > FILE)",
                file=sys.stderr,
            )
        elif environment is not None and not stack_file.environments:
            raise ConfigError(
                [ConfigIssue(str(args.environment_file), f"given, but {config_path} imports no environment:")],
                str(config_path),
            )
        if not stack_file.raw:
            raise ConfigError(
                [
                    ConfigIssue(
                        str(config_path),
                        f"sets no {NAMESPACE}: keys, so there is nothing to plan; "
                        "start from stacks/Pulumi.local.yaml (or another example stack)",
                    ),
                    *stack_file.issues,
                ],
                str(config_path),
            )
        config = parse_stack_file(stack_file, source=str(config_path))
    except ConfigError as err:
        errors.append(err.render())
    policy_config = None
    if policy_config_path is not None:
        from infra.plan.policy_config import PolicyConfigError, check_user_config, load_policy_config_file

        try:
            policy_config = load_policy_config_file(policy_config_path)
            check_user_config(policy_config)
        except PolicyConfigError as err:
            err.source = str(policy_config_path)
            errors.append(err.render())
    if errors or config is None:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_USAGE

    from infra.plan.engine import ProgramError, config_env, run_entry_point
    from infra.plan.policy_runner import PolicyConfigError, PolicyPackError, run_policies
    from infra.plan.render import manifests, write_outputs
    from infra.plan.validate import K8S_VERSION, validate_manifests

    def step(message: str) -> None:
        """Progress on a terminal only: piped and CI output stays the summary alone."""
        if sys.stderr.isatty():
            print(f"... {message}", file=sys.stderr, flush=True)

    try:
        step(f"planning stack {stack} under the mock engine (the first run loads the cloud SDKs)")
        stack_config = config_env(stack_file.raw)
        if config.platform is not None:
            from infra.plan.references import plan_referenced_platform

            plan_referenced_platform(config)
        capture = run_entry_point(ROOT / "infra", stack_config, stack)
        # What the API server would refuse fails the plan here, naming the object and the field.
        # A team stack's objects go to its platform's cluster: validate them for that cluster's version.
        cluster_config = config
        if config.platform is not None:
            from stacks.loader import load_file, platform_stack_file

            cluster_config = load_file(platform_stack_file(config))
        managed = backend(cluster_config.cloud).has(Capability.MANAGED_CLUSTER)
        validation = validate_manifests(
            manifests(capture.registrations),
            args.schemas,
            cluster_config.cluster.kubernetes_version if managed else K8S_VERSION,
        )
        if not validation.ok:
            print("the plan renders objects the API server would refuse:\n" + validation.render(), file=sys.stderr)
            return EXIT_USAGE
        step(f"running the policy pack on {len(capture.registrations)} resources")
        policy_run = run_policies(capture.registrations, stack, args.policy_pack, policy_config, stack_config)
    except (PolicyConfigError, PolicyPackError, ProgramError) as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:
        print(f"the program failed while planning: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_PROGRAM

    summary = build_summary(stack, config_path, config, capture, policy_run, policy_config_path)
    summary["otherConfigKeys"] = list(stack_file.other_keys)
    summary["validation"] = {
        k: v for k, v in validation.to_json().items() if k not in ("problems", "notValidatedObjects", "warnings")
    }
    summary["validation"]["line"] = validation.summary_line()
    code = EXIT_MANDATORY if policy_run.mandatory else EXIT_OK
    summary["exitCode"] = code
    diff_text = None
    if args.diff is not None:
        from infra.plan.diff import diff, load_records, render
        from infra.plan.render import resource_record

        try:
            changes = diff(load_records(args.diff), [resource_record(r) for r in capture.registrations])
        except (OSError, ValueError, KeyError, TypeError) as err:
            print(f"--diff {args.diff}: cannot read its resources.json: {err}", file=sys.stderr)
            return EXIT_USAGE
        summary["diff"] = changes.to_json()
        diff_text = render(changes, str(args.diff))
    if args.out is not None:
        try:
            write_outputs(Path(args.out), capture.registrations, [v.to_json() for v in policy_run.violations], summary)
        except (OSError, ProgramError) as err:
            print(f"--out {args.out}: {err}", file=sys.stderr)
            return EXIT_USAGE
        files = len(manifests(capture.registrations))
        print(
            f"wrote {args.out}: resources.json ({summary['resources']} resources), manifests/ ({files} objects), "
            "policy.json, summary.json"
            + (
                ", helm-releases.yaml (the charts, versions and values)"
                if (Path(args.out) / "helm-releases.yaml").exists()
                else ""
            ),
            file=sys.stderr,
        )
    if args.graph is not None:
        from infra.plan.graph import write_graph

        try:
            write_graph(args.graph, capture.registrations, stack)
        except OSError as err:
            print(f"--graph {args.graph}: {err}", file=sys.stderr)
            return EXIT_USAGE
        print(f"wrote {args.graph}: the architecture of stack {stack}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        # Colours and the terminal's width only on a terminal (and without NO_COLOR): piped output stays plain.
        tty = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size((120, 24)).columns if tty else 120
        print(render_table(summary, color=tty, width=width) + (f"\n\n{diff_text}" if diff_text else ""))
    return code


if __name__ == "__main__":
    sys.exit(main())
