"""The real entry point (infra/__main__.py) under the mock engine, as the language host runs it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from infra.plan.engine import config_env, run_entry_point
from infra.plan.render import resource_record
from tests.conftest import ROOT


def _graph(capture: Any) -> list[dict[str, Any]]:
    return sorted((resource_record(r) for r in capture.registrations), key=lambda r: r["urn"])


def test_entry_point_registers_what_build_registers(local_raw: dict[str, Any], plan: Any) -> None:
    via_main = run_entry_point(ROOT / "infra", config_env(local_raw), "local")
    via_build = plan(local_raw, "local")
    assert _graph(via_main) == _graph(via_build)
    assert via_main.outputs == via_build.outputs  # pulumi.export reached the root stack
    assert via_main.outputs["gpuCapacity"]["t4-shared"]["maxSchedulableGpus"] == 4


def test_entry_point_keeps_kubeconfig_secret(local_raw: dict[str, Any]) -> None:
    local_raw["cluster"] = {"kubeconfig": "apiVersion: v1\nkind: Config\n"}
    # `pulumi config set --secret --path gpu-platform:cluster.kubeconfig` makes the whole key secret.
    capture = run_entry_point(ROOT / "infra", config_env(local_raw), "local", ["gpu-platform:cluster"])
    assert capture.secret_outputs == ["kubeconfig"]
    provider = next(r for r in capture.registrations if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs()["kubeconfig"] == "[secret]"


def test_entry_point_refuses_a_plain_text_kubeconfig(local_raw: dict[str, Any]) -> None:
    import pytest

    from stacks.loader import ConfigError, load_pulumi

    local_raw["cluster"] = {"kubeconfig": "apiVersion: v1\nkind: Config\npassword: hunter2\n"}
    from pulumi.runtime import set_all_config

    from infra.plan.engine import config_env as env

    set_all_config(env(local_raw), [])
    try:
        with pytest.raises(ConfigError) as info:
            load_pulumi()
    finally:
        set_all_config({}, [])
    (issue,) = info.value.issues
    assert issue.path == "gpu-platform:cluster.kubeconfig" and "--secret" in issue.message
    assert "hunter2" not in str(info.value)


def test_program_directories_do_not_shadow_the_standard_library() -> None:
    # The language host (and the policy runtime) put infra/ and policies/ first on
    # sys.path: a module named like a stdlib one (platform.py, types.py) would
    # replace it for every library the program imports.
    for directory in ("infra", "policies"):
        names = {p.stem for p in Path(ROOT, directory).iterdir() if p.suffix == ".py" or p.is_dir()}
        assert not names & set(sys.stdlib_module_names), (directory, names & set(sys.stdlib_module_names))
