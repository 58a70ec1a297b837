#!/usr/bin/env python3
"""Developer entry points; each creates (or refreshes) the project's virtualenv first.

    python3 tasks.py plan [infra.plan args]   offline plan of a stack (default: local)
    python3 tasks.py test [pytest args]       lint, type-check, architecture contracts, tests
    python3 tasks.py catalog [args]           GPU offerings per cloud (python -m infra.catalog)
    python3 tasks.py catalog-refresh [args]   regenerate the catalog's zone table (--check: is it current?)
    python3 tasks.py policy-config BASE OVER  one policy config from a stack's and an overlay (CI's), checked
    python3 tasks.py policy-data [--check]    regenerate the policy pack's packaged catalog data
                                              (policies/guardrails/data/platform.json) after a catalog change
    python3 tasks.py conformance [args]       checks against the upstream reference data beside the
                                              repository (upstream schemas, charts, catalogs)

Needs only Python 3.11+. The virtualenv is .venv (the one Pulumi.yaml names). `plan` and `catalog`
install requirements.txt (what the program and the plan need at run time); `test`, `conformance` and
`catalog-refresh` install requirements-dev.txt (that plus test, lint and benchmark tools). Each set is
reinstalled when its files or pyproject.toml change; the stamp in .venv records which set is current.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".requirements-stamp.json"

RUNTIME, DEV = "runtime", "dev"
REQUIREMENTS = {RUNTIME: "requirements.txt", DEV: "requirements-dev.txt"}
FILES = {
    RUNTIME: ("requirements.txt", "pyproject.toml"),
    DEV: ("requirements.txt", "requirements-dev.txt", "pyproject.toml"),
}
"""The files each set's install depends on; the dev set includes the runtime set (`-r requirements.txt`)."""


def _digest(level: str) -> str:
    h = hashlib.sha256()
    for name in FILES[level]:
        h.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return h.hexdigest()


def _stamp() -> dict[str, str]:
    """``{set: digest of its files when it was installed}``; empty when missing or from an older tasks.py."""
    try:
        data = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def ensure_venv(level: str = DEV) -> None:
    """Create .venv if needed and install the ``level`` set unless it is current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs under whatever python3 the user has
        sys.exit(f"Python 3.11+ is required (this is {sys.version.split()[0]})")
    if not PY.exists():
        print(f"creating virtualenv {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    stamp = _stamp()
    if stamp.get(level) == _digest(level):
        return
    requirements = REQUIREMENTS[level]
    print(f"installing {requirements} into .venv (first run takes a few minutes)", file=sys.stderr)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "-r", requirements], check=True, cwd=ROOT)
    # The dev set includes the runtime set. A runtime install (its files changed since the last one)
    # may have moved pins the dev install was made with, so the dev entry is dropped: the next
    # `test` reinstalls the dev set (quick when nothing else changed).
    stamp = {RUNTIME: _digest(RUNTIME)}
    if level == DEV:
        stamp[DEV] = _digest(DEV)
    STAMP.write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")


def run(*args: str) -> int:
    command = list(args) if args[0].startswith(str(VENV)) else [str(PY), *args]
    return subprocess.run(command, cwd=ROOT).returncode


def plan(argv: list[str]) -> int:
    if not any(a in ("--stack", "--config") for a in argv):
        argv = ["--stack", "local", *argv]
    return run("-m", "infra.plan", *argv)


def test(argv: list[str]) -> int:
    checks = [
        ("-m", "ruff", "check", "."),
        ("-m", "ruff", "format", "--check", "."),
        ("-m", "mypy"),
        (str(VENV / "bin" / "lint-imports"), "--no-cache"),
    ]
    for check in checks:
        if run(*check) != 0:
            return 1
    return run("-m", "pytest", *argv)


def conformance(argv: list[str]) -> int:
    # Not part of `test`: it needs the upstream reference data beside the repository, and fails without it.
    return run("-m", "pytest", "-n", "0", "conformance", *argv)


def catalog(argv: list[str]) -> int:
    return run("-m", "infra.catalog", *argv)


COMMANDS = {
    "plan": (plan, RUNTIME),
    "test": (test, DEV),
    "catalog": (catalog, RUNTIME),
    "catalog-refresh": (lambda argv: run("-m", "infra.catalog_refresh", *argv), DEV),
    "policy-data": (lambda argv: run("-m", "infra.policy_data", *argv), RUNTIME),
    "policy-config": (lambda argv: run("-m", "infra.plan.policy_config", *argv), RUNTIME),
    "conformance": (conformance, DEV),
}
"""Command -> (entry point, requirement set it needs)."""

if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] in ("-h", "--help", "help"):
        print(__doc__)
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    command, level = COMMANDS[sys.argv[1]]
    ensure_venv(level)
    sys.exit(command(sys.argv[2:]))
