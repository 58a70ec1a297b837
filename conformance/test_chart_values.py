"""Helm values and chart pins against the upstream charts in ../shared/reference/helm-charts.

Helm ignores misspelled values silently, so every key the platform sets must be a key the pinned
chart reads (``value-paths.json``: every values path of the chart at its release tag), and the pins
in ``components/versions.py`` must be the releases those files came from (``sources.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components import cluster_autoscaler, dcgm, device_plugin, efa, fake_gpus, gpu_operator
from components.pool_spec import MigSpec, PoolSpec, SharingSpec
from components.versions import FAKE_GPU_OPERATOR, NVIDIA_DEVICE_PLUGIN

# Kubernetes objects or flag maps, not chart keys.
FREE_FORM = {"affinity", "tolerations", "nodeSelector", "resources", "extraArgs"}


def _paths(reference_root: Path, chart: str) -> set[str]:
    return set(json.loads((reference_root / "helm-charts" / chart / "value-paths.json").read_text())["paths"])


def _leaf_paths(values: Any, prefix: str = "") -> set[str]:
    """Top two levels of the values we set (deeper maps like topology.nodePools.<pool> are free-form)."""
    out = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        out.add(path)
        if isinstance(value, dict) and prefix == "":
            out |= _leaf_paths(value, f"{path}.")
    return out


def _two_levels(values: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for key, value in values.items():
        out.add(f"{prefix}{key}")
        if isinstance(value, dict) and not prefix and key not in FREE_FORM:
            out |= _two_levels(value, f"{key}.")
    return out


def test_helm_values_exist_in_the_charts(reference_root: Path) -> None:
    pools = [PoolSpec("a", "l4", 1, 1, simulated=True), PoolSpec("b", "t4", 1, 1)]
    plugin = _leaf_paths(dict(device_plugin.helm_values("cm", pools, True)))
    upstream = _paths(reference_root, "nvidia-device-plugin")
    assert plugin <= upstream, plugin - upstream
    fake = _leaf_paths(fake_gpus.helm_values(pools))
    upstream = _paths(reference_root, "fake-gpu-operator")
    assert fake <= upstream, fake - upstream


def test_pinned_chart_versions_match_upstream_releases(reference_root: Path) -> None:
    sources = {s["chart"]: s for s in json.loads((reference_root / "helm-charts" / "sources.json").read_text())}
    assert sources["nvidia-device-plugin"]["tag"] == f"v{NVIDIA_DEVICE_PLUGIN.version}"
    assert sources["fake-gpu-operator"]["tag"] == f"v{FAKE_GPU_OPERATOR.version}"
    assert sources["fake-gpu-operator"]["helm_repo"]["primary"] == FAKE_GPU_OPERATOR.chart
    assert sources["nvidia-device-plugin"]["helm_repo"]["primary"] == NVIDIA_DEVICE_PLUGIN.repo


def test_operator_dcgm_and_kueue_values_exist_in_their_charts(reference_root: Path) -> None:
    pools = [PoolSpec("a", "h100", 8, 1, sharing=SharingSpec(mig=MigSpec("single", (("1g.10gb", 7),))))]
    operator = _two_levels(
        gpu_operator.helm_values(
            pools, "a", "b", driver=False, toolkit=False, dcgm=True, service_monitor=True, mig_reboot=True, mofed=False
        )
    )
    upstream = _paths(reference_root, "gpu-operator")
    assert operator <= upstream, operator - upstream
    exporter = _two_levels(dcgm.helm_values(pools, True))
    upstream = _paths(reference_root, "dcgm-exporter")
    assert exporter <= upstream, exporter - upstream
    assert {"enablePrometheus"} <= _paths(reference_root, "kueue")


def test_aws_add_on_values_exist_in_their_charts(reference_root: Path) -> None:
    pools = [PoolSpec("a", "h100", 8, 1)]
    autoscaler = _two_levels(cluster_autoscaler.helm_values("c", "us-east-1", "1.35", "arn"))
    upstream = _paths(reference_root, "cluster-autoscaler")
    assert autoscaler <= upstream, autoscaler - upstream
    plugin = _two_levels(efa.helm_values(pools))
    assert plugin <= _paths(reference_root, "aws-efa-k8s-device-plugin")
    nvidia = _two_levels(dict(device_plugin.helm_values("cm", pools, False, mofed=False)))
    upstream = _paths(reference_root, "nvidia-device-plugin")
    assert nvidia <= upstream, nvidia - upstream


def test_kueue_manager_config_is_the_chart_default_plus_resources_and_pod_readiness(reference_root: Path) -> None:
    """The chart takes the whole manager config as one document: anything we drop from its
    default (ports, leader election id, integrations) silently changes Kueue's behaviour."""
    import yaml

    from components.kueue_config import manager_config

    values = yaml.safe_load((reference_root / "helm-charts" / "kueue" / "values.yaml").read_text())
    default = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    ours = manager_config()
    added = {"resources", "waitForPodsReady"}
    assert set(ours) - set(default) == added
    assert {k: v for k, v in ours.items() if k not in added} == default
    # waitForPodsReady is commented out in the chart's values: its keys must be the ones that example names.
    text = (reference_root / "helm-charts" / "kueue" / "values.yaml").read_text()
    start = text.index("#waitForPodsReady:")
    example = yaml.safe_load("\n".join(line.replace("#", "", 1) for line in text[start:].splitlines()[:9]))
    documented = example["waitForPodsReady"]
    assert set(ours["waitForPodsReady"]) <= set(documented)
    assert set(ours["waitForPodsReady"]["requeuingStrategy"]) <= set(documented["requeuingStrategy"])


def test_trainer_values_pin_and_runtimes_match_upstream(reference_root: Path) -> None:
    """The Trainer chart's values we set exist; the pin is the published chart; our runtimes carry upstream's
    images and policies (the v2.3.0 manifests), so a job behaves as Trainer's own docs describe."""
    import yaml

    from components import training
    from components.training_runtimes import runtime_manifest
    from components.versions import KUBEFLOW_TRAINER

    ours = _two_levels(training.helm_values())
    upstream = _paths(reference_root, "kubeflow-trainer")
    assert ours <= upstream, ours - upstream
    sources = {s["chart"]: s for s in json.loads((reference_root / "helm-charts" / "sources.json").read_text())}
    assert sources["kubeflow-trainer"]["helm_repo"]["primary"] == KUBEFLOW_TRAINER.chart
    chart = yaml.safe_load((reference_root / "helm-charts" / "kubeflow-trainer" / "Chart.yaml").read_text())
    assert chart["version"] == KUBEFLOW_TRAINER.version
    runtimes = reference_root / "examples" / "kubeflow-trainer-v2" / "runtimes"
    for name in ("torch-distributed", "deepspeed-distributed", "jax-distributed"):
        upstream_rt = yaml.safe_load((runtimes / f"{name.replace('-', '_')}.yaml").read_text())
        mine = runtime_manifest(name, 3, 60)
        assert mine["spec"]["mlPolicy"] == upstream_rt["spec"]["mlPolicy"]
        up_jobs = upstream_rt["spec"]["template"]["spec"]["replicatedJobs"]
        my_jobs = mine["spec"]["template"]["spec"]["replicatedJobs"]
        assert [j["name"] for j in my_jobs] == [j["name"] for j in up_jobs]
        for up, me in zip(up_jobs, my_jobs, strict=True):
            up_c = up["template"]["spec"]["template"]["spec"]["containers"][0]
            me_c = me["template"]["spec"]["template"]["spec"]["containers"][0]
            # Upstream leaves the MPI runtime image untagged (the chart fills in its version): we pin it.
            assert me_c["image"].split(":")[0] == up_c["image"].split(":")[0]
            assert {k: v for k, v in me_c.items() if k != "image"} == {k: v for k, v in up_c.items() if k != "image"}


def test_serving_values_pins_and_runtime_match_upstream(reference_root: Path) -> None:
    """KServe, KEDA and cert-manager values we set exist in their charts; the pins are the published charts;
    the vLLM runtime keeps KServe v0.20.0's own kserve-vllmserver shape (command, port, probes, /dev/shm)."""
    import yaml

    from components import serving
    from components.inference_service import runtime_manifest
    from components.versions import CERT_MANAGER, KEDA, KSERVE, KSERVE_CRD

    for chart, values in (
        ("kserve-resources", serving.kserve_values()),
        ("keda", serving.keda_values()),
        ("cert-manager", serving.cert_manager_values()),
    ):
        paths = _paths(reference_root, chart)
        ours = _leaf_paths_deep(values)
        assert ours <= paths, (chart, ours - paths)
    sources = {s["chart"]: s for s in json.loads((reference_root / "helm-charts" / "sources.json").read_text())}
    for pin, name in ((CERT_MANAGER, "cert-manager"), (KSERVE_CRD, "kserve-crd"), (KSERVE, "kserve-resources")):
        assert sources[name]["helm_repo"]["primary"] == pin.chart and sources[name]["tag"] == pin.version
    assert sources["keda"]["helm_repo"]["primary"] == KEDA.repo and sources["keda"]["tag"] == f"v{KEDA.version}"
    upstream = yaml.safe_load(
        (reference_root / "examples" / "kserve" / "clusterservingruntimes" / "kserve-vllmserver.yaml").read_text()
    )
    (up,) = upstream["spec"]["containers"]
    (mine,) = runtime_manifest()["spec"]["containers"]
    assert mine["args"] == up["args"] and mine["command"][1:] == up["command"][1:]
    for probe in ("readinessProbe", "startupProbe"):  # successThreshold 1 is the API's default
        assert all(mine[probe][k] == v for k, v in up[probe].items() if k not in ("successThreshold", "httpGet")), probe
        # Upstream probes /v1/models; with an API key vLLM answers 401 there, so ours probe /health on the same port.
        assert up[probe]["httpGet"]["path"] == "/v1/models" and mine[probe]["httpGet"]["path"] == "/health"
        assert mine[probe]["httpGet"]["port"] == up[probe]["httpGet"]["port"]
    assert runtime_manifest()["spec"]["volumes"] == upstream["spec"]["volumes"]
    assert runtime_manifest()["spec"]["supportedModelFormats"] == upstream["spec"]["supportedModelFormats"]


def _leaf_paths_deep(values: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out |= _leaf_paths_deep(value, f"{path}.")
        else:
            out.add(path)
    return out
