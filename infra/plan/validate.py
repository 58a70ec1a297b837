"""Validate rendered Kubernetes objects the way ``kubectl apply --validate=strict`` would, offline.

    report = validate_manifests(manifests(capture.registrations), schema_dir=None, k8s_version="1.33.0")
    if not report.ok: print(report.render())

- **Core objects** (the legacy core group, dotless groups such as ``apps``, ``*.k8s.io`` but not
  ``*.x-k8s.io``) against the strict schemas that the installed ``kubernetes-validate`` package bundles
  for Kubernetes 1.25-1.37: unknown fields are errors. A kind or version that a dotless group does not
  serve is an error too (CRD groups always contain a dot, so nothing else can serve it).
- **Custom resources** against the ``openAPIV3Schema`` of their CRD version, read from ``schema_dir``
  when one is given. Layout: ``<group>/<kind>_<version>[.nodesc].json`` (kind in lower case; e.g.
  ``kueue.x-k8s.io/clusterqueue_v1beta2.json``), optionally with an ``INDEX.json`` beside the group
  directories: a list of ``{"group", "kind", "versions": [{"name", "served", "deprecated", "schema_file"}]}``
  whose ``schema_file`` is found by its file name in ``<group>/``. The schemas are closed like the API
  server's strict field validation (every object schema that lists ``properties`` and neither
  ``additionalProperties`` nor ``x-kubernetes-preserve-unknown-fields`` rejects other fields); absent
  fields get their schema defaults and non-nullable nulls are dropped first, as the API server does
  before it validates. A version the directory knows the kind in, but not this one, is an error
  ("not served"). The ``metadata`` of a custom resource is checked against the strict ObjectMeta schema.
- Everywhere: ``metadata.name`` is required (``kubectl apply`` refuses ``generateName``), and where a
  schema says integer the value must be one: ``replicas: 2.0`` is refused by the API server's decoder,
  although JSON Schema calls 2.0 an integer.

Not checked: CEL rules (``x-kubernetes-validations``), ``format``, admission webhooks, anything that
needs a cluster. Custom resources without a schema (no ``schema_dir``, or none for their group, kind and
version) are counted as *not validated*, never as valid.

Compiled validators are cached per Kubernetes version and kind, and per schema file, for the life of the
process: validating the objects of a 100-pool stack costs milliseconds after the first call (see
``benchmarks/validate_cost.py``).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

K8S_VERSION = "1.33.0"
"""Default Kubernetes version whose core schemas are used."""

_MESSAGE_LIMIT = 300
_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META = f"{_DEFINITIONS_URI}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_SCHEMA_FILE = re.compile(r"^(?P<kind>[a-z0-9]+)_(?P<version>v[0-9]+(?:(?:alpha|beta)[0-9]+)?)(?:\.nodesc)?\.json$")
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class SchemaDirError(ValueError):
    """The schema directory is missing, empty or inconsistent."""


class KubernetesVersionError(ValueError):
    """kubernetes-validate has no schemas for the requested Kubernetes version."""


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Problem:
    """One reason an object would be refused."""

    file: str
    api_version: str
    kind: str
    name: str
    path: str
    """Field path in the object, e.g. ``spec.resourceGroups[0].flavors[1].name`` (``.`` is the object)."""
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}/{self.name}: {self.path}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {
            "file": self.file,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "message": self.message,
        }


@dataclass(frozen=True)
class NotValidated:
    """An object no schema was found for (its metadata may still have been checked)."""

    file: str
    api_version: str
    kind: str
    name: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {
            "file": self.file,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ValidationReport:
    """What ``validate_manifests`` found. Every object is exactly one of valid, invalid or not validated."""

    k8s_version: str
    """The core schema set used (``major.minor``)."""
    schema_dir: str | None
    objects: int
    valid: int
    invalid: int
    """Objects with at least one problem (a custom resource without a schema is invalid if its metadata is)."""
    not_validated: int
    problems: tuple[Problem, ...] = ()
    """Every problem, in object order, then by field path."""
    unvalidated: tuple[NotValidated, ...] = ()
    warnings: tuple[str, ...] = ()
    """Deprecated API versions in use (from the schema directory's INDEX.json)."""

    @property
    def validated(self) -> int:
        """Objects checked: valid + invalid."""
        return self.valid + self.invalid

    @property
    def ok(self) -> bool:
        """No invalid object (objects without a schema do not make a report fail)."""
        return self.invalid == 0

    def summary_line(self) -> str:
        """``15 objects: 13 validated (0 invalid), 2 not validated (Kubernetes 1.33, no CRD schemas)``."""
        source = f"CRD schemas {self.schema_dir}" if self.schema_dir else "no CRD schemas"
        return (
            f"{self.objects} objects: {self.validated} validated ({self.invalid} invalid), "
            f"{self.not_validated} not validated (Kubernetes {self.k8s_version}, {source})"
        )

    def render(self, limit: int = 50) -> str:
        """The summary line, then at most ``limit`` problems, the kinds not validated and the warnings."""
        lines = [self.summary_line()]
        lines += [f"  - {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more problems")
        kinds = sorted({f"{u.api_version} {u.kind}" for u in self.unvalidated})
        if kinds:
            lines.append("  not validated (no schema): " + ", ".join(kinds))
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "k8sVersion": self.k8s_version,
            "schemaDir": self.schema_dir,
            "objects": self.objects,
            "validated": self.validated,
            "valid": self.valid,
            "invalid": self.invalid,
            "notValidated": self.not_validated,
            "problems": [p.to_json() for p in self.problems],
            "notValidatedObjects": [u.to_json() for u in self.unvalidated],
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------- strict JSON Schema


def _is_integer(_checker: Any, value: Any) -> bool:
    # JSON Schema calls 2.0 an integer; the API server's decoder refuses it for integer fields.
    return isinstance(value, int) and not isinstance(value, bool)


StrictValidator: Any = jsonschema.validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
)


def _field_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out or "."


def _join(prefix: str, path: str) -> str:
    if path == ".":
        return prefix or "."
    if not prefix or prefix == ".":
        return path
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def _allowed(names: Iterable[str]) -> str:
    names = sorted(names)
    shown = ", ".join(names[:20])
    return shown + (", ..." if len(names) > 20 else "") if names else "none"


def _integral_float_for_integer(value: Any, expected: Any) -> bool:
    types = [expected] if isinstance(expected, str) else list(expected)
    return isinstance(value, float) and value.is_integer() and "integer" in types


def _schema_errors(validator: Any, instance: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(field path, message)`` for every error, unknown fields and missing required fields one by one."""
    out: dict[tuple[str, str], None] = {}
    for error in validator.iter_errors(instance):
        path = _join(prefix, _field_path(error.absolute_path))
        if error.validator == "additionalProperties" and error.validator_value is False:
            props = error.schema.get("properties") or {}
            patterns = list((error.schema.get("patternProperties") or {}).keys())
            for key in error.instance:
                if key not in props and not any(re.search(p, key) for p in patterns):
                    out[(_join(path, _field_path([key])), f"unknown field; allowed: {_allowed(props)}")] = None
        elif error.validator == "required" and isinstance(error.instance, dict):
            for key in error.validator_value:
                if key not in error.instance:
                    out[(_join(path, _field_path([key])), "required field is missing")] = None
        elif error.validator == "type" and _integral_float_for_integer(error.instance, error.validator_value):
            out[(path, f"{error.instance!r} is not an integer; write {int(error.instance)}")] = None
        elif error.validator in ("anyOf", "oneOf") and any(
            _integral_float_for_integer(error.instance, sub.get("type", ()))
            for sub in error.validator_value
            if isinstance(sub, dict)
        ):
            # int-or-string fields (quantities, ports): the same mistake, said the same way
            out[(path, f"{error.instance!r} is not an integer or a string; write {int(error.instance)}")] = None
        else:
            out[(path, _message(error))] = None
    return sorted(out)


_SIZE_LIMITS = {
    "maxItems": ("items", "at most"),
    "minItems": ("items", "at least"),
    "maxLength": ("characters", "at most"),
    "minLength": ("characters", "at least"),
    "maxProperties": ("keys", "at most"),
    "minProperties": ("keys", "at least"),
}


def _message(error: Any) -> str:
    """jsonschema's message, without a long repr of the value in front (a list of 100 flavors ...)."""
    if error.validator in _SIZE_LIMITS and isinstance(error.instance, (list, str, dict)):
        unit, bound = _SIZE_LIMITS[error.validator]
        return f"{len(error.instance)} {unit}; {bound} {error.validator_value} allowed"
    message, shown = str(error.message), repr(error.instance)
    if len(shown) > 60 and message.startswith(shown):
        message = f"the {type(error.instance).__name__}{message[len(shown) :]}".replace("the dict", "the object")
    return _short(message)


# ---------------------------------------------------------------- core kinds (kubernetes-validate)


def _version_tuple(text: str) -> tuple[int, int]:
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", text.strip())
    if not match:
        raise KubernetesVersionError(f"Kubernetes version {text!r}: expected MAJOR.MINOR[.PATCH], e.g. 1.33.0")
    return int(match.group(1)), int(match.group(2))


class _CoreSchemas:
    """kubernetes-validate's strict schemas for one Kubernetes version, compiled on first use per kind."""

    def __init__(self, directory: Any, version: str) -> None:
        self.directory = directory
        self.version = version
        definitions = json.loads((directory / "_definitions.json").read_text(encoding="utf-8"))
        self.registry: Registry[Any] = Registry().with_resource(_DEFINITIONS_URI, Resource.from_contents(definitions))
        self._validators: dict[tuple[str, str], Any | None] = {}
        self.object_meta = StrictValidator({"$ref": _OBJECT_META}, registry=self.registry)

    def validator(self, api_version: str, kind: str) -> Any | None:
        key = (api_version, kind)
        if key not in self._validators:
            # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
            suffix = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            resource = self.directory / f"{kind.lower()}-{suffix}.json"
            if resource.is_file():
                schema = json.loads(resource.read_text(encoding="utf-8"))
                self._validators[key] = StrictValidator(schema, registry=self.registry)
            else:
                self._validators[key] = None
        return self._validators[key]


@functools.lru_cache(maxsize=8)
def _core_schemas(k8s_version: str) -> _CoreSchemas:
    wanted = _version_tuple(k8s_version)
    root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    available: dict[tuple[int, int], Any] = {}
    for entry in root.iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if match:
            available[(int(match.group(1)), int(match.group(2)))] = entry
    usable = [v for v in available if v <= wanted]
    if not usable or wanted > max(available):
        lo, hi = min(available), max(available)
        raise KubernetesVersionError(
            f"Kubernetes {wanted[0]}.{wanted[1]}: kubernetes-validate has strict schemas for "
            f"{lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}"
        )
    best = max(usable)
    return _CoreSchemas(available[best], f"{best[0]}.{best[1]}")


def is_core_group(api_version: str) -> bool:
    """Built-in API groups: the legacy core group, dotless groups, and ``*.k8s.io`` (not ``*.x-k8s.io``)."""
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return "." not in group or (group.endswith(".k8s.io") and not group.endswith("x-k8s.io"))


# ---------------------------------------------------------------- custom resources (a CRD schema directory)


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")


def _close_world(schema: Any) -> Any:
    """The API server's strict view of a structural schema, in a form Python's JSON Schema can run."""
    if not isinstance(schema, dict):
        return schema  # booleans
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _close_world(sub) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_close_world(sub) for sub in out[key]]
    for key in _SCHEMA_ONE:
        if key in out:
            out[key] = _close_world(out[key])
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    pattern = out.get("pattern")
    if isinstance(pattern, str):
        if "(?i)" in pattern and not pattern.startswith("(?i)"):
            # RE2 takes flags anywhere; Python only at the start.
            pattern = "(?i)" + pattern.replace("(?i)", "")
        try:
            re.compile(pattern)
            out["pattern"] = pattern
        except re.error:
            del out["pattern"]  # an RE2-only construct: not checkable here
    return out


def _defaulted(instance: Any, schema: Any) -> Any:
    """Drop nulls the schema does not allow, fill absent properties with their defaults (nested), like the
    API server does before validating a custom resource."""
    if not isinstance(schema, dict):
        return instance
    if isinstance(instance, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else None
        out: dict[str, Any] = {}
        for key, value in instance.items():
            sub = props.get(key, extra)
            if value is None and not (sub or {}).get("nullable"):
                continue
            out[key] = _defaulted(value, sub) if sub else value
        for key, sub in props.items():
            if key not in out and isinstance(sub, dict) and "default" in sub:
                out[key] = _defaulted(copy.deepcopy(sub["default"]), sub)
        return out
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [_defaulted(v, schema["items"]) for v in instance if v is not None]
    return instance


@dataclass
class _CrdVersion:
    path: Path
    kind: str | None  # exact kind when INDEX.json or the schema names it
    served: bool = True
    deprecated: bool = False
    storage_version: str | None = None
    compiled: tuple[dict[str, Any], Any] | None = field(default=None, repr=False)


class CrdSchemas:
    """The CRD schemas under one directory, by (group, lower-case kind) and version, compiled on first use."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SchemaDirError(f"CRD schema directory {root} does not exist")
        self.root = root
        self.kinds: dict[tuple[str, str], dict[str, _CrdVersion]] = {}
        index = root / "INDEX.json"
        if index.is_file():
            self._read_index(index)
        for path in sorted(root.glob("*/*.json")):
            match = _SCHEMA_FILE.match(path.name)
            if match:
                versions = self.kinds.setdefault((path.parent.name, match["kind"]), {})
                versions.setdefault(match["version"], _CrdVersion(path, None))
        if not self.kinds:
            raise SchemaDirError(
                f"no CRD schemas under {root}: expected <group>/<kind>_<version>.json files (and optionally INDEX.json)"
            )

    def _read_index(self, index: Path) -> None:
        try:
            entries = json.loads(index.read_text(encoding="utf-8"))
            for entry in entries:
                group, kind = entry["group"], entry["kind"]
                storage = next((v["name"] for v in entry["versions"] if v.get("storage")), None)
                versions = self.kinds.setdefault((group, kind.lower()), {})
                for v in entry["versions"]:
                    if not v.get("schema_file"):
                        continue
                    path = self.root / group / Path(v["schema_file"]).name
                    if not path.is_file():
                        raise SchemaDirError(f"{index}: {group} {kind} {v['name']}: {path} is missing")
                    versions[v["name"]] = _CrdVersion(
                        path, kind, bool(v.get("served", True)), bool(v.get("deprecated")), storage
                    )
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise SchemaDirError(f"{index}: not a CRD index ({err})") from err

    def find(self, group: str, version: str, kind: str) -> tuple[_CrdVersion | None, list[str]]:
        """The schema of this group, version and kind (or ``None``), and the versions known for the kind."""
        versions = self.kinds.get((group, kind.lower()), {})
        found = versions.get(version)
        return (found if found and found.served else None), sorted(n for n, v in versions.items() if v.served)

    def compiled(self, entry: _CrdVersion) -> tuple[dict[str, Any], Any]:
        if entry.compiled is None:
            try:
                raw = json.loads(entry.path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise SchemaDirError(f"{entry.path}: not JSON ({err})") from err
            schema = raw.get("openAPIV3Schema", raw)
            gvk = raw.get("x-kubernetes-group-version-kind")
            if entry.kind is None and isinstance(gvk, list) and gvk and isinstance(gvk[0], dict):
                entry.kind = gvk[0].get("kind")
            closed = _close_world({k: v for k, v in schema.items() if k not in ("$comment", "$schema", "$id")})
            meta = (schema.get("properties") or {}).get("metadata")
            if isinstance(meta, dict):
                # A CRD may constrain metadata.name; the rest of ObjectMeta is the API server's own (checked apart).
                closed["properties"]["metadata"] = meta
            entry.compiled = (closed, StrictValidator(closed))
        return entry.compiled


@functools.lru_cache(maxsize=8)
def _crd_schemas(root: str) -> CrdSchemas:
    return CrdSchemas(Path(root))


# ---------------------------------------------------------------- validation


def _check(
    obj: Mapping[str, Any], core: _CoreSchemas, crds: CrdSchemas | None, warnings: set[str]
) -> tuple[list[tuple[str, str]], str | None]:
    """``(problems, reason not validated or None)`` for one object."""
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    problems: list[tuple[str, str]] = []
    if not api_version or not kind:
        return [(".", "apiVersion and kind are required")], None
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        problems.append(("metadata.name", "required field is missing"))
    group, _, version = api_version.rpartition("/")

    if crds is not None:
        entry, served = crds.find(group, version, kind)
        if entry is not None:
            schema, validator = crds.compiled(entry)
            if entry.kind is not None and entry.kind != kind:
                problems.append(("kind", f"{kind!r} is not a kind of {api_version}; did you mean {entry.kind}?"))
            if entry.deprecated:
                storage = f" (storage version: {entry.storage_version})" if entry.storage_version else ""
                warnings.add(f"{api_version} {entry.kind or kind} is deprecated{storage}")
            problems += _schema_errors(validator, _defaulted(dict(obj), schema))
            if isinstance(metadata, dict):
                problems += _schema_errors(core.object_meta, metadata, "metadata")
            return sorted(set(problems)), None
        if served:
            problems.append(("apiVersion", f"{api_version} serves no {kind}; served versions: {', '.join(served)}"))
            return problems, None

    if is_core_group(api_version):
        validator = core.validator(api_version, kind)
        if validator is not None:
            return sorted(set(problems + _schema_errors(validator, obj))), None
        if "." not in group:  # dotless groups are built in; no CRD can serve them
            problems.append(("kind", f"Kubernetes {core.version} serves no {kind} in {api_version}"))
            return problems, None

    if isinstance(metadata, dict):
        problems += _schema_errors(core.object_meta, metadata, "metadata")
    if problems:
        return sorted(set(problems)), None
    if crds is None:
        return [], "custom resource and no CRD schema directory"
    return [], f"no schema for {api_version} {kind} in {crds.root}"


def clear_caches() -> None:
    """Forget every loaded schema and compiled validator (for measurements of a cold start)."""
    _core_schemas.cache_clear()
    _crd_schemas.cache_clear()


def validate_manifests(
    manifests: Sequence[tuple[str, Mapping[str, Any]]],
    schema_dir: Path | None = None,
    k8s_version: str = K8S_VERSION,
) -> ValidationReport:
    """Validate ``(file name, object)`` pairs (as ``infra.plan.render.manifests`` returns them).

    ``schema_dir``: a CRD schema directory (see the module docstring), or ``None`` to leave custom resources
    not validated. ``k8s_version``: ``MAJOR.MINOR[.PATCH]``; the newest kubernetes-validate schema set not
    newer than it is used. Pure apart from reading schemas (cached per process); never raises for an invalid
    object. Raises ``SchemaDirError`` for a missing, empty or inconsistent ``schema_dir`` and
    ``KubernetesVersionError`` for a version kubernetes-validate has no schemas for.
    """
    core = _core_schemas(k8s_version)
    crds = _crd_schemas(str(schema_dir.resolve())) if schema_dir is not None else None
    problems: list[Problem] = []
    unvalidated: list[NotValidated] = []
    warnings: set[str] = set()
    valid = invalid = 0
    for file_name, obj in manifests:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        meta = obj.get("metadata")
        name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
        found, reason = _check(obj, core, crds, warnings)
        if found:
            invalid += 1
            problems += [Problem(file_name, api_version, kind, name, path, msg) for path, msg in found]
        elif reason is not None:
            unvalidated.append(NotValidated(file_name, api_version, kind, name, reason))
        else:
            valid += 1
    return ValidationReport(
        k8s_version=core.version,
        schema_dir=str(schema_dir) if schema_dir is not None else None,
        objects=len(manifests),
        valid=valid,
        invalid=invalid,
        not_validated=len(unvalidated),
        problems=tuple(problems),
        unvalidated=tuple(unvalidated),
        warnings=tuple(sorted(warnings)),
    )
