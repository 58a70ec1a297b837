"""The plan's views for reviewers: --diff against an earlier plan, --graph (DOT, Mermaid), what --out wrote,
and the README's architecture diagram kept current."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT
from tests.test_plan_cli import run_main


def test_diff_shows_added_removed_and_changed(tmp_path: Path) -> None:
    base = tmp_path / "base"
    assert run_main("--stack", "local", "--out", str(base)).returncode == 0
    same = run_main("--stack", "local", "--diff", str(base))
    assert same.returncode == 0 and same.stdout.rstrip().endswith(f"no change against {base}")

    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    raw["config"]["gpu-platform:teams"][0]["gpuQuota"]["l4-sim"] = 1  # a changed quota
    raw["config"]["gpu-platform:teams"].pop()  # a team removed
    changed = tmp_path / "Pulumi.local.yaml"
    changed.write_text(yaml.safe_dump(raw))
    done = run_main("--config", str(changed), "--diff", str(base), "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)["diff"]
    assert any(u.endswith("::team-inference-namespace") for u in found["removed"]) and found["added"] == []
    quota = next(paths for urn, paths in found["changed"].items() if urn.endswith("::team-research-gpu-quota"))
    assert any(p.startswith("inputs.spec.hard") for p in quota)
    text = run_main("--config", str(changed), "--diff", str(base)).stdout
    assert re.search(r"against .*: 0 added, \d+ removed, \d+ changed", text)
    assert (
        "  - Namespace::team-inference-namespace" in text
        and "  ~ ResourceQuota::team-research-gpu-quota: inputs.spec.hard" in text
    )


def test_diff_against_another_stack_says_so(tmp_path: Path) -> None:
    from infra.plan.diff import diff, render

    old = [{"urn": "urn:pulumi:aws-dev::gpu-platform::pulumi:pulumi:Stack::x", "inputs": {}}]
    new = [{"urn": "urn:pulumi:gcp-dev::gpu-platform::pulumi:pulumi:Stack::x", "inputs": {}}]
    assert "is a plan of stack aws-dev, this one of gcp-dev" in render(diff(old, new), "OLD")


def test_graph_dot_and_mermaid_are_deterministic(plan: Any) -> None:
    from infra.plan.graph import to_dot, to_mermaid
    from tests.conftest import fresh_raw

    registrations = plan(fresh_raw("aws-dev")).registrations
    dot = to_dot(registrations, "aws-dev")
    assert dot == to_dot(list(reversed(registrations)), "aws-dev")  # registration order does not matter
    assert dot.startswith('digraph "aws-dev" {') and "EksCluster gpu-dev" in dot and "[style=dashed]" in dot
    assert to_mermaid(registrations).startswith("flowchart LR\n")


def test_graph_is_written_by_the_cli(tmp_path: Path) -> None:
    done = run_main("--stack", "local", "--graph", str(tmp_path / "local.dot"))
    assert done.returncode == 0 and f"wrote {tmp_path / 'local.dot'}: the architecture of stack local" in done.stderr
    assert (tmp_path / "local.dot").read_text().startswith('digraph "local" {')


def test_bad_graph_and_diff_arguments_are_refused_before_planning(tmp_path: Path) -> None:
    done = run_main("--stack", "local", "--graph", str(tmp_path / "g.txt"), "--diff", str(tmp_path / "none"))
    assert done.returncode == 2
    assert "--graph" in done.stderr and "unknown format '.txt'; allowed: .dot, .mmd, .svg, .png" in done.stderr
    assert f"--diff {tmp_path / 'none'}: no resources.json there" in done.stderr


def test_readme_shows_the_current_architecture_of_aws_dev(plan: Any) -> None:
    from infra.plan.graph import to_mermaid
    from tests.conftest import fresh_raw

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert block and block.group(1) == to_mermaid(plan(fresh_raw("aws-dev")).registrations)


ESC_STACK = """environment:
  - gpu-platform/aws-dev-secrets
config:
  gpu-platform:cloud: aws
  gpu-platform:region: us-east-1
  gpu-platform:zones: [use1-az1, use1-az2]
  gpu-platform:nodePools:
    - name: l4-spot
      gpu: l4
      capacity: spot
      maxNodes: 2
"""
ESC_VALUES = {
    "pulumiConfig": {
        "cluster": {"name": "esc", "publicEndpointCidrs": ["192.30.252.0/22"]},
        "gpu-platform:region": "us-west-2",  # the stack file's own value wins
        "aws:region": "us-east-1",
    },
    "environmentVariables": {"AWS_REGION": "us-east-1"},
}


def test_a_stack_that_keeps_config_in_esc_plans_offline_from_its_values(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.esc.yaml"
    stack.write_text(ESC_STACK)
    values = tmp_path / "env.json"
    values.write_text(json.dumps(ESC_VALUES))
    done = run_main("--config", str(stack), "--environment-file", str(values), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["pools"][0]["name"] == "l4-spot" and summary["quotas"][0]["region"] == "us-east-1"
    assert summary["outputs"]["clusterName"] == "esc"  # from the environment
    assert "aws:region" in summary["otherConfigKeys"]
    # Without the values, the plan says where they would come from (and misses what only they hold).
    missing = run_main("--config", str(stack))
    assert missing.returncode == 2 and "imports ESC environment(s) gpu-platform/aws-dev-secrets" in missing.stderr


def test_environment_file_mistakes_are_refused(tmp_path: Path) -> None:
    values = tmp_path / "env.json"
    values.write_text(json.dumps({"environmentVariables": {}}))
    stack = tmp_path / "Pulumi.esc.yaml"
    stack.write_text(ESC_STACK)
    done = run_main("--config", str(stack), "--environment-file", str(values))
    assert done.returncode == 2 and "no pulumiConfig: in it" in done.stderr
    values.write_text(json.dumps(ESC_VALUES))
    done = run_main("--stack", "local", "--environment-file", str(values))
    assert done.returncode == 2 and "imports no environment:" in done.stderr


def test_secrets_held_in_esc_are_not_called_plain_text(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.esc.yaml"
    stack.write_text(ESC_STACK)
    values = copy.deepcopy(ESC_VALUES)
    values["pulumiConfig"]["cluster"]["kubeconfig"] = "apiVersion: v1\nkind: Config\n"  # decrypted by esc env open
    path = tmp_path / "env.json"
    path.write_text(json.dumps(values))
    done = run_main("--config", str(stack), "--environment-file", str(path))
    assert "is plain text in the stack file" not in done.stderr
