"""The stack-file JSON Schema editors use (stacks/config.schema.json): generated from the typed model, in step
with it, accepting every example and refusing what the model refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml

from stacks.schema import render
from tests.conftest import ROOT, STACKS

SCHEMA = ROOT / "stacks" / "config.schema.json"


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def _errors(document: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(document)]


def test_committed_schema_is_generated_from_the_model() -> None:
    # Regenerate with: python -m stacks.schema > stacks/config.schema.json
    assert SCHEMA.read_text() == render()


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_file_validates_and_names_the_schema(stack: str) -> None:
    path = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    assert _errors(yaml.safe_load(path.read_text())) == []
    assert path.read_text().startswith("# yaml-language-server: $schema=./config.schema.json\n")


def _aws_dev() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text()))


def test_misspelled_keys_and_wrong_types_are_flagged() -> None:
    doc = _aws_dev()
    doc["config"]["gpu-platform:nodePool"] = []  # the key is nodePools
    doc["config"]["gpu-platform:nodePools"][0]["maxNode"] = 8
    doc["config"]["gpu-platform:nodePools"][0]["capacity"] = "reserved"
    found = _errors(doc)
    assert any(e.startswith("config: 'gpu-platform:nodePool' does not match") for e in found)
    assert any(e.startswith("config.gpu-platform:nodePools.0") and "maxNode" in e for e in found)
    assert any(e.startswith("config.gpu-platform:nodePools.0.capacity") for e in found)


def test_secure_values_and_provider_keys_pass() -> None:
    doc = _aws_dev()
    doc["config"]["aws:profile"] = "platform"  # a provider's key: not this schema's to judge
    doc["config"]["gpu-platform:cluster"]["name"] = {"secure": "v1:abc"}  # any value may be set with --secret
    doc["environment"] = ["gpu-platform/aws-dev"]
    assert _errors(doc) == []
    doc["config"]["gpu-platform:cluster"]["name"] = {"secret": "v1:abc"}
    assert _errors(doc)


def test_editors_map_stack_files_to_it() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text())
    assert "stacks/Pulumi.*.yaml" in settings["yaml.schemas"]["./stacks/config.schema.json"]
