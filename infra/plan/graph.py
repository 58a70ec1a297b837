"""The stack's architecture as a graph: ``python -m infra.plan --stack S --graph FILE``.

One node per component (``ComponentResource``) and per resource registered outside any component, each
listing what it holds (``3 x NodeGroup``); solid edges from a component to the components it contains,
dashed edges where one depends on another. ``.dot`` writes Graphviz DOT; ``.mmd`` a Mermaid flowchart
(GitHub renders it in Markdown: the README's diagram is one); ``.svg`` and ``.png`` render the DOT with
Graphviz's ``dot`` when it is installed. Deterministic: the same plan writes the same bytes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.plan.engine import Registration

FORMATS = (".dot", ".mmd", ".svg", ".png")


@dataclass
class Box:
    urn: str
    label: str
    holds: Counter[str] = field(default_factory=Counter)


def _kind(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def architecture(
    registrations: Sequence[Registration],
) -> tuple[dict[str, Box], set[tuple[str, str]], set[tuple[str, str]]]:
    """(boxes by URN, containment edges, dependency edges) at component level."""
    by_urn = {r.urn: r for r in registrations}

    def owner(urn: str) -> str:
        """The nearest component holding ``urn`` (or the resource itself at the top, under the stack)."""
        reg = by_urn.get(urn)
        while reg is not None and reg.custom:
            parent = by_urn.get(reg.parent)
            if parent is None or parent.type == "pulumi:pulumi:Stack":
                return reg.urn
            reg = parent
        return reg.urn if reg is not None else urn

    boxes: dict[str, Box] = {}
    contains: set[tuple[str, str]] = set()
    depends: set[tuple[str, str]] = set()
    for reg in registrations:
        if reg.type == "pulumi:pulumi:Stack" or reg.type.startswith("pulumi:providers:"):
            continue
        home = owner(reg.urn)
        box = boxes.setdefault(home, Box(home, f"{_kind(by_urn[home].type)} {by_urn[home].name}"))
        if reg.custom:
            box.holds[_kind(reg.type)] += 1
        elif reg.parent in by_urn and by_urn[reg.parent].type != "pulumi:pulumi:Stack":
            contains.add((owner(reg.parent), home))
        for dep in reg.dependencies:
            if dep in by_urn and not by_urn[dep].type.startswith("pulumi:providers:"):
                target = owner(dep)
                if target != home:
                    depends.add((home, target))
    depends -= contains
    return boxes, contains, depends


def _ids(boxes: dict[str, Box]) -> dict[str, str]:
    return {urn: f"n{i}" for i, urn in enumerate(sorted(boxes))}


def _text(box: Box) -> list[str]:
    return [box.label, *(f"{n} x {k}" if n > 1 else k for k, n in sorted(box.holds.items()))]


def to_dot(registrations: Sequence[Registration], title: str) -> str:
    boxes, contains, depends = architecture(registrations)
    ids = _ids(boxes)
    lines = [f'digraph "{title}" {{', "  rankdir=LR;", '  node [shape=box, fontname="Helvetica", fontsize=10];']
    for urn in sorted(boxes):
        label = "\\n".join(t.replace('"', "'") for t in _text(boxes[urn]))
        lines.append(f'  {ids[urn]} [label="{label}"];')
    lines += [f"  {ids[a]} -> {ids[b]};" for a, b in sorted(contains)]
    lines += [f"  {ids[a]} -> {ids[b]} [style=dashed];" for a, b in sorted(depends)]
    return "\n".join([*lines, "}"]) + "\n"


def to_mermaid(registrations: Sequence[Registration]) -> str:
    boxes, contains, depends = architecture(registrations)
    ids = _ids(boxes)
    lines = ["flowchart LR"]
    for urn in sorted(boxes):
        label = "<br/>".join(t.replace('"', "'") for t in _text(boxes[urn]))
        lines.append(f'  {ids[urn]}["{label}"]')
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(contains)]
    lines += [f"  {ids[a]} -.-> {ids[b]}" for a, b in sorted(depends)]
    return "\n".join(lines) + "\n"


def graph_problem(path: Path) -> str | None:
    """Why ``--graph path`` cannot be written, before anything runs."""
    if path.suffix not in FORMATS:
        return f"--graph {path}: unknown format {path.suffix or '(none)'!r}; allowed: {', '.join(FORMATS)}"
    if path.suffix in (".svg", ".png") and shutil.which("dot") is None:
        return f"--graph {path}: rendering {path.suffix} needs Graphviz's `dot`, which is not installed; write .dot or .mmd"
    if not path.parent.exists():
        return f"--graph {path}: directory {path.parent} does not exist"
    return None


def write_graph(path: Path, registrations: Sequence[Registration], title: str) -> None:
    if path.suffix == ".mmd":
        path.write_text(to_mermaid(registrations), encoding="utf-8")
        return
    dot = to_dot(registrations, title)
    if path.suffix == ".dot":
        path.write_text(dot, encoding="utf-8")
        return
    rendered = subprocess.run(
        ["dot", f"-T{path.suffix[1:]}", "-o", str(path)], input=dot.encode(), capture_output=True, timeout=120
    )
    if rendered.returncode != 0:
        raise OSError(f"dot failed: {rendered.stderr.decode(errors='replace').strip()}")
