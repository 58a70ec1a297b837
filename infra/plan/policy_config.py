"""The policy config, checked as strictly as the stack config, before anything runs.

The same reconciliation the Pulumi CLI performs (schema defaults, then the pack's
initial config, then the user's ``--policy-pack-config`` file where ``all`` sets every
level; then a JSON-schema check), plus what the CLI lets through: unknown keys inside
a policy's config and values the pack's own checks refuse (an unknown quota code would
otherwise silently switch the quota gate off). It runs on the pack's policy objects
(``policies.guardrails.pack``), so a bad file is refused in well under a second, without starting
the pack; ``policy_runner`` runs the same function on what the started pack announces.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ENFORCEMENT_LEVEL = "enforcementLevel"


class PolicyConfigError(Exception):
    """The policy config is invalid; ``problems`` lists each, as the CLI would refuse it."""

    def __init__(self, problems: list[str], source: str = "policy pack config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return f"invalid {self.source} ({count}):\n" + "\n".join(f"  - {p}" for p in self.problems)


@dataclass(frozen=True)
class PolicySpec:
    name: str
    level: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    """The config schema's properties (JSON schema per key, with defaults)."""
    required: Sequence[str] = ()


def _semantic_checks() -> dict[str, Callable[[Mapping[str, Any]], list[str]]]:
    from policies.guardrails import cloud_quota

    return {cloud_quota.NAME: cloud_quota.config_problems, cloud_quota.UNKNOWN_NAME: cloud_quota.config_problems}


def _same_quota_config(levels: Mapping[str, str], props: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The engine hands each policy only its own config, so the advisory quota policy takes the same block as
    gpu-cloud-quota: when they differ, one would judge quotas the other never saw."""
    from policies.guardrails import cloud_quota

    main, advisory = cloud_quota.NAME, cloud_quota.UNKNOWN_NAME
    if main not in props or advisory not in props or "disabled" in (levels.get(main), levels.get(advisory)):
        return []
    differ = sorted(k for k in cloud_quota.CONFIG_SCHEMA if props[main].get(k) != props[advisory].get(k))
    if not differ:
        return []
    return [
        f"{advisory}: its {', '.join(differ)} differ from {main}'s; both policies judge the same quotas, so give "
        f"{advisory} the same {', '.join(differ)} as {main} (copy the block)"
    ]


def pack_specs() -> list[PolicySpec]:
    """The pack's policies, from its policy objects (no pack process)."""
    from policies.guardrails.pack import LEVEL, POLICIES

    return [
        PolicySpec(
            p.name,
            str((p.enforcement_level or LEVEL).value),
            dict(p.config_schema.properties) if p.config_schema else {},
            list(p.config_schema.required or []) if p.config_schema else [],
        )
        for p in POLICIES
    ]


def load_policy_config_file(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PolicyConfigError([f"{source}: file not found"]) from None
    except IsADirectoryError:
        raise PolicyConfigError([f"{source}: is a directory; expected a JSON file"]) from None
    except OSError as err:
        raise PolicyConfigError([f"{source}: cannot be read: {err.strerror or err}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyConfigError([f"{source}: is not UTF-8 text (byte {err.start})"]) from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise PolicyConfigError([f"{source}: not valid JSON: {err}"]) from None
    except ValueError as err:
        raise PolicyConfigError([f"{source}: {err}"]) from None
    except RecursionError:
        raise PolicyConfigError([f"{source}: nested too deep"]) from None
    if not isinstance(document, dict):
        raise PolicyConfigError([f"{source}: expected a JSON object keyed by policy name"])
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; allowed: finite numbers")


def reconcile(
    specs: Sequence[PolicySpec],
    initial: Mapping[str, Any],
    user: Mapping[str, Any] | None,
    pack: str = "gpu-platform",
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Effective (levels, properties) per policy, as the CLI computes them, or ``PolicyConfigError``."""
    levels = {s.name: s.level for s in specs}
    schemas = {
        s.name: {"type": "object", "properties": dict(s.properties), "required": list(s.required)} for s in specs
    }
    props = {
        s.name: {k: v["default"] for k, v in s.properties.items() if isinstance(v, Mapping) and "default" in v}
        for s in specs
    }
    problems: list[str] = []
    layers: list[tuple[str, Mapping[str, Any]]] = [("initial config", initial)]
    if user is not None:
        layers.append(("policy config file", user))
    for source, layer in layers:
        for name, value in layer.items():
            if name != "all" and name not in levels:
                problems.append(_unknown(source, f"no policy named {name!r} in pack {pack!r}", name, levels))
                continue
            if isinstance(value, str):
                value = {ENFORCEMENT_LEVEL: value}
            if not isinstance(value, Mapping):
                problems.append(
                    f"{source}: {name}: expected an enforcement level or an object, got {json.dumps(value)}"
                )
                continue
            level = value.get(ENFORCEMENT_LEVEL)
            if level is not None and level not in LEVELS:
                problems.append(
                    f"{source}: {name}.{ENFORCEMENT_LEVEL}: {json.dumps(level)} is not allowed; allowed: {', '.join(LEVELS)}"
                )
                continue
            targets = list(levels) if name == "all" else [name]
            for key in value:
                if key != ENFORCEMENT_LEVEL and (name == "all" or key not in schemas[name]["properties"]):
                    allowed = sorted(schemas[name]["properties"]) if name != "all" else []
                    problems.append(
                        _unknown(source, f"{name}.{key}: no such property", str(key), allowed)
                        if name != "all"
                        else f"{source}: all.{key}: 'all' sets enforcement levels only"
                    )
            for target in targets:
                if level is not None:
                    levels[target] = level
                if name != "all":
                    props[target].update({k: v for k, v in value.items() if k in schemas[target]["properties"]})
    checks = _semantic_checks()
    for name in sorted(levels):
        validator = jsonschema.Draft7Validator(schemas[name])
        schema_problems = sorted(validator.iter_errors(props[name]), key=lambda e: list(e.absolute_path))
        for err in schema_problems:
            where = ".".join(str(p) for p in err.absolute_path)
            problems.append(f"{name}{'.' + where if where else ''}: {err.message}")
        if not schema_problems and levels[name] != "disabled" and name in checks:
            problems += [f"{name}.{p}" for p in checks[name](props[name])]
    if not problems:
        problems += _same_quota_config(levels, props)
    if problems:
        raise PolicyConfigError(problems)
    return levels, props


def _unknown(source: str, message: str, word: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    import difflib

    names = sorted(known)
    hint = difflib.get_close_matches(word, names, n=1)
    guess = f" (did you mean {hint[0]}?)" if hint else ""
    allowed = f"; allowed: {', '.join(names)}" if names else ""
    return f"{source}: {message}{guess}{allowed}"


def check_user_config(user: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The user's policy config against the pack's own policies, before the program or the pack runs."""
    return reconcile(pack_specs(), {}, user)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, policy by policy (a level string is ``{"enforcementLevel": ...}``): how
    CI lays its own settings (``.ci/policy-config.json``) over a stack's ``stacks/policy-config.<stack>.json``,
    since ``pulumi preview`` takes one ``--policy-pack-config`` file."""
    out: dict[str, Any] = {name: dict(_as_object(value)) for name, value in base.items()}
    for name, value in override.items():
        out.setdefault(name, {}).update(_as_object(value))
    return out


def _as_object(value: Any) -> Mapping[str, Any]:
    return {ENFORCEMENT_LEVEL: value} if isinstance(value, str) else value if isinstance(value, Mapping) else {}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m infra.plan.policy_config BASE.json OVERRIDE.json``: the merged config, checked, on stdout."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m infra.plan.policy_config", description=main.__doc__)
    parser.add_argument("base", type=Path)
    parser.add_argument("override", type=Path)
    args = parser.parse_args(argv)
    try:
        merged = merge(load_policy_config_file(args.base), load_policy_config_file(args.override))
        check_user_config(merged)
    except PolicyConfigError as err:
        print(err.render(), file=sys.stderr)
        return 2
    print(json.dumps(merged, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
