"""Generate the config reference (docs/config-reference.md) from the typed model.

    python -m stacks.reference > docs/config-reference.md

A test keeps the committed file in step with the model.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from stacks.model import NAMESPACE, PlatformConfig


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args if a is not type(None)) + (
            " (optional)" if type(None) in args else ""
        )
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} -> {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value)}`" if value is not PydanticUndefined else ""


def _nested(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested(arg)
        if found:
            return found
    return None


def rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        out.append((path, _type_name(field.annotation), _default(field), (field.description or "").replace("\n", " ")))
        inner = _nested(field.annotation)
        if inner is not None:
            is_list = typing.get_origin(field.annotation) is list
            out += rows(inner, f"{path}[]." if is_list else f"{path}.")
    return out


def render() -> str:
    lines = [
        "# Stack config reference",
        "",
        f"Every key lives under the `{NAMESPACE}:` namespace of `stacks/Pulumi.<stack>.yaml`.",
        "Unknown keys are errors. Generated from `stacks/model.py` by `python -m stacks.reference`.",
        "",
        "| key | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for path, type_name, default, description in rows(PlatformConfig, f"{NAMESPACE}:"):
        lines.append(f"| `{path}` | {type_name} | {default} | {description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
