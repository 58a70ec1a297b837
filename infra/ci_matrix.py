"""The CI matrix, generated from ``stacks/``: a new stack file needs no workflow edit.

    python -m infra.ci_matrix

Prints JSON for GitHub Actions' ``fromJSON``: ``{"all", "deployable", "platforms", "teams"}``, lists of
entry ``{"stack", "cloud", "platform"}``. ``all`` is every stack (the offline plan gates each on pull
requests); ``platforms`` and ``teams`` are the stacks CI previews and deploys with cloud credentials:
platform stacks first, then the team stacks that reference them (``platform`` names the stack a team
stack builds on; its cloud is the platform's). Stacks on an existing cluster (``cloud: existing``, such as
the laptop's kind stack) have no cloud to deploy to from CI and are planned only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def matrix(stacks_dir: Path = ROOT / "stacks") -> dict[str, list[dict[str, Any]]]:
    from stacks.loader import load_file

    configs = {
        p.name.removeprefix("Pulumi.").removesuffix(".yaml"): load_file(p) for p in stacks_dir.glob("Pulumi.*.yaml")
    }
    entries = []
    for stack, config in sorted(configs.items()):
        platform = config.platform.stack_name if config.platform else ""
        base = configs.get(platform, config) if platform else config
        entries.append({"stack": stack, "cloud": base.cloud.value, "platform": platform})
    deployable = [e for e in entries if e["cloud"] != "existing"]
    return {
        "all": entries,
        "deployable": deployable,
        "platforms": [e for e in deployable if not e["platform"]],
        "teams": [e for e in deployable if e["platform"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ci_matrix", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    print(json.dumps(matrix(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
