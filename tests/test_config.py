"""The typed stack config: valid stacks parse, every bad input is named with its full key path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.loader import SECRET_PLACEHOLDER, ConfigError, load_file, parse, read_pulumi_config, read_stack_file
from stacks.model import Cloud, PlatformConfig, Secret, SharingMode
from tests.conftest import ROOT, STACKS


def errors_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_parse(stack: str) -> None:
    config = load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    assert isinstance(config, PlatformConfig)


def test_local_stack_has_two_teams_fake_gpus_and_sharing(local_raw: dict[str, Any]) -> None:
    config = parse(local_raw)
    assert config.cloud is Cloud.EXISTING
    assert len(config.teams) == 2
    assert config.gpu_software.fake_gpus.enabled and config.gpu_software.device_plugin.enabled
    assert {p.sharing.mode for p in config.node_pools} == {SharingMode.NONE, SharingMode.TIME_SLICING}


def test_empty_config_uses_documented_defaults() -> None:
    config = parse({})
    assert config.cloud is Cloud.EXISTING
    assert config.region == "" and config.zones == []
    assert config.gpu_software.namespace == "gpu-operator"


def test_pulumi_yaml_declares_defaults_matching_the_model() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    defaults = PlatformConfig().model_dump(by_alias=True, mode="json")
    for key, spec in declared.items():
        assert spec["default"] == defaults[key], key
        assert spec["description"]


def test_unknown_key_names_path_and_suggests(local_raw: dict[str, Any]) -> None:
    local_raw["nodePools"][1]["maxNode"] = 3
    (error,) = errors_of(local_raw)
    assert error.startswith("gpu-platform:nodePools[1].maxNode: unknown key (did you mean maxNodes?)")
    assert "allowed keys:" in error and "minNodes" in error


def test_unknown_top_level_key() -> None:
    (error,) = errors_of({"clusterr": {}})
    assert error.startswith("gpu-platform:clusterr: unknown key (did you mean cluster?)")


def test_enum_error_lists_allowed_values() -> None:
    (error,) = errors_of({"cloud": "azure"})
    assert error == 'gpu-platform:cloud: "azure" is not allowed; allowed: existing, aws or gcp'


def test_all_errors_reported_at_once(local_raw: dict[str, Any]) -> None:
    local_raw["nodePools"][0]["gpu"] = "l5"
    local_raw["nodePools"][1]["maxNodes"] = -1
    local_raw["nodePools"][1]["sharing"]["replicas"] = 100
    local_raw["teams"][0]["canBorrow"] = "yes"
    errors = errors_of(local_raw)
    assert [e.split(":")[1].split(" ")[0] for e in errors] == [
        "nodePools[0].gpu",
        "nodePools[1].maxNodes",
        "nodePools[1].sharing.replicas",
        "teams[0].canBorrow",
    ]
    assert 'gpu-platform:nodePools[0].gpu: "l5" is not allowed; allowed: t4' in errors[0]
    assert errors[1] == "gpu-platform:nodePools[1].maxNodes: -1 is too small; allowed: an integer >= 0"
    assert errors[2] == "gpu-platform:nodePools[1].sharing.replicas: 100 is too large; allowed: an integer <= 48"


def test_numbers_are_not_coerced_from_strings(local_raw: dict[str, Any]) -> None:
    local_raw["nodePools"][0]["maxNodes"] = "2"
    (error,) = errors_of(local_raw)
    assert error == 'gpu-platform:nodePools[0].maxNodes: "2" is not allowed; expected an integer'


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["nodePools"][0].update(minNodes=3),
            "gpu-platform:nodePools[0]: minNodes (3) is greater than maxNodes (2)",
        ),
        (
            lambda r: r["nodePools"][1]["sharing"].pop("replicas"),
            "gpu-platform:nodePools[1].sharing: mode time-slicing needs replicas",
        ),
        (
            lambda r: r["nodePools"][0].update(labels={"bad key!": "x"}),
            "gpu-platform:nodePools[0].labels: not valid Kubernetes labels: bad key!=x",
        ),
        (
            lambda r: r["nodePools"][0].update(name="GPU_pool"),
            'gpu-platform:nodePools[0].name: "GPU_pool" is not allowed; allowed: a string matching',
        ),
    ],
)
def test_field_rules(local_raw: dict[str, Any], mutate: Any, expected: str) -> None:
    mutate(local_raw)
    errors = errors_of(local_raw)
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r.update(cloud="aws"),
            "gpu-platform:cloud: 'aws' is not supported by this version yet; supported: existing",
        ),
        (
            lambda r: r["nodePools"][1].update(name="l4-sim"),
            "gpu-platform:nodePools[1].name: 'l4-sim' is used by an earlier pool",
        ),
        (lambda r: r["nodePools"][0].pop("gpu"), "gpu-platform:nodePools[0].gpu: required on cloud existing"),
        (
            lambda r: r["nodePools"][0].update(instanceType="g6.xlarge"),
            "gpu-platform:nodePools[0].instanceType: applies only to cloud aws",
        ),
        (
            lambda r: r["gpuSoftware"]["fakeGpus"].update(enabled=False),
            "gpu-platform:nodePools[0].simulated: needs gpu-platform:gpuSoftware.fakeGpus.enabled: true",
        ),
        (
            lambda r: r["nodePools"][0].update(sharing={"mode": "mps", "replicas": 2}),
            "gpu-platform:nodePools[0].sharing.mode: 'mps' is not allowed on a simulated pool",
        ),
        (
            lambda r: r["gpuSoftware"]["devicePlugin"].update(enabled=False),
            "gpu-platform:nodePools[1].sharing.mode: 'time-slicing' needs the NVIDIA device plugin",
        ),
        (
            lambda r: r["nodePools"][1].update(nodes=["gpu-platform-worker"]),
            "gpu-platform:nodePools[1].nodes[0]: 'gpu-platform-worker' already belongs to pool 'l4-sim'",
        ),
        (
            lambda r: r["teams"][1].update(name="research"),
            "gpu-platform:teams[1].name: 'research' is used by an earlier team",
        ),
        (
            lambda r: r["teams"][0].update(namespace="gpu-operator"),
            "gpu-platform:teams[0].namespace: 'gpu-operator' is the GPU system namespace",
        ),
        (
            lambda r: r["teams"][0]["gpuQuota"].update(h100=1),
            "gpu-platform:teams[0].gpuQuota.h100: no node pool named 'h100'; allowed: l4-sim, t4-shared",
        ),
        (
            lambda r: r.update(training={"jobs": [{"name": "x"}]}),
            "gpu-platform:training.jobs: training jobs are not supported by this version yet",
        ),
    ],
)
def test_cross_field_rules(local_raw: dict[str, Any], mutate: Any, expected: str) -> None:
    mutate(local_raw)
    errors = errors_of(local_raw)
    assert any(e.startswith(expected) for e in errors), errors


def test_cross_field_rules_all_reported(local_raw: dict[str, Any]) -> None:
    local_raw["teams"][0]["gpuQuota"]["h100"] = 1
    local_raw["teams"][1]["name"] = "research"
    local_raw["nodePools"][0]["instanceType"] = "g6.xlarge"
    assert len(errors_of(local_raw)) == 3


def test_kubeconfig_is_a_secret_and_never_shown() -> None:
    config = parse({"cluster": {"kubeconfig": "apiVersion: v1\nclusters: []"}})
    assert isinstance(config.cluster.kubeconfig, Secret)
    assert "clusters" not in repr(config.cluster)


def test_encrypted_values_read_as_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text(
        "config:\n  gpu-platform:cluster:\n    kubeconfig:\n      secure: v1:abc\n  aws:region: us-east-1\n"
    )
    raw = read_stack_file(path)
    assert raw == {"cluster": {"kubeconfig": SECRET_PLACEHOLDER}}  # other namespaces are the providers'


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_file(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_file(tmp_path / "Pulumi.none.yaml")


def test_pulumi_engine_config_reads_like_the_file(local_raw: dict[str, Any]) -> None:
    import pulumi.runtime

    env = {f"gpu-platform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in local_raw.items()}
    env["kubernetes:context"] = "ignored"
    pulumi.runtime.set_all_config(env)
    try:
        assert read_pulumi_config() == local_raw
    finally:
        pulumi.runtime.set_all_config({})


def test_config_reference_doc_is_current() -> None:
    from stacks.reference import render

    committed = (ROOT / "docs" / "config-reference.md").read_text()
    assert committed == render(), "regenerate: python -m stacks.reference > docs/config-reference.md"
    assert "`gpu-platform:nodePools[].sharing.replicas`" in committed
