"""Every bad input gets one clear answer (issue 8): a corpus of hand-made inputs run through the plan CLI.

The corpus is data: ``tests/corpus/<category>.yaml`` files, each a list of cases, so adding a case is adding
an entry. A case is what a new user would hand ``python -m infra.plan`` and what it must answer:

``name``
    unique across the corpus; the test id.
``exit``
    ``2`` (invalid stack config, policy config or usage) or ``0`` (a plausible input that must still plan).
``key``
    what stderr must name: a key path or fragment (``gpu-platform:nodePools[0].maxNodes``, ``--out``,
    ``gpu-cloud-quota.quotas.aws.us-east-1``); a list means all of them, and a list inside that list means
    any one of its entries (where two keys are equally right, e.g. a name derived from two keys). Required
    for exit 2.
``stack`` / ``config_file``
    the stack config file's text (YAML), or a special file instead of text (``FILE_KINDS``).
``policy`` / ``policy_file``
    the policy config file's text (JSON), or a special file.
``stack_encoding`` / ``policy_encoding``
    how the text is written to disk (default ``utf-8``; e.g. ``latin-1``, ``utf-8-sig``).
``args``
    the whole command line (default: ``--config {config}``, plus ``--policy-config {policy}`` with a policy).
``extra_args``
    appended to the default command line.
``secret``
    a value (or a list) given in the input that must never appear in stdout, stderr or any ``--out`` file.
``plan``
    ``true``: the case may run the whole program (the few exit-0 cases that plan for real, and errors only a
    real run can meet). Otherwise an exit-2 case must be refused before the program starts (config and usage
    are validated first, so a typo costs milliseconds), and an exit-0 case only has to get that far; its stack
    must also load with ``stacks.loader.load_file``.
``note``
    why the expected answer is what it is, where that is not obvious.

Placeholders in ``args``, ``extra_args``, ``key`` and ``secret``: ``{config}`` and ``{policy}`` (the files'
paths), ``{tmp}`` (the case's own directory, also the working directory; it holds ``a-file``, ``empty-dir/``
and ``not-a-pack/``) and ``{root}`` (the repository).

Invariants checked for every case: no Python traceback in stdout or stderr (nor an exception out of
``main``), the exit code exactly as expected, stderr naming every key, no secret in any output, and stderr
under ``MAX_STDERR`` (one clear answer, not a dump).

``main`` runs in-process (a subprocess per case would cost a Python start-up each). Unreadable files: tests
often run as root, where ``chmod 000`` does not stop reads; then the case falls back to a file the kernel
refuses to read even to root (``ROOT_UNREADABLE``) and, if none exists, keeps the ``chmod 000`` file, whose
content is then invalid anyway, so the expected answer (exit 2 naming the file) holds either way.
"""

from __future__ import annotations

import contextlib
import io
import signal
import stat
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import infra.plan.engine as engine
from infra.plan.__main__ import main
from stacks.loader import load_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "corpus"
CONFIG_NAME = "Pulumi.bad-input.yaml"
POLICY_NAME = "policy-config.bad-input.json"
MAX_STDERR = 64 * 1024
TIMEOUT_S = {False: 20, True: 90}
"""Seconds a case may take (without / with the full program run) before it counts as hanging."""
TRACEBACK = "Traceback (most recent call last)"
ROOT_UNREADABLE = (Path("/proc/sys/vm/compact_memory"),)
"""Files that even root cannot read (write-only sysctls), for the unreadable-file cases."""
FILE_KINDS = ("directory", "missing", "unreadable", "binary", "symlink-loop")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"

FIELDS = frozenset(
    {
        "name",
        "exit",
        "key",
        "stack",
        "config_file",
        "stack_encoding",
        "policy",
        "policy_file",
        "policy_encoding",
        "args",
        "extra_args",
        "secret",
        "plan",
        "note",
    }
)


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    exit: int
    keys: tuple[tuple[str, ...], ...] = ()
    """Each entry: the alternatives of which stderr must name one."""
    stack: str | None = None
    config_file: str | None = None
    stack_encoding: str = "utf-8"
    policy: str | None = None
    policy_file: str | None = None
    policy_encoding: str = "utf-8"
    args: tuple[str, ...] | None = None
    extra_args: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    plan: bool = False
    note: str = ""

    @property
    def has_config(self) -> bool:
        return self.stack is not None or self.config_file is not None

    @property
    def has_policy(self) -> bool:
        return self.policy is not None or self.policy_file is not None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str) for i in items):
        raise ValueError(f"{where}: expected a string or a list of strings, got {value!r}")
    return tuple(items)


def _keys(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(_strings(item, where) for item in items)


def _case(entry: Any, category: str) -> Case:
    where = f"{CORPUS.name}/{category}.yaml"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ValueError(f"{where}: every case is a mapping with a name, got {entry!r}")
    where += f": {entry['name']}"
    unknown = set(entry) - FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(FIELDS)}")
    if entry.get("exit") not in (0, 1, 2):
        raise ValueError(f"{where}: exit must be 0, 1 or 2")
    if entry["exit"] == 2 and not entry.get("key"):
        raise ValueError(f"{where}: an exit-2 case names the key its message must contain")
    for kind_field, text_field in (("config_file", "stack"), ("policy_file", "policy")):
        if kind_field in entry and text_field in entry:
            raise ValueError(f"{where}: {kind_field} and {text_field} exclude each other")
        if kind_field in entry and entry[kind_field] not in FILE_KINDS:
            raise ValueError(f"{where}: {kind_field} must be one of {FILE_KINDS}")
    return Case(
        name=entry["name"],
        category=category,
        exit=entry["exit"],
        keys=_keys(entry["key"], f"{where}: key") if "key" in entry else (),
        stack=entry.get("stack"),
        config_file=entry.get("config_file"),
        stack_encoding=entry.get("stack_encoding", "utf-8"),
        policy=entry.get("policy"),
        policy_file=entry.get("policy_file"),
        policy_encoding=entry.get("policy_encoding", "utf-8"),
        args=_strings(entry["args"], f"{where}: args") if "args" in entry else None,
        extra_args=_strings(entry.get("extra_args", []), f"{where}: extra_args"),
        secrets=_strings(entry.get("secret", []), f"{where}: secret"),
        plan=bool(entry.get("plan", False)),
        note=entry.get("note", ""),
    )


def load_corpus() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a list of cases")
        cases += [_case(entry, path.stem) for entry in entries]
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{CORPUS}: case names used twice: {duplicates}")
    return cases


CASES = load_corpus()


# ---------------------------------------------------------------- running one case


class _ProgramStarted(BaseException):
    """The CLI accepted the input and went on to run the program (a BaseException: no handler may eat it)."""


class _TimedOut(BaseException):
    pass


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    """The exit code, or ``None`` when the program was about to run (the input was accepted)."""
    stdout: str
    stderr: str
    escaped: str = ""
    """The traceback of an exception that escaped ``main`` (a crash a user would see)."""
    out_files: dict[str, str] = field(default_factory=dict)


def _write(path: Path, text: str | None, kind: str | None, encoding: str) -> Path:
    """Create the case's file at ``path`` (text or a special kind); returns the path to pass on the command line."""
    if kind == "directory":
        path.mkdir()
    elif kind == "missing":
        pass
    elif kind == "binary":
        path.write_bytes(BINARY * 8)
    elif kind == "symlink-loop":
        path.symlink_to(path.name)
    elif kind == "unreadable":
        # Content that is invalid in its own right, in case the file turns out readable after all.
        path.write_bytes(b"config: [unreadable\n")
        path.chmod(0)
        try:
            path.read_bytes()
        except PermissionError:
            return path
        for candidate in ROOT_UNREADABLE:  # running as root: chmod does not stop reads
            try:
                candidate.read_bytes()
            except PermissionError:
                return candidate
            except OSError:
                continue
    else:
        path.write_bytes((text or "").encode(encoding))
    return path


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace("{" + placeholder + "}", value)
    return text


def _argv(case: Case, values: dict[str, str]) -> list[str]:
    if case.args is not None:
        args = list(case.args)
    else:
        args = ["--config", "{config}"] if case.has_config else []
        args += ["--policy-config", "{policy}"] if case.has_policy else []
        args += list(case.extra_args)
    return [_fill(a, values) for a in args]


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _TimedOut(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _out_dir(argv: list[str], cwd: Path) -> Path | None:
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--out" and i + 1 < len(argv) else arg.partition("=")[2]
        if arg == "--out" or arg.startswith("--out="):
            path = Path(value) if Path(value).is_absolute() else cwd / value
            return path if path.is_dir() else None
    return None


def run_case(case: Case, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, dict[str, str]]:
    (tmp / "a-file").write_text("not a directory\n", encoding="utf-8")
    (tmp / "empty-dir").mkdir()
    (tmp / "not-a-pack").mkdir()
    (tmp / "not-a-pack" / "README.md").write_text("no PulumiPolicy.yaml here\n", encoding="utf-8")
    values = {"tmp": str(tmp), "root": str(ROOT)}
    values["config"] = str(_write(tmp / CONFIG_NAME, case.stack, case.config_file, case.stack_encoding))
    values["policy"] = str(_write(tmp / POLICY_NAME, case.policy, case.policy_file, case.policy_encoding))
    argv = _argv(case, values)

    monkeypatch.chdir(tmp)  # a relative --out (or '') must not write into the repository
    if not case.plan:

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise _ProgramStarted

        monkeypatch.setattr(engine, "run_entry_point", refuse)

    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | None
    escaped = ""
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), _deadline(TIMEOUT_S[case.plan]):
        try:
            returned = main(argv)
            code = 0 if returned is None else returned
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:  # sys.exit("message"): Python prints it and exits 1
                print(exit_.code, file=sys.stderr)
                code = 1
        except _ProgramStarted:
            code = None
        except _TimedOut as err:
            code, escaped = -1, f"timed out: {err}"
        except Exception:
            code, escaped = 1, traceback.format_exc()  # what the user would see: a traceback, exit 1
    outcome = Outcome(argv, code, stdout.getvalue(), stderr.getvalue(), escaped)
    out = _out_dir(argv, tmp)
    if out is not None and out.resolve() != tmp.resolve():
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            outcome.out_files[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return outcome, values


def problems_of(case: Case, outcome: Outcome, values: dict[str, str]) -> list[str]:
    """Every invariant the outcome breaks, in words (empty: the case passes)."""
    problems: list[str] = []
    if outcome.escaped:
        problems.append(f"crashed: {outcome.escaped.strip().splitlines()[-1]}")
    for stream, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        if TRACEBACK in text:
            problems.append(f"a Python traceback in {stream}")
    if case.exit == 0:
        if outcome.code not in (0, None) or (case.plan and outcome.code is None):
            problems.append(f"exit {outcome.code}, expected 0 (a plausible input must still plan)")
    elif outcome.code is None:
        problems.append(
            f"expected exit {case.exit} before the program runs, but the input was accepted and the plan started"
        )
    elif outcome.code != case.exit:
        problems.append(f"exit {outcome.code}, expected {case.exit}")
    if case.exit != 0 and outcome.code is not None:
        for alternatives in case.keys:
            wanted = [_fill(key, values) for key in alternatives]
            if not any(w in outcome.stderr for w in wanted):
                problems.append(f"stderr does not name {' or '.join(repr(w) for w in wanted)}")
    for secret in case.secrets:
        wanted = _fill(secret, values)
        leaks = [name for name, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)) if wanted in text]
        leaks += [name for name, text in outcome.out_files.items() if wanted in text]
        if leaks:
            problems.append(f"secret {wanted[:12]!r}... leaked in {', '.join(leaks)}")
    if len(outcome.stderr) > MAX_STDERR:
        problems.append(f"stderr is {len(outcome.stderr)} characters (over {MAX_STDERR}): no clear answer")
    return problems


def _report(case: Case, outcome: Outcome, problems: list[str]) -> str:
    lines = [f"case {case.name} ({case.category}): " + "; ".join(problems)]
    if case.note:
        lines.append(f"note: {case.note}")
    lines.append(f"argv: {outcome.argv}")
    lines.append(f"exit: {'accepted (program about to run)' if outcome.code is None else outcome.code}")
    if outcome.stderr:
        lines.append("stderr:\n" + outcome.stderr[:3000])
    if outcome.stdout:
        lines.append("stdout (end):\n" + outcome.stdout[-1500:])
    if outcome.escaped:
        lines.append(outcome.escaped[-3000:])
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, values = run_case(case, tmp_path, monkeypatch)
    problems = problems_of(case, outcome, values)
    uses_config = case.args is None or any("{config}" in a for a in case.args)
    if case.exit == 0 and case.stack is not None and case.config_file is None and uses_config:
        try:
            load_file(Path(values["config"]))
        except Exception as err:
            problems.append(f"stacks.loader.load_file refuses it: {str(err)[:500]}")
    if problems:
        pytest.fail(_report(case, outcome, problems), pytrace=False)


def test_corpus_covers_both_answers() -> None:
    assert {c.exit for c in CASES} >= {0, 2}
    assert all(c.keys for c in CASES if c.exit == 2)
    assert sum(c.plan for c in CASES) <= 12, "only a handful of cases may run the whole program (time budget)"


def test_unreadable_file_is_unreadable_or_invalid(tmp_path: Path) -> None:
    """The fallback the unreadable cases rely on: the file cannot be read, or its content is invalid anyway."""
    path = _write(tmp_path / "x.yaml", None, "unreadable", "utf-8")
    try:
        text = path.read_bytes()
    except PermissionError:
        return
    assert b"[unreadable" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0
