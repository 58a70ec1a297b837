"""Read stack config once, validate it fully, and report every problem at once.

Two sources give the same raw mapping (keys without the ``gpu-platform:``
prefix, values as YAML/JSON types): a ``Pulumi.<stack>.yaml`` file (the offline
plan, tests) and the Pulumi engine's config (``pulumi up``). Both go through
``parse`` so the program and the plan validate identically. No cloud SDK is
imported here: a bad config fails before anything heavy loads.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from stacks.checks import semantic_issues
from stacks.model import NAMESPACE, PlatformConfig

SECRET_PLACEHOLDER = "[secret]"
"""What an encrypted (``secure:``) value reads as offline, where it cannot be decrypted."""

# Keys whose value is a plain string in Pulumi config (everything else is JSON).
_STRING_KEYS = frozenset({"cloud", "region", "project"})


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    """Full key path, e.g. ``gpu-platform:nodePools[1].maxNodes``."""
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """The stack config is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue], source: str = "stack config") -> None:
        self.issues = issues
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"invalid {self.source} ({len(self.issues)} problem{'s' if len(self.issues) != 1 else ''}):"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)


# ---------------------------------------------------------------- sources


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``gpu-platform:`` keys of a ``Pulumi.<stack>.yaml`` file, prefix removed.

    Keys of other namespaces (``kubernetes:context``, ``aws:region``) belong to
    providers and are left alone. Encrypted values read as a secret placeholder.
    """
    source = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(source, "file not found")], source) from None
    except yaml.YAMLError as err:
        raise ConfigError([ConfigIssue(source, f"not valid YAML: {err}")], source) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([ConfigIssue(source, "expected a mapping with a 'config:' key")], source)
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([ConfigIssue(f"{source}: config", "expected a mapping of keys to values")], source)
    raw: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = str(key).rpartition(":")
        if namespace in ("", NAMESPACE):
            raw[name] = _decrypt_offline(value)
    return raw


def _decrypt_offline(value: Any) -> Any:
    """Replace ``{secure: ...}`` leaves: the stack's secrets provider is not available offline."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        return {k: _decrypt_offline(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypt_offline(v) for v in value]
    return value


def read_pulumi_config() -> dict[str, Any]:
    """The ``gpu-platform:`` keys as the Pulumi engine passed them to this program."""
    from pulumi.runtime.config import CONFIG, get_config_env

    # The language host hands config over with set_all_config (CONFIG); older
    # hosts and the policy runtime use the PULUMI_CONFIG environment variable.
    merged = {**get_config_env(), **CONFIG.get()}
    raw: dict[str, Any] = {}
    for full_key, value in sorted(merged.items()):
        namespace, _, name = full_key.rpartition(":")
        if namespace != NAMESPACE:
            continue
        if name in _STRING_KEYS:
            raw[name] = value
            continue
        try:
            raw[name] = json.loads(value)
        except (TypeError, ValueError):
            raw[name] = value
    return raw


# ---------------------------------------------------------------- validation


def parse(raw: Mapping[str, Any], source: str = "stack config") -> PlatformConfig:
    """Validate ``raw`` (keys without prefix) into the typed model or raise ``ConfigError``."""
    try:
        # JSON mode: strict for numbers and booleans, yet enums validate from their
        # string values, exactly as Pulumi hands structured config to a program.
        config = PlatformConfig.model_validate_json(json.dumps(dict(raw), default=str), by_alias=True)
    except ValidationError as err:
        raise ConfigError(_pydantic_issues(err), source) from None
    issues = semantic_issues(config)
    if issues:
        raise ConfigError([ConfigIssue(path, message) for path, message in issues], source)
    return config


def load_file(path: Path) -> PlatformConfig:
    return parse(read_stack_file(path), source=str(path))


def load_pulumi() -> PlatformConfig:
    return parse(read_pulumi_config(), source="pulumi config")


def _format_path(loc: tuple[int | str, ...]) -> str:
    path = NAMESPACE
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += (":" if i == 0 else ".") + part
    return path


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model allows at the mapping that holds ``loc``'s last key."""
    model: type[BaseModel] | None = PlatformConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        model = _inner_model(field.annotation) if field else None
    if model is None:
        return []
    return sorted((f.alias or n) for n, f in model.model_fields.items())


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found:
            return found
    return None


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# Pydantic error type -> how to say what is allowed. A table, not an if-chain.
_ALLOWED: dict[str, str] = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "missing": "a value (this key is required)",
}


def _pydantic_issues(err: ValidationError) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        kind = e["type"]
        ctx = e.get("ctx") or {}
        value = e.get("input")
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc)
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            guess = f" (did you mean {hint[0]}?)" if hint else ""
            message = f"unknown key{guess}; allowed keys: {', '.join(allowed)}"
        elif kind in ("enum", "literal_error"):
            message = f"{_show(value)} is not allowed; allowed: {ctx.get('expected', '')}".replace("'", "")
        elif kind == "greater_than_equal":
            message = f"{_show(value)} is too small; allowed: an integer >= {ctx['ge']}"
        elif kind == "less_than_equal":
            message = f"{_show(value)} is too large; allowed: an integer <= {ctx['le']}"
        elif kind == "string_pattern_mismatch":
            message = f"{_show(value)} is not allowed; allowed: a string matching {ctx['pattern']}"
        elif kind == "string_too_short":
            message = f"{_show(value)} is too short; allowed: at least {ctx['min_length']} character(s)"
        elif kind == "value_error":
            message = str(ctx.get("error", e["msg"]))
            if value is not None and not isinstance(value, dict):
                message = f"{_show(value)}: {message}"
        elif kind in _ALLOWED:
            shown = "" if kind == "missing" else f"{_show(value)} is not allowed; "
            message = f"{shown}expected {_ALLOWED[kind]}"
        else:
            message = f"{_show(value)}: {e['msg']}"
        # Union members report one error each; a path reported once is enough.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"str", "int", "none"})))
        issue = ConfigIssue(_format_path(loc), message)
        if issue not in issues:
            issues.append(issue)
    return issues
