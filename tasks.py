#!/usr/bin/env python3
"""Developer entry points; each creates (or refreshes) the project's virtualenv first.

    python3 tasks.py plan [infra.plan args]   offline plan of a stack (default: local)
    python3 tasks.py test [pytest args]       lint, type-check, architecture contracts, tests
    python3 tasks.py catalog [args]           GPU offerings per cloud (python -m infra.catalog)
    python3 tasks.py catalog-refresh [args]   regenerate the catalog's zone table (--check: is it current?)
    python3 tasks.py conformance [args]       checks against ../shared/reference (upstream schemas, catalogs)

Needs only Python 3.11+. The virtualenv is .venv (the one Pulumi.yaml names); it is
reinstalled when requirements.txt or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".requirements.sha256"


def _digest() -> str:
    h = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs under whatever python3 the user has
        sys.exit(f"Python 3.11+ is required (this is {sys.version.split()[0]})")
    if not PY.exists():
        print(f"creating virtualenv {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = _digest()
    if not STAMP.exists() or STAMP.read_text() != digest:
        print("installing requirements.txt into .venv (first run takes a few minutes)", file=sys.stderr)
        pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
        subprocess.run([*pip, "-r", "requirements.txt"], check=True, cwd=ROOT)
        STAMP.write_text(digest)


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
    # Not part of `test`: it needs the upstream reference data beside the repository.
    return run("-m", "pytest", "-n", "0", "conformance", *argv)


def catalog(argv: list[str]) -> int:
    return run("-m", "infra.catalog", *argv)


COMMANDS = {
    "plan": plan,
    "test": test,
    "catalog": catalog,
    "catalog-refresh": lambda argv: run("-m", "infra.catalog_refresh", *argv),
    "conformance": conformance,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    ensure_venv()
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
