"""Generate the JSON Schema of a stack file (``Pulumi.<stack>.yaml``) from the typed model.

    python -m stacks.schema > stacks/config.schema.json

Editors that speak the YAML language server complete and check stack files with it (``.vscode/settings.json``
maps ``Pulumi.*.yaml`` to it; each example also names it in a ``yaml-language-server`` comment). It is a
guide for typing, not the judge: the loader's checks (cross-field rules, the clouds' own rules) say more,
with the full key path. A test keeps the committed file in step with the model.
"""

from __future__ import annotations

import json
from typing import Any

from stacks.model import NAMESPACE, PlatformConfig

SCHEMA_ID = "https://gpu-platform.dev/schemas/stack-config.json"
SECURE = {
    "type": "object",
    "properties": {"secure": {"type": "string", "description": "A value `pulumi config set --secret` encrypted."}},
    "required": ["secure"],
    "additionalProperties": False,
}


def _allow_secure(node: Any) -> Any:
    """Every string may also be a ``secure:`` value: Pulumi encrypts any key or path set with ``--secret``."""
    if isinstance(node, list):
        return [_allow_secure(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _allow_secure(v) if k not in ("enum", "const", "default", "examples") else v for k, v in node.items()}
    if out.get("type") == "string":
        description = out.pop("description", None)
        wrapped: dict[str, Any] = {"anyOf": [out, {"$ref": "#/$defs/Secure"}]}
        if description is not None:
            wrapped["description"] = description
        return wrapped
    return out


def _or_json_text(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A structured key may also be written as JSON text (``pulumi new`` prompts and ``pulumi config set`` store
    it so; the engine and the loader read it as its structure)."""
    if key in ("cloud", "region", "project"):
        return schema
    # if/then/else rather than anyOf: a mistake in the structure is reported where it is, not as "matches none".
    text = {"contentMediaType": "application/json", "contentSchema": schema}
    out: dict[str, Any] = {"if": {"type": "string"}, "then": text, "else": schema}
    if "description" in schema:
        out["description"] = schema["description"]
    return out


def stack_file_schema() -> dict[str, Any]:
    model = PlatformConfig.model_json_schema(by_alias=True, mode="validation")
    defs = _allow_secure(model.pop("$defs", {}))
    properties = _allow_secure(model["properties"])
    config = {
        "type": "object",
        "description": f"Stack config: the platform's keys under the {NAMESPACE}: namespace; provider keys "
        "(aws:, gcp:, kubernetes:, pulumi:) pass through.",
        "properties": {f"{NAMESPACE}:{key}": _or_json_text(key, value) for key, value in properties.items()},
        # Other namespaces are the providers' (aws:region ...): not this schema's to judge.
        "patternProperties": {f"^(?!{NAMESPACE}:)[A-Za-z0-9_.-]+:": {}},
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gpu-platform stack file (Pulumi.<stack>.yaml)",
        "description": "Generated from stacks/model.py by `python -m stacks.schema`; the reference is "
        "docs/config-reference.md.",
        "type": "object",
        "properties": {
            "config": config,
            "environment": {
                "description": "Pulumi ESC environments the stack imports.",
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "additionalProperties": False,
        "$defs": {**defs, "Secure": SECURE},
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
