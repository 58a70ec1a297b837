"""The policy pack is self-contained: `pulumi policy publish` uploads its directory alone, and
`pulumi preview --policy-pack policies` runs it in policies/venv, built from its own requirements."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from infra import policy_data
from tests.conftest import ROOT

PACK = ROOT / "policies"

# The module (package prefix) each distribution the pack may list in its requirements provides.
IMPORT_NAMES = {
    "pulumi": "pulumi",
    "pulumi-policy": "pulumi_policy",
    "grpcio": "grpc",
    "protobuf": "google.protobuf",
    "PyYAML": "yaml",
    "boto3": "boto3",
    "botocore": "botocore",
    "google-auth": "google.auth",
    "urllib3": "urllib3",
}


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (PACK / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


def test_packaged_data_agrees_with_the_catalog_and_pins() -> None:
    # Regenerate with: python tasks.py policy-data
    assert policy_data.OUT.read_text() == policy_data.render()


def test_requirements_are_exact_pins_of_known_distributions() -> None:
    pins = _requirements()
    assert set(pins) <= set(IMPORT_NAMES), set(pins) - set(IMPORT_NAMES)
    assert all(re.fullmatch(r"\d+(\.\d+)+", v) for v in pins.values()), pins
    assert {"pulumi", "pulumi-policy", "PyYAML"} <= set(pins)


def test_pack_imports_only_itself_the_stdlib_and_its_requirements() -> None:
    provided = {IMPORT_NAMES[n] for n in _requirements()}
    # urllib3 comes with botocore and google-auth (both require it); the pack uses it through google-auth.
    provided |= {"urllib3"} if {"botocore", "google-auth"} <= set(_requirements()) else set()
    allowed = set(sys.stdlib_module_names) | {"guardrails"} | provided
    for path in PACK.rglob("*.py"):
        if "venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                ok = name.split(".")[0] in allowed or any(name == p or name.startswith(p + ".") for p in allowed)
                assert ok, f"{path.relative_to(ROOT)} imports {name}"


def test_pack_runs_from_a_copy_of_its_directory_alone(tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    # The project is installed in this virtualenv: make it unimportable, as it is in policies/venv.
    script = (
        "import sys\n"
        "for m in ('components', 'stacks', 'infra', 'policies'): sys.modules[m] = None\n"
        "from guardrails.pack import POLICIES\n"
        "from guardrails.quota import quota_config_problems\n"
        "print(len(POLICIES), quota_config_problems({'aws': {'us-east-1': {'L-DB2E81BA': 8, 'L-NOPE': 1}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=copy, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    count, problems = done.stdout.split(" ", 1)
    from policies.guardrails.pack import POLICIES

    assert int(count) == len(POLICIES)
    (problem,) = eval(problems)  # the list repr the script printed: one problem, naming the unknown code
    assert problem.startswith("quotas.aws.us-east-1.L-NOPE: not one of aws's GPU quota families")


def test_the_ci_policy_config_lays_over_every_example_config() -> None:
    import json

    from infra.plan.policy_config import check_user_config, main, merge

    ci = json.loads((ROOT / ".ci" / "policy-config.json").read_text())
    for path in sorted((ROOT / "stacks").glob("policy-config.*.json")):
        own = json.loads(path.read_text())
        merged = merge(own, ci)
        levels, props = check_user_config(merged)  # valid, and both quota blocks still agree
        assert levels["gpu-cloud-quota"] == "mandatory", path.name
        assert props["gpu-cloud-quota"]["liveLookup"] is True, path.name
        assert props["gpu-cloud-quota"]["unknownQuotas"] == "mandatory", path.name
        # The stack's own settings survive: its quotas and its other policies' config.
        assert props["gpu-cloud-quota"]["quotas"] == (own.get("gpu-cloud-quota") or {}).get("quotas", {}), path.name
        for name, value in own.items():
            if name not in ci and isinstance(value, dict):
                assert {k: v for k, v in value.items() if k != "enforcementLevel"}.items() <= props[name].items()
    assert main([str(ROOT / "stacks" / "policy-config.gcp-dev.json"), str(ROOT / ".ci" / "policy-config.json")]) == 0
    # A stack that turned the quota gate down cannot keep it down in CI.
    levels, _ = check_user_config(merge({"all": "advisory", "gpu-cloud-quota": "advisory"}, ci))
    assert levels["gpu-cloud-quota"] == "mandatory"


def test_merge_turns_level_strings_into_objects() -> None:
    from infra.plan.policy_config import merge

    merged = merge(
        {"gpu-limits": "advisory", "gpu-cost-ceiling": {"monthlyBudget": 5}}, {"gpu-cost-ceiling": "disabled"}
    )
    assert merged == {
        "gpu-limits": {"enforcementLevel": "advisory"},
        "gpu-cost-ceiling": {"monthlyBudget": 5, "enforcementLevel": "disabled"},
    }


def test_pack_declares_a_version_to_publish() -> None:
    import yaml

    meta = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(meta["version"]))
    assert meta["runtime"]["options"]["virtualenv"] == "venv"


def test_the_built_package_carries_every_data_file_the_code_reads() -> None:
    # A template project installs the package (not this checkout): whatever the code reads from beside itself
    # must be package data, or it fails with FileNotFoundError there.
    import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for path in [*ROOT.glob("components/**/*.json"), *ROOT.glob("policies/guardrails/**/*.json")]:
        package = ".".join(path.parent.relative_to(ROOT).parts)
        while package not in package_data and "." in package:
            package = package.rsplit(".", 1)[0]
        relative = path.relative_to(ROOT / package.replace(".", "/"))
        assert any(relative.match(pattern) for pattern in package_data.get(package, [])), path
