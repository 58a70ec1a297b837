"""Read stack config once, validate it fully, and report every problem at once.

Two sources give the same raw mapping (keys without the ``gpu-platform:``
prefix, values as YAML/JSON types): a ``Pulumi.<stack>.yaml`` file (the offline
plan, tests) and the Pulumi engine's config (``pulumi up``). Both go through
``parse`` so the program and the plan validate identically. No cloud SDK is
imported here: a bad config fails before anything heavy loads.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from stacks.checks import semantic_issues
from stacks.contract import PlatformContract, platform_contract
from stacks.model import NAMESPACE, PlatformConfig
from stacks.workload_checks import endpoint_issues, job_issues

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

# Top-level keys Pulumi reads in a stack file; anything else is a mistake (a key meant for `config:`).
STACK_FILE_KEYS = ("config", "encryptedkey", "encryptionsalt", "environment", "secretsprovider")
MAX_DEPTH = 32
"""Nesting deeper than this is no stack config (and a recursion bomb in the making)."""
MAX_VALUES = 100_000
"""Values after alias expansion; past this a few lines of YAML aliases have become gigabytes."""


@dataclass(frozen=True)
class StackFile:
    raw: dict[str, Any]
    """The ``gpu-platform:`` keys, prefix removed, as plain JSON values (secrets as a placeholder)."""
    other_keys: tuple[str, ...]
    """Keys of other namespaces (provider config such as ``aws:region``): Pulumi passes them to providers."""
    issues: tuple[ConfigIssue, ...] = ()
    """What is wrong with the file beyond its values (reported together with the values' problems)."""
    environments: tuple[str, ...] = ()
    """The Pulumi ESC environments the stack imports (``environment:``)."""


class _PulumiYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading scalars as Pulumi's YAML 1.2 reader does, refusing duplicate keys.

    PyYAML implements YAML 1.1, where ``yes``/``off`` are booleans and ``1:30`` is the integer 90;
    Pulumi hands the program those as the strings they are in YAML 1.2. The offline plan must read
    the file exactly as ``pulumi up`` will, so the implicit types are the YAML 1.2 core schema's.
    """

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


# The YAML 1.2 core schema's implicit scalars (anything else is a string).
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _PulumiYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _int_12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    base = 8 if text.startswith("0o") else 16 if text.startswith("0x") else 10
    return int(text[2:] if base != 10 else text, base)


_PulumiYamlLoader.add_constructor("tag:yaml.org,2002:int", _int_12)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """A parser error without the quoted source line: that line may hold a secret."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or "unreadable YAML"
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"not valid YAML: {problem}{where}"


def _source_error(source: str, message: str) -> ConfigError:
    return ConfigError([ConfigIssue(source, message)], source)


def _read_text(path: Path) -> str:
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _source_error(source, "file not found") from None
    except IsADirectoryError:
        raise _source_error(source, "is a directory; expected a stack config file (Pulumi.<stack>.yaml)") from None
    except PermissionError:
        raise _source_error(source, "not readable (permission denied)") from None
    except OSError as err:
        raise _source_error(source, f"cannot be read: {err.strerror or err}") from None
    if b"\x00" in data:
        raise _source_error(source, "is a binary file; expected YAML text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _source_error(source, f"is not UTF-8 text (byte {err.start}); save it as UTF-8") from None


def _plain(value: Any, at: str, issues: list[ConfigIssue], depth: int = 0, budget: list[int] | None = None) -> Any:
    """``value`` as JSON (what Pulumi hands a program), or issues naming each YAML-only value's key path."""
    budget = budget if budget is not None else [MAX_VALUES]
    if depth > MAX_DEPTH:  # also where aliases refer to themselves
        issues.append(ConfigIssue(at, f"nested too deep (recursive YAML aliases?); allowed: {MAX_DEPTH} levels"))
        return None
    budget[0] -= 1
    if budget[0] < 0:
        if budget[0] == -1:
            issues.append(
                ConfigIssue(at, f"expands to over {MAX_VALUES} values (YAML aliases?); it is no stack config")
            )
        return None
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            if not isinstance(value["secure"], str):
                issues.append(ConfigIssue(at, "secure: holds the ciphertext Pulumi wrote, a string; set it again"))
                return None
            return SECRET_PLACEHOLDER  # the stack's secrets provider is not available offline
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                issues.append(ConfigIssue(at, f"key {key!r} is not a string; quote it"))
                continue
            out[key] = _plain(item, f"{at}.{key}", issues, depth + 1, budget)
        return out
    if isinstance(value, list):
        return [_plain(item, f"{at}[{i}]", issues, depth + 1, budget) for i, item in enumerate(value)]
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            issues.append(ConfigIssue(at, f"{value} is not a number JSON can carry; allowed: a finite number"))
            return None
        return value
    kinds = {
        datetime.datetime: "a YAML timestamp",
        datetime.date: "a YAML date",
        bytes: "YAML binary",
        set: "a YAML set",
    }
    kind = next((name for t, name in kinds.items() if isinstance(value, t)), type(value).__name__)
    issues.append(ConfigIssue(at, f"is {kind}, which Pulumi config cannot carry; quote it if you meant text"))
    return None


def _near_namespace(namespace: str) -> bool:
    """A namespace that is almost certainly a typo of ours (other namespaces belong to providers)."""
    folded = namespace.lower().replace("_", "-")
    return folded == NAMESPACE or difflib.SequenceMatcher(None, folded, NAMESPACE).ratio() >= 0.8


def load_json_or_yaml(path: Path) -> Any:
    """A JSON or YAML file, read safely; an unreadable one is a ConfigError naming it."""
    source = str(path)
    try:
        return yaml.load(_read_text(path), Loader=_PulumiYamlLoader)
    except yaml.YAMLError as err:
        raise _source_error(source, _yaml_problem(err)) from None


def environment_config(values: Any, source: str) -> dict[str, Any]:
    """The ``pulumiConfig`` of an ESC environment's values (``esc env open ENV --format json`` prints them; an
    environment definition holds them under ``values:``), keys qualified as Pulumi qualifies them."""
    if isinstance(values, dict) and isinstance(values.get("values"), dict):
        values = values["values"]
    config = values.get("pulumiConfig") if isinstance(values, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            [ConfigIssue(source, "no pulumiConfig: in it (what `esc env open ENV --format json` prints)")], source
        )
    # An unqualified key belongs to the project's namespace, as in Pulumi.yaml.
    return {(k if ":" in str(k) else f"{NAMESPACE}:{k}"): v for k, v in config.items()}


def load_stack_file(path: Path, environment: dict[str, Any] | None = None) -> StackFile:
    """A ``Pulumi.<stack>.yaml`` file read by Pulumi's rules, every problem reported at once.

    Only Pulumi's top-level keys; every config key ``<namespace>:<name>``; keys of other
    namespaces are kept for their providers; a near miss of ``gpu-platform`` is an error; the
    legacy ``<namespace>:config:<name>`` form is refused (Pulumi reads it as ``<namespace>:<name>``;
    accepting both spellings would let one silently shadow the other); duplicate keys, aliases that
    expand without bound and YAML-only values (dates, sets, binary) are errors; encrypted values
    read as a secret placeholder.
    """
    source = str(path)
    text = _read_text(path)
    try:
        document = yaml.load(text, Loader=_PulumiYamlLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as err:
        raise _source_error(source, _yaml_problem(err)) from None
    except RecursionError:
        raise _source_error(source, "nested too deep to read") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise _source_error(source, "expected a mapping with a 'config:' key (a Pulumi stack file)")
    issues: list[ConfigIssue] = []
    for key in document:
        if key not in STACK_FILE_KEYS:
            hint = difflib.get_close_matches(str(key), STACK_FILE_KEYS, n=1)
            guess = f" (did you mean {hint[0]}?)" if hint else ""
            issues.append(
                ConfigIssue(
                    f"{source}: {key}",
                    f"not a key of a Pulumi stack file{guess}; allowed: {', '.join(STACK_FILE_KEYS)} "
                    f"(settings go under config: as {NAMESPACE}:<key>)",
                )
            )
    config = document.get("config") or {}
    if not isinstance(config, dict):
        issues.append(ConfigIssue(f"{source}: config", "expected a mapping of keys to values"))
        raise ConfigError(issues, source)
    named = document.get("environment") or []
    environments = tuple(
        str(e) for e in ([named] if isinstance(named, str) else named if isinstance(named, list) else [])
    )

    raw: dict[str, Any] = {}
    other: list[str] = []
    budget = [MAX_VALUES]
    for key, value in config.items():
        full = str(key)
        namespace, _, name = full.partition(":")
        if not namespace and name:
            issues.append(ConfigIssue(full, "has an empty namespace; Pulumi config keys are <namespace>:<name>"))
        elif not name:
            issues.append(
                ConfigIssue(
                    full, f"has no namespace; Pulumi config keys are <namespace>:<name>, e.g. {NAMESPACE}:{full}"
                )
            )
        elif namespace != NAMESPACE:
            if _near_namespace(namespace):
                issues.append(ConfigIssue(full, f"unknown namespace {namespace!r} (did you mean {NAMESPACE}?)"))
            else:
                other.append(full)
                _plain(value, full, issues, budget=budget)  # Pulumi reads these too: no bombs, no YAML-only values
        elif name.startswith("config:"):
            issues.append(ConfigIssue(full, f"legacy key form; write {NAMESPACE}:{name.removeprefix('config:')}"))
        elif ":" in name:
            issues.append(ConfigIssue(full, f"a config key has one namespace; write {NAMESPACE}:<name>"))
        elif "[" in name or "." in name:
            top = re.split(r"[.\[]", name, maxsplit=1)[0]
            issues.append(
                ConfigIssue(
                    full,
                    f"path syntax is for `pulumi config set --path`; in the file, nest the value under {NAMESPACE}:{top}",
                )
            )
        else:
            raw[name] = _plain(_json_text(name, value), f"{NAMESPACE}:{name}", issues, budget=budget)
    cluster = raw.get("cluster")
    if (
        isinstance(cluster, dict)
        and isinstance(cluster.get("kubeconfig"), str)
        and cluster["kubeconfig"] != SECRET_PLACEHOLDER
    ):
        # Credentials in plain text in a file that is committed; never echo them.
        issues.append(
            ConfigIssue(
                f"{NAMESPACE}:cluster.kubeconfig",
                "is plain text in the stack file; store it encrypted: "
                f"pulumi config set --secret --path '{NAMESPACE}:cluster.kubeconfig' < kubeconfig.yaml "
                "(or point cluster.kubeconfigPath at the file)",
            )
        )
    issues += _plaintext_job_secrets(raw, "stack file")
    # The environment's values come under the stack file's own (which win, as Pulumi merges them), after the
    # plain-text checks: ESC holds its secrets encrypted, so a kubeconfig or token from it is no committed secret.
    for full, value in (environment or {}).items():
        namespace, _, name = str(full).partition(":")
        if namespace != NAMESPACE:
            if full not in other:
                other.append(str(full))
        elif name not in raw:
            raw[name] = _plain(_json_text(name, value), f"{NAMESPACE}:{name} (environment)", issues, budget=budget)
    return StackFile(raw, tuple(sorted(other)), tuple(issues), environments)


def _plaintext_job_secrets(raw: Mapping[str, Any], where: str) -> list[ConfigIssue]:
    """Job and endpoint credentials (``hfToken``, ``secretEnv``) written in plain text: refused, never echoed."""
    issues = []
    for section, items in (("training", "jobs"), ("serving", "endpoints")):
        issues += _plaintext_secrets_in(raw, section, items, where)
    return issues


def _plaintext_secrets_in(raw: Mapping[str, Any], section: str, items: str, where: str) -> list[ConfigIssue]:
    block = raw.get(section)
    workloads = block.get(items) if isinstance(block, dict) else None
    issues = []
    for i, workload in enumerate(workloads if isinstance(workloads, list) else []):
        if not isinstance(workload, dict):
            continue
        values = {"hfToken": workload.get("hfToken")}
        secret_env = workload.get("secretEnv")
        if isinstance(secret_env, dict):
            values |= {f"secretEnv.{k}": v for k, v in secret_env.items()}
        for name, value in values.items():
            if isinstance(value, str) and value != SECRET_PLACEHOLDER:
                path = f"{NAMESPACE}:{section}.{items}[{i}].{name}"
                issues.append(
                    ConfigIssue(
                        path,
                        f"is plain text in the {where}; store it encrypted: pulumi config set --secret --path "
                        f"'{path}' <value>",
                    )
                )
    return issues


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``gpu-platform:`` keys of a ``Pulumi.<stack>.yaml`` file, prefix removed (see ``load_stack_file``)."""
    stack = load_stack_file(path)
    if stack.issues:
        raise ConfigError(list(stack.issues), str(path))
    return stack.raw


def read_pulumi_config() -> dict[str, Any]:
    """The ``gpu-platform:`` keys as the Pulumi engine passed them to this program (same rules as a file)."""
    from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

    # The language host hands config over with set_all_config (CONFIG); older
    # hosts and the policy runtime use the PULUMI_CONFIG environment variable.
    merged = {**get_config_env(), **CONFIG.get()}
    raw: dict[str, Any] = {}
    issues: list[ConfigIssue] = []
    for full_key, value in sorted(merged.items()):
        namespace, _, name = full_key.partition(":")
        if namespace != NAMESPACE:
            if _near_namespace(namespace):
                issues.append(ConfigIssue(full_key, f"unknown namespace {namespace!r} (did you mean {NAMESPACE}?)"))
            continue
        if name in _STRING_KEYS:
            raw[name] = value
            continue
        try:
            raw[name] = json.loads(value)
        except (TypeError, ValueError):
            raw[name] = value
    cluster = raw.get("cluster")
    kubeconfig = cluster.get("kubeconfig") if isinstance(cluster, dict) else None
    if (
        isinstance(kubeconfig, str)
        and kubeconfig != SECRET_PLACEHOLDER
        and not is_config_secret(f"{NAMESPACE}:cluster")
    ):
        issues.append(
            ConfigIssue(
                f"{NAMESPACE}:cluster.kubeconfig",
                "is plain text in the stack config; store it encrypted: "
                f"pulumi config set --secret --path '{NAMESPACE}:cluster.kubeconfig' < kubeconfig.yaml",
            )
        )
    for section, items in (("training", "jobs"), ("serving", "endpoints")):
        if not is_config_secret(f"{NAMESPACE}:{section}"):
            issues += _plaintext_secrets_in(raw, section, items, "stack config")
    if issues:
        raise ConfigError(issues, "pulumi config")
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
    if config.platform is not None and not issues:
        issues = team_stack_issues(config)
    if issues:
        raise ConfigError([ConfigIssue(path, message) for path, message in issues], source)
    return config


STACKS_DIR = Path(__file__).resolve().parent
"""Where the project's stack files live (Pulumi.yaml's stackConfigDir): team stacks find their platform here."""


def platform_stack_file(config: PlatformConfig, stacks_dir: Path = STACKS_DIR) -> Path:
    assert config.platform is not None
    if config.platform.file:
        return Path(config.platform.file)
    return stacks_dir / f"Pulumi.{config.platform.stack_name}.yaml"


def team_contract(config: PlatformConfig, stacks_dir: Path = STACKS_DIR) -> PlatformContract:
    """The contract of the platform stack a team stack references, derived from its stack file
    (what the platform program exports as ``platform``); raises ``ConfigError`` naming what is wrong."""
    path = platform_stack_file(config, stacks_dir)
    where = f"{NAMESPACE}:platform.stack"
    if not path.is_file():
        raise ConfigError(
            [
                ConfigIssue(
                    where,
                    f"{config.platform.stack if config.platform else ''!r}: no {path.name} in {path.parent}; a team "
                    "stack is checked and planned against its platform stack's file (in this project, or where "
                    f"{NAMESPACE}:platform.file names it)",
                )
            ],
            "stack config",
        )
    try:
        platform = load_file(path)
    except ConfigError as err:
        raise ConfigError(
            [
                ConfigIssue(
                    where,
                    f"the platform stack {path.name} is not valid: {err.issues[0].path}: "
                    f"{err.issues[0].message}" + (f" (and {len(err.issues) - 1} more)" if len(err.issues) > 1 else ""),
                )
            ],
            "stack config",
        ) from None
    if platform.platform is not None:
        raise ConfigError(
            [ConfigIssue(where, f"{path.name} is itself a team stack; reference a platform stack")], "stack config"
        )
    return platform_contract(platform)


def team_stack_issues(config: PlatformConfig, stacks_dir: Path = STACKS_DIR) -> list[tuple[str, str]]:
    assert config.platform is not None
    try:
        contract = team_contract(config, stacks_dir)
    except ConfigError as err:
        return [(i.path, i.message) for i in err.issues]
    team = config.platform.team
    if contract.team(team) is None:
        allowed = ", ".join(t.name for t in contract.teams) or "(none)"
        return [
            (
                f"{NAMESPACE}:platform.team",
                f"no team {team!r} in platform stack {config.platform.stack}; allowed: {allowed}",
            )
        ]
    return [
        *job_issues(config.training.jobs, contract, only_team=team),
        *endpoint_issues(config.serving.endpoints, contract, only_team=team),
    ]


def load_file(path: Path) -> PlatformConfig:
    return parse_stack_file(load_stack_file(path), source=str(path))


def parse_stack_file(stack: StackFile, source: str) -> PlatformConfig:
    """The file's values validated, its own problems and theirs reported together."""
    try:
        config = parse(stack.raw, source=source)
    except ConfigError as err:
        raise ConfigError([*stack.issues, *err.issues], source) from None
    if stack.issues:
        raise ConfigError(list(stack.issues), source)
    return config


def _json_text(name: str, value: Any) -> Any:
    """A structured key written as JSON text reads as its structure, as the engine hands it to the program
    (``read_pulumi_config``): ``pulumi config set gpu-platform:teams '[...]'`` and ``pulumi new`` prompts
    store such strings."""
    if name in _STRING_KEYS or not isinstance(value, str) or not value.lstrip().startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


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


SHOWN_CHARS = 80
SECRET_FIELDS = frozenset({("cluster", "kubeconfig")})
"""Key paths whose values are secrets: never shown, not even in an error about their type."""
SECRET_KEYS = frozenset({"hfToken", "secretEnv"})
"""Keys whose values (or whose mapping's values) are secrets wherever they appear."""


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    names = tuple(p for p in loc if isinstance(p, str))
    return names[:2] in SECRET_FIELDS or any(n in SECRET_KEYS for n in names)


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


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
        if _is_secret(loc):
            value = SECRET_PLACEHOLDER
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc)
            # snake_case spellings of our camelCase keys are a common slip: suggest the camelCase key.
            hint = difflib.get_close_matches(to_camel(str(loc[-1])), allowed, n=1)
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
