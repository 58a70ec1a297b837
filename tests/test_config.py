"""The typed stack config: valid stacks parse, every bad input is named with its full key path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.catalog import GCP_ZONE_REGIONS
from stacks.checks import DECLARED_KEYS
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
    # The checks know which keys the CLI may hand over at their default (not the stack file's choice).
    assert set(declared) == DECLARED_KEYS


def test_declared_defaults_as_the_cli_passes_them_are_not_a_choice(local_raw: dict[str, Any]) -> None:
    # `pulumi up` passes Pulumi.yaml's defaults (region "", zones [] ...) even to an existing-cluster stack.
    parse({**local_raw, "region": "", "project": "", "zones": []})
    assert any(
        e.startswith("gpu-platform:region: applies only") for e in errors_of({**local_raw, "region": "us-east-1"})
    )


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
            "gpu-platform:nodePools[0].nodes: applies only to cloud existing (this stack is aws)",
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
            lambda r: r.update(
                training={"jobs": [{"name": "x", "team": "research", "image": "busybox:1.37", "pool": "l4-sim"}]}
            ),
            "gpu-platform:training.jobs[0]: Kubeflow Trainer is not installed (gpu-platform:training.enabled is "
            "false on the platform stack)",
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


# ---------------------------------------------------------------- cloud stacks


@pytest.fixture
def aws_raw() -> dict[str, Any]:
    from tests.conftest import stack_raw

    return stack_raw("aws-dev")


@pytest.fixture
def gcp_raw() -> dict[str, Any]:
    from tests.conftest import stack_raw

    return stack_raw("gcp-dev")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["nodePools"][0].update(gpusPerNode=3),
            "gpu-platform:nodePools[0].gpu: no aws offering with 3 x l4",
        ),
        (
            lambda r: r["nodePools"][0].update(instanceType="g6.xlarg"),
            "gpu-platform:nodePools[0].instanceType:",
        ),
        (
            lambda r: r["nodePools"][0].update(instanceType="g5.xlarge"),
            "gpu-platform:nodePools[0].instanceType: g5.xlarge carries a10g, not l4",
        ),
        (
            lambda r: r["nodePools"][1].update(efa=True),
            "gpu-platform:nodePools[1].efa: g5.xlarge does not support EFA; allowed: false",
        ),
        (
            lambda r: (r.pop("zones"), r["nodePools"][0].update(zones=["use1-az3"])),
            "gpu-platform:nodePools[0].zones[0]: 'use1-az3' does not offer g6.xlarge; zones that do: use1-az1, use1-az2,",
        ),
        (
            lambda r: r["nodePools"][0].update(zones=["use1-az5"]),
            "gpu-platform:nodePools[0].zones[0]: 'use1-az5' is not one of the stack's zones; allowed: use1-az1, use1-az2, use1-az4",
        ),
        (
            lambda r: r["nodePools"][0].update(zones=["use1-az1", "use1-az1"]),
            "gpu-platform:nodePools[0].zones[1]: 'use1-az1' is listed twice",
        ),
        (
            lambda r: r.update(zones=["us-east-1a"]),
            "gpu-platform:zones[0]: 'us-east-1a' is not a zone of us-east-1 (AWS zone names map to different zones "
            "in every account, so zones are given by ID;",
        ),
        (
            lambda r: r.update(
                zones=["use1-az3", "use1-az1"], nodePools=[r["nodePools"][0]], teams=[], training={}, serving={}
            ),
            "gpu-platform:zones: EKS needs control-plane subnets in at least 2 zones it supports; of these zones it "
            "accepts only use1-az1 (it refuses use1-az3); add a zone of us-east-1",
        ),
        (
            lambda r: r["cluster"].update(publicEndpointCidrs=["203.0.113.0/24"]),
            "gpu-platform:cluster.publicEndpointCidrs[0]: '203.0.113.0/24' is a documentation range (RFC 5737)",
        ),
        (
            lambda r: r["cluster"].update(publicEndpointCidrs=["10.0.0.0/8"]),
            "gpu-platform:cluster.publicEndpointCidrs[0]: '10.0.0.0/8': EKS accepts only public ranges",
        ),
        (
            lambda r: r["cluster"].update(publicEndpointCidrs=["999.0.0.0/16"]),
            "gpu-platform:cluster.publicEndpointCidrs[0]: '999.0.0.0/16' is not an IPv4 network",
        ),
        (
            lambda r: r["cluster"].update(publicEndpointCidrs=["198.18.0.1/16"]),
            "gpu-platform:cluster.publicEndpointCidrs[0]: '198.18.0.1/16' is not an IPv4 network (198.18.0.1/16 has host bits set)",
        ),
        (
            lambda r: r["cluster"].pop("publicEndpointCidrs"),
            "gpu-platform:cluster.publicEndpointCidrs: empty: nothing outside the VPC could reach the API",
        ),
        (
            lambda r: r["cluster"].update(privateEndpointOnly=True),
            "gpu-platform:cluster.publicEndpointCidrs: privateEndpointOnly is true, so the endpoint has no public access",
        ),
        (
            lambda r: r["cluster"].update(kubernetesVersion="1.29"),
            "gpu-platform:cluster.kubernetesVersion: '1.29' is not an EKS version this platform deploys; allowed: 1.32",
        ),
        (
            lambda r: r["nodePools"][0].update(maxNodes=0),
            "gpu-platform:nodePools[0].maxNodes: 0: the pool could never hold a node",
        ),
        (
            lambda r: r["nodePools"][0].update(instanceType="g7.2xlarge", gpu=None, amiType="bottlerocket"),
            "gpu-platform:nodePools[0].amiType: 'bottlerocket' has no NVIDIA image for g7.2xlarge (x86_64); allowed: al2023",
        ),
        (
            lambda r: r["cluster"].update(admins=[r["cluster"]["admins"][0]] * 2),
            "gpu-platform:cluster.admins[1]: 'arn:aws:iam::123456789012:role/platform-admins' is listed twice",
        ),
        (
            lambda r: r["nodePools"][1].update(gpu="rtx-pro-4500", sharing={}),
            "gpu-platform:nodePools[1].provisioner: g7 needs an EKS AMI release from v20260917 on",
        ),
        (
            lambda r: r["nodePools"][0].update(taintNodes=True),
            "gpu-platform:nodePools[0].taintNodes: applies only to cloud existing (this stack is aws)",
        ),
        (
            lambda r: r.update(region="moon-1"),
            "gpu-platform:region: 'moon-1' is not a aws region",
        ),
        (
            lambda r: (r["nodePools"][0].update(provisioner="karpenter"), r["cluster"].update(karpenter=False)),
            "gpu-platform:nodePools[0].provisioner: karpenter needs gpu-platform:cluster.karpenter: true",
        ),
        (
            lambda r: r["nodePools"][0].update(driverVersion="LATEST"),
            "gpu-platform:nodePools[0].driverVersion: applies only to cloud gcp (this stack is aws)",
        ),
        (lambda r: r.update(project="x"), "gpu-platform:project: applies only to cloud gcp (this stack is aws)"),
        (
            lambda r: r["nodePools"][1].update(amiType="bottlerocket"),
            "gpu-platform:nodePools[1].amiType: 'bottlerocket' is not available for Karpenter pools; allowed: al2023",
        ),
        (lambda r: r.update(nodePools=[]), "gpu-platform:nodePools: cloud aws needs at least one GPU node pool"),
        (
            lambda r: r.update(zones=["usw2-az1"]),
            "gpu-platform:zones[0]: 'usw2-az1' is not a zone of us-east-1; allowed: use1-az1,",
        ),
        (
            lambda r: r["cluster"].update(admins=["someone"]),
            'gpu-platform:cluster.admins[0]: "someone" is not allowed; allowed: a string matching ^arn:aws',
        ),
    ],
)
def test_aws_bad_specs(aws_raw: dict[str, Any], mutate: Any, expected: str) -> None:
    mutate(aws_raw)
    errors = errors_of(aws_raw)
    assert any(e.startswith(expected) for e in errors), errors


def test_aws_gpu_missing_from_region_lists_regions_that_offer_it(aws_raw: dict[str, Any]) -> None:
    aws_raw["region"] = "af-south-1"
    aws_raw.pop("zones")
    aws_raw["nodePools"] = [{"name": "h100", "gpu": "h100", "gpusPerNode": 8, "maxNodes": 1}]
    aws_raw["teams"] = []
    aws_raw.pop("training", None)  # its jobs name teams
    aws_raw.pop("serving", None)  # its endpoints name teams and pools
    (error,) = errors_of(aws_raw)
    assert error.startswith(
        "gpu-platform:region: 'af-south-1' does not offer p5.48xlarge (pool h100); regions that offer it:"
    )
    assert "us-east-1" in error


def test_aws_explicit_instance_type_resolves(aws_raw: dict[str, Any]) -> None:
    aws_raw["nodePools"][0] = {"name": "l4-spot", "instanceType": "g6.12xlarge", "maxNodes": 2}
    config = parse(aws_raw)
    from stacks.resolve import resolve_pools

    (l4, _) = resolve_pools(config)
    assert (l4.offering.gpu, l4.offering.gpus_per_node) == ("l4", 4)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r.pop("project"),
            "gpu-platform:project: '' is not a Google Cloud project id; required for cloud gcp",
        ),
        (
            lambda r: r["nodePools"][0].update(amiType="bottlerocket"),
            "gpu-platform:nodePools[0].amiType: applies only to cloud aws",
        ),
        (
            lambda r: r["nodePools"][1].update(gpusPerNode=3),
            "gpu-platform:nodePools[1].gpu: no gcp offering with 3 x h100",
        ),
        (lambda r: r["nodePools"][0].update(machineType="n2-standard-4"), "gpu-platform:nodePools[0].machineType:"),
        (
            lambda r: r["cluster"].update(releaseChannel="NIGHTLY"),
            'gpu-platform:cluster.releaseChannel: "NIGHTLY" is not allowed',
        ),
        (lambda r: r["cluster"].update(context="kind"), "gpu-platform:cluster.context: applies only to cloud existing"),
        (
            # 2 system + 200 GPU nodes need 202 /24s of pod addresses: a /15's pod half has 256, a /16's 128.
            lambda r: (r["cluster"].update(networkCidr="10.0.0.0/16"), r["nodePools"][0].update(maxNodes=200)),
            "gpu-platform:cluster.networkCidr: 10.0.0.0/16 leaves a /17 for pods, room for 128 node(s) at a /24 "
            "each, but the pools may grow to",
        ),
    ],
)
def test_gcp_bad_specs(gcp_raw: dict[str, Any], mutate: Any, expected: str) -> None:
    mutate(gcp_raw)
    errors = errors_of(gcp_raw)
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(("nodes", "suggested"), [(128, None), (129, "/15"), (256, "/15"), (257, "/14")])
def test_gke_network_suggests_the_range_that_fits(gcp_raw: dict[str, Any], nodes: int, suggested: str | None) -> None:
    gcp_raw["cluster"].update(networkCidr="10.0.0.0/16", systemPool={"minNodes": 1, "maxNodes": 2})
    gcp_raw["nodePools"] = [dict(gcp_raw["nodePools"][0], maxNodes=nodes - 2)]
    gcp_raw["teams"] = []
    gcp_raw.pop("training", None)  # its jobs name teams
    gcp_raw.pop("serving", None)  # its endpoints name teams and pools
    if suggested is None:
        parse(gcp_raw)  # 128 nodes fit a /16 exactly
    else:
        (error,) = errors_of(gcp_raw)
        assert error.startswith("gpu-platform:cluster.networkCidr: 10.0.0.0/16")
        assert error.endswith(f"use a {suggested} or larger")


def test_gcp_region_without_zone_data_is_named_as_such(gcp_raw: dict[str, Any]) -> None:
    gcp_raw["region"] = "me-central2"
    errors = errors_of(gcp_raw)
    known = ", ".join(GCP_ZONE_REGIONS)
    assert errors == [
        f"gpu-platform:region: 'me-central2': the GPU catalog has no zone data for this region; known: {known}"
    ]


def test_gcp_zones_limited_to_those_offering_the_accelerator(gcp_raw: dict[str, Any]) -> None:
    from components.catalog import gcp_zones
    from stacks.resolve import resolve_pools

    for rp in resolve_pools(parse(gcp_raw)):
        assert rp.zones == gcp_zones(rp.offering.accelerator, "us-central1") != ()


def test_pulumi_engine_string_keys_stay_strings() -> None:
    import pulumi.runtime

    # `pulumi config set gpu-platform:project 1234567` stores a string that would JSON-decode to a number.
    pulumi.runtime.set_all_config({"gpu-platform:project": "1234567", "gpu-platform:zones": '["us-east-1a"]'})
    try:
        assert read_pulumi_config() == {"project": "1234567", "zones": ["us-east-1a"]}
    finally:
        pulumi.runtime.set_all_config({})


# ---------------------------------------------------------------- what would damage a cluster


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["teams"][0].update(namespace="kube-system"),
            "gpu-platform:teams[0].namespace: namespace 'kube-system' belongs to Kubernetes",
        ),
        (
            lambda r: r["teams"][0].update(namespace="kueue-system"),
            "gpu-platform:teams[0].namespace: namespace 'kueue-system' belongs to Kueue",
        ),
        (
            lambda r: r["gpuSoftware"].update(namespace="default"),
            "gpu-platform:gpuSoftware.namespace: 'default' belongs to Kubernetes",
        ),
        (
            lambda r: r["nodePools"][0].update(labels={"gpu-platform.io/pool": "other"}),
            "gpu-platform:nodePools[0].labels.gpu-platform.io/pool: is set by the platform",
        ),
        (
            lambda r: r["nodePools"][0].update(labels={"node-role.kubernetes.io/gpu": ""}),
            "gpu-platform:nodePools[0].labels.node-role.kubernetes.io/gpu: is in a namespace the kubelet may not",
        ),
        (
            lambda r: r["nodePools"][0].update(taints=[{"key": "nvidia.com/gpu", "value": "yes"}]),
            "gpu-platform:nodePools[0].taints[0]: nvidia.com/gpu:NoSchedule is already the GPU taint",
        ),
        (
            lambda r: r["nodePools"][0].update(taints=[{"key": "a"}, {"key": "a", "value": "b"}]),
            "gpu-platform:nodePools[0].taints[1]: a:NoSchedule is already taints[0]",
        ),
        (
            lambda r: r["nodePools"][0].update(nodes=["Worker_1"]),
            "gpu-platform:nodePools[0].nodes[0]: 'Worker_1' is not a Kubernetes node name",
        ),
    ],
)
def test_what_would_damage_a_cluster(local_raw: dict[str, Any], mutate: Any, expected: str) -> None:
    mutate(local_raw)
    errors = errors_of(local_raw)
    assert any(e.startswith(expected) for e in errors), errors


def test_allowed_labels_and_the_gpu_taint_itself_pass(local_raw: dict[str, Any]) -> None:
    local_raw["nodePools"][0]["labels"] = {"node.kubernetes.io/role-hint": "gpu", "example.com/team": "ml"}
    local_raw["nodePools"][0]["taints"] = [{"key": "nvidia.com/gpu", "value": "present"}]
    parse(local_raw)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["nodePools"][0].update(name="system"),
            "gpu-platform:nodePools[0].name: 'system' is the system node pool's name",
        ),
        (
            lambda r: (r["cluster"].update(name="gpu-platform-prod"), r["nodePools"][1].update(name="l4-spot")),
            "gpu-platform:nodePools[1].name: ",
        ),
        (
            lambda r: r["cluster"].update(networkCidr="10.0.0.1/16"),
            "gpu-platform:cluster.networkCidr: '10.0.0.1/16' is not an IPv4 network",
        ),
        (
            lambda r: r["cluster"].update(kubernetesVersion="1.33"),
            "gpu-platform:cluster.kubernetesVersion: '1.33' is not a GKE version a new cluster can start on",
        ),
        (
            lambda r: r["nodePools"][0]["sharing"].update(renameByDefault=True),
            "gpu-platform:nodePools[0].sharing.renameByDefault: GKE never renames shared GPUs",
        ),
        (
            lambda r: (
                r["cluster"]["systemPool"].update(machineType="e2-micro")
                if "systemPool" in r["cluster"]
                else r["cluster"].update(systemPool={"machineType": "e2-micro"})
            ),
            "gpu-platform:cluster.systemPool.machineType: 'e2-micro' is not a system-pool machine type",
        ),
    ],
)
def test_gcp_names_and_values_the_cloud_refuses(gcp_raw: dict[str, Any], mutate: Any, expected: str) -> None:
    mutate(gcp_raw)
    errors = errors_of(gcp_raw)
    assert any(e.startswith(expected) for e in errors), errors


def test_gcp_service_account_ids_stay_distinct_after_truncation(gcp_raw: dict[str, Any]) -> None:
    gcp_raw["cluster"]["name"] = "gpu-platform-prod"
    gcp_raw["nodePools"][0]["name"] = "research-shared-a100-pool-one"
    gcp_raw["nodePools"][1]["name"] = "research-shared-a100-pool-two"
    gcp_raw["teams"] = []
    gcp_raw.pop("training", None)  # its jobs name teams
    gcp_raw.pop("serving", None)  # its endpoints name teams and pools
    (error,) = errors_of(gcp_raw)
    assert error.startswith(
        "gpu-platform:nodePools[1].name: the pool's service-account id 'gpu-platfo-research-shared-a10' is also pool"
    )


# ---------------------------------------------------------------- a stack file means what Pulumi says


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.case.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def file_errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_file(path)
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  gpu-platform:cloud: aws\n  gpu-platform:cloud: gcp\n", "appears twice in one mapping"),
        ("config:\n  cloud: aws\n", "cloud: has no namespace; Pulumi config keys are <namespace>:<name>"),
        ("config:\n  gpu-platfrom:cloud: aws\n", "gpu-platfrom:cloud: unknown namespace 'gpu-platfrom' (did you mean"),
        ("config:\n  GPU_platform:cloud: aws\n", "GPU_platform:cloud: unknown namespace"),
        (
            "config:\n  gpu-platform:config:cloud: aws\n",
            "gpu-platform:config:cloud: legacy key form; write gpu-platform:cloud",
        ),
        ("config:\n  gpu-platform:node_pools: []\n", "gpu-platform:node_pools: unknown key (did you mean nodePools?)"),
        ("confg:\n  gpu-platform:cloud: aws\n", "confg: not a key of a Pulumi stack file (did you mean config?)"),
        ("config:\n  gpu-platform:zones: [!!timestamp 2024-01-01]\n", "gpu-platform:zones[0]: is a YAML date"),
        ("config:\n  gpu-platform:cloud: !!binary aGk=\n", "gpu-platform:cloud: is YAML binary"),
        ("config:\n  gpu-platform:teams: &a [*a]\n", "nested too deep"),
        ("- a\n- b\n", "expected a mapping with a 'config:' key"),
        (
            "config:\n  gpu-platform:cluster:\n    kubeconfig: 'apiVersion: v1 password: hunter2'\n",
            "gpu-platform:cluster.kubeconfig: is plain text",
        ),
    ],
)
def test_stack_files_follow_pulumis_rules(tmp_path: Path, text: str, expected: str) -> None:
    errors = file_errors(write(tmp_path, text))
    assert any(expected in e for e in errors), errors
    assert not any("hunter2" in e for e in errors)  # a secret is never echoed


def test_scalars_are_read_as_pulumi_reads_them_yaml_1_2(tmp_path: Path) -> None:
    from stacks.loader import load_stack_file

    text = "config:\n  gpu-platform:queues: {enabled: off, cohort: yes}\n  gpu-platform:zones: [1:30, 2024-01-01]\n"
    raw = load_stack_file(write(tmp_path, text)).raw
    assert raw == {"queues": {"enabled": "off", "cohort": "yes"}, "zones": ["1:30", "2024-01-01"]}


def test_other_namespaces_pass_through_and_are_listed(tmp_path: Path) -> None:
    from stacks.loader import load_stack_file

    stack = load_stack_file(write(tmp_path, "config:\n  aws:region: us-east-1\n  kubernetes:context: kind\n"))
    assert stack.raw == {} and stack.other_keys == ("aws:region", "kubernetes:context")


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["config:", "  gpu-platform:teams: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  gpu-platform:x{i}: &l{i} [{', '.join(f'*l{i - 1}' for _ in range(10))}]" for i in range(1, 9)]
    errors = file_errors(write(tmp_path, "\n".join(lines) + "\n"))
    assert any("expands to over 100000 values" in e for e in errors)


def test_secret_value_of_the_wrong_type_is_not_printed() -> None:
    errors = errors_of({"cluster": {"kubeconfig": {"token": "hunter2"}}})
    assert errors and not any("hunter2" in e for e in errors)
