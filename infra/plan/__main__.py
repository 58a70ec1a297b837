"""``python -m infra.plan``: plan a stack offline and gate it with the policy pack.

Exit codes: 0 no mandatory violation; 1 mandatory violation(s); 2 invalid config
or usage (a clear message, no traceback); anything else is a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.plan.report import build_summary, render_table
from stacks.loader import ConfigError, load_file, read_stack_file

ROOT = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_MANDATORY, EXIT_USAGE = 0, 1, 2


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
    p.add_argument(
        "--out", type=Path, default=None, help="write resources.json, policy.json, summary.json, manifests/ here"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stack = args.stack or (args.config.stem.removeprefix("Pulumi.") if args.config else "local")
    config_path: Path = args.config or ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    policy_config_path: Path | None = args.policy_config
    default_policy_config = ROOT / "stacks" / f"policy-config.{stack}.json"
    if policy_config_path is None and args.config is None and default_policy_config.exists():
        policy_config_path = default_policy_config

    # Everything heavy (Pulumi runtime, providers, gRPC) loads only after the
    # config validated: a typo costs milliseconds, not a provider import.
    try:
        config = load_file(config_path)
    except ConfigError as err:
        print(err.render(), file=sys.stderr)
        return EXIT_USAGE

    from infra.plan.engine import ProgramError, config_env, run_entry_point
    from infra.plan.policy_runner import PolicyConfigError, load_policy_config_file, run_policies
    from infra.plan.render import write_outputs

    try:
        policy_config = load_policy_config_file(policy_config_path) if policy_config_path else None
        stack_config = config_env(read_stack_file(config_path))
        capture = run_entry_point(ROOT / "infra", stack_config, stack)
        policy_run = run_policies(capture.registrations, stack, args.policy_pack, policy_config, stack_config)
    except (PolicyConfigError, ProgramError) as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE

    summary = build_summary(stack, config_path, config, capture, policy_run, policy_config_path)
    code = EXIT_MANDATORY if policy_run.mandatory else EXIT_OK
    summary["exitCode"] = code
    if args.out is not None:
        write_outputs(args.out, capture.registrations, [v.to_json() for v in policy_run.violations], summary)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(render_table(summary))
    return code


if __name__ == "__main__":
    sys.exit(main())
