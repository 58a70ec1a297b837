"""The `pulumi new` templates in templates/: each instantiates with its defaults the way `pulumi new` would (the
template's files copied, ${PROJECT} and ${DESCRIPTION} substituted, a stack file written from the template's
config prompts) and plans offline with exit 0; the stack file it writes is one the schema accepts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

TEMPLATES = sorted(p.name for p in (ROOT / "templates").iterdir() if (p / "Pulumi.yaml").is_file())


def instantiate(name: str, into: Path, stack: str = "dev", project: str = "my-gpu-platform") -> Path:
    """What `pulumi new ./templates/NAME --stack STACK --name PROJECT --yes` leaves behind: the files, with the
    placeholders filled, and Pulumi.STACK.yaml holding each prompt's default."""
    shutil.copytree(ROOT / "templates" / name, into)
    for path in into.rglob("*"):
        if path.is_file():
            text = path.read_text()
            path.write_text(text.replace("${PROJECT}", project).replace("${DESCRIPTION}", f"{project} ({name})"))
    project_file = yaml.safe_load((into / "Pulumi.yaml").read_text())
    prompts = project_file.pop("template")["config"]
    (into / "Pulumi.yaml").write_text(yaml.safe_dump(project_file, sort_keys=False))
    config = {key: prompt["default"] for key, prompt in prompts.items()}
    stack_file = into / f"Pulumi.{stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return stack_file


def test_the_four_templates_exist() -> None:
    assert TEMPLATES == ["aws-platform", "gcp-platform", "kind-laptop", "team-stack"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_is_a_pulumi_template(name: str) -> None:
    project = yaml.safe_load((ROOT / "templates" / name / "Pulumi.yaml").read_text())
    assert project["name"] == "${PROJECT}" and project["runtime"]["name"] == "python"
    template = project["template"]
    assert template["displayName"] and template["description"]
    for key, prompt in template["config"].items():
        assert prompt["description"] and isinstance(prompt["default"], str), key  # pulumi new prompts for strings
        if prompt["default"].startswith(("[", "{")):
            json.loads(prompt["default"])  # structured answers are JSON text, which the program reads as structure
    assert (ROOT / "templates" / name / "__main__.py").is_file()
    assert "gpu-platform" in (ROOT / "templates" / name / "requirements.txt").read_text()


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_instantiates_and_plans_offline(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_plan_cli import run_main

    if name == "team-stack":
        # A team project beside a checkout of its platform's (an aws-platform project whose stack is prod), as
        # its default platform.file expects; Pulumi runs the program from the project's directory.
        instantiate("aws-platform", tmp_path / "my-gpu-platform", stack="prod")
        stack_file = instantiate(name, tmp_path / "team")
        monkeypatch.chdir(tmp_path / "team")
    else:
        stack_file = instantiate(name, tmp_path / "project")
    schema = json.loads((ROOT / "stacks" / "config.schema.json").read_text())
    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(stack_file.read_text()))
    ]
    assert errors == []
    done = run_main("--config", str(stack_file), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    summary: dict[str, Any] = json.loads(done.stdout)
    assert summary["violations"]["mandatory"] == 0 and summary["resources"] > 0
    expected_cloud = {"aws-platform": "aws", "gcp-platform": "gcp", "kind-laptop": "existing"}
    if name in expected_cloud:
        assert summary["cloud"] == expected_cloud[name] and summary["pools"]
