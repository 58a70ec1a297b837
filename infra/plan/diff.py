"""What changed between two plans: resources added, removed, and changed (inputs and options), by URN.

``python -m infra.plan --stack aws-dev --diff OLD_DIR`` compares this plan with the ``resources.json`` an
earlier ``--out OLD_DIR`` wrote: the view a pull request's reviewer wants (run the base branch's plan with
``--out``, then the branch's with ``--diff``). Pure functions over the records ``render.resource_record`` writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPTIONS = ("parent", "protect", "provider", "dependencies", "retainOnDelete", "deleteBeforeReplace")
SHOWN_PATHS = 6
"""How many changed paths a resource lists before summing up the rest."""


@dataclass
class PlanDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    """URN -> the input paths and options that differ."""
    values: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    """URN -> path -> (old, new), for the changed input paths."""
    stacks: tuple[str, str] = ("", "")
    """The stack names of the two plans' URNs (old, new)."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def _stack(records: Sequence[Mapping[str, Any]]) -> str:
    """The stack a plan's URNs name (``urn:pulumi:<stack>::...``)."""
    return str(records[0]["urn"]).split(":", 3)[2].split("::", 1)[0] if records else ""


def load_records(out_dir: Path) -> list[dict[str, Any]]:
    """The records of an earlier plan's ``--out`` directory."""
    loaded: list[dict[str, Any]] = json.loads((out_dir / "resources.json").read_text(encoding="utf-8"))
    return loaded


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = dict(_leaves(old.get("inputs") or {})), dict(_leaves(new.get("inputs") or {}))
    paths = [f"inputs.{p}" for p in sorted(set(before) | set(after)) if before.get(p, ...) != after.get(p, ...)]
    return paths + [o for o in OPTIONS if old.get(o) != new.get(o)]


def diff(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> PlanDiff:
    before, after = {r["urn"]: r for r in old}, {r["urn"]: r for r in new}
    result = PlanDiff(
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        stacks=(_stack(old), _stack(new)),
    )
    for urn in sorted(set(before) & set(after)):
        if paths := changed_paths(before[urn], after[urn]):
            result.changed[urn] = paths
            old_leaves, new_leaves = (
                dict(_leaves(before[urn].get("inputs") or {})),
                dict(_leaves(after[urn].get("inputs") or {})),
            )
            result.values[urn] = {
                p: (old_leaves.get(p.removeprefix("inputs.")), new_leaves.get(p.removeprefix("inputs.")))
                for p in paths
                if p.startswith("inputs.")
            }
    return result


SHOWN_CHARS = 40
"""How much of a value a line shows."""


def _value(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _short(urn: str) -> str:
    """``Type::name`` of a URN (its last type and its name)."""
    kind, _, name = urn.rpartition("::")
    return f"{kind.rsplit('$', 1)[-1].rsplit(':', 1)[-1]}::{name}"


def render(result: PlanDiff, other: str) -> str:
    if result.empty:
        return f"no change against {other}"
    lines = [
        f"against {other}: {len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed"
    ]
    old_stack, new_stack = result.stacks
    if old_stack and new_stack and old_stack != new_stack:
        lines.append(f"  note: {other} is a plan of stack {old_stack}, this one of {new_stack}: every URN differs")
    lines += [f"  + {_short(u)}" for u in result.added]
    lines += [f"  - {_short(u)}" for u in result.removed]
    for urn, paths in result.changed.items():
        more = f" (+{len(paths) - SHOWN_PATHS} more)" if len(paths) > SHOWN_PATHS else ""
        lines.append(f"  ~ {_short(urn)}: {', '.join(paths[:SHOWN_PATHS])}{more}")
        values = result.values.get(urn, {})
        for path in paths[:SHOWN_PATHS]:
            if path in values:
                old_value, new_value = values[path]
                lines.append(f"      {path}: {_value(old_value)} -> {_value(new_value)}")
    return "\n".join(lines)
