"""The training layer: Trainer and its runtimes, TrainJobs derived from pools and queues, their checks,
identities and storage, and team stacks planned through their StackReference."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.train_job import PREFERRED_TOPOLOGY, REQUIRED_TOPOLOGY
from infra.plan.engine import OFFLINE_STACKS
from stacks.contract import platform_contract
from stacks.loader import ConfigError, load_file, load_stack_file, parse
from tests.conftest import ROOT, by_type, config_errors, fresh_raw

TRAINJOB = "kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob"
TRAINER_CHART = "oci://ghcr.io/kubeflow/charts/kubeflow-trainer"
KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue"


raw = fresh_raw
errors_of = config_errors


def job_of(capture: Any, name: str) -> dict[str, Any]:
    (found,) = [r.inputs() for r in by_type(capture, TRAINJOB) if r.inputs()["metadata"]["name"] == name]
    return found


def pod_patch(job: dict[str, Any], replicated: str = "node") -> dict[str, Any]:
    (patch,) = job["spec"]["runtimePatches"]
    jobs = {j["name"]: j for j in patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]}
    template: dict[str, Any] = jobs[replicated]["template"]["spec"]["template"]
    return template


def env(job: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in job["spec"]["trainer"].get("env", [])}


@pytest.fixture
def local_training() -> dict[str, Any]:
    """The local stack with Trainer on and one job on the simulated L4 pool."""
    config = raw("local")
    config["training"] = {
        "enabled": True,
        "jobs": [
            {
                "name": "tune",
                "team": "research",
                "image": "nvcr.io/nvidia/pytorch:25.10-py3",
                "pool": "l4-sim",
                "nodes": 1,
                "gpusPerNode": 2,
            }
        ],
    }
    return config


# ---------------------------------------------------------------- the operator and its runtimes


def test_trainer_installed_before_kueue_and_runtimes_wait_for_it(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-train"))
    releases = {r.inputs()["chart"]: r for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    trainer, kueue = releases[TRAINER_CHART], releases[KUEUE_CHART]
    assert trainer.inputs()["version"] == "2.3.0" and trainer.inputs()["namespace"] == "kubeflow-system"
    assert trainer.inputs()["values"]["jobset"] == {"install": True}
    # Kueue sets up its TrainJob/JobSet integrations for the CRDs present when it starts.
    assert trainer.urn in kueue.dependencies
    runtimes = by_type(capture, "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime")
    assert {r.inputs()["metadata"]["name"] for r in runtimes} == {"torch-distributed", "deepspeed-distributed"}
    assert all(trainer.urn in r.dependencies for r in runtimes)
    torch = next(r.inputs() for r in runtimes if r.inputs()["metadata"]["name"] == "torch-distributed")
    template = torch["spec"]["template"]["spec"]
    assert template["failurePolicy"] == {"maxRestarts": 3} and template["ttlSecondsAfterFinished"] == 604800
    (container,) = template["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"


def test_no_trainer_without_training(plan: Callable[..., Any]) -> None:
    capture = plan(raw("local"))
    assert TRAINER_CHART not in {r.inputs()["chart"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    assert not by_type(capture, TRAINJOB)


def test_runtime_images_are_pinned() -> None:
    from components.training_runtimes import RUNTIMES, runtime_manifest

    for name in RUNTIMES:
        spec = runtime_manifest(name, 1, 1)["spec"]["template"]["spec"]
        for job in spec["replicatedJobs"]:
            for container in job["template"]["spec"]["template"]["spec"]["containers"]:
                image = container["image"]
                assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image


# ---------------------------------------------------------------- rendering and derived scheduling


def test_multi_node_efa_job_gets_everything_from_its_pool(plan: Callable[..., Any]) -> None:
    job = job_of(plan(raw("aws-train")), "llama-pretrain")
    meta, spec = job["metadata"], job["spec"]
    assert meta["namespace"] == "team-training" and meta["labels"]["kueue.x-k8s.io/queue-name"] == "gpu"
    assert spec["suspend"] is True  # Kueue admits by unsuspending
    assert spec["runtimeRef"] == {
        "apiGroup": "trainer.kubeflow.org",
        "kind": "ClusterTrainingRuntime",
        "name": "torch-distributed",
    }
    trainer = spec["trainer"]
    assert trainer["numNodes"] == 2 and trainer["image"] == "nvcr.io/nvidia/pytorch:25.10-py3"
    limits = trainer["resourcesPerNode"]["limits"]
    assert limits == {
        "hugepages-2Mi": "5120Mi",
        "memory": "1600Gi",
        "nvidia.com/gpu": "8",
        "vpc.amazonaws.com/efa": "32",  # p5.48xlarge: 32 EFA devices
    }
    assert trainer["resourcesPerNode"]["requests"] == {**limits, "cpu": "160"}
    variables = env(job)
    assert variables["FI_PROVIDER"] == "efa" and variables["FI_EFA_USE_DEVICE_RDMA"] == "1"
    assert variables["NCCL_DEBUG"] == "WARN"  # the job's own
    assert variables["CHECKPOINT_DIR"] == "s3://gpu-train-checkpoints-example/teams/training/llama-pretrain/"
    pod = pod_patch(job)
    assert pod["spec"]["nodeSelector"] == {"gpu-platform.io/pool": "h100-efa"}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in pod["spec"][
        "tolerations"
    ]
    assert pod["spec"]["serviceAccountName"] == "trainer"
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "256Gi"}} in pod["spec"]["volumes"]
    assert pod["spec"]["containers"] == [{"name": "node", "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}]}]
    assert pod["metadata"]["annotations"] == {PREFERRED_TOPOLOGY: "topology.k8s.aws/network-node-layer-3"}


def test_time_sliced_l4_job_has_its_own_runtime_for_its_run_policy(plan: Callable[..., Any]) -> None:
    capture = plan(raw("gcp-dev"))
    job = job_of(capture, "gemma-lora")
    assert job["spec"]["runtimeRef"]["kind"] == "TrainingRuntime" and job["spec"]["runtimeRef"]["name"] == "gemma-lora"
    (runtime,) = by_type(capture, "kubernetes:trainer.kubeflow.org/v1alpha1:TrainingRuntime")
    spec = runtime.inputs()["spec"]["template"]["spec"]
    assert runtime.inputs()["metadata"]["namespace"] == "team-research"
    assert spec["failurePolicy"] == {"maxRestarts": 1} and spec["ttlSecondsAfterFinished"] == 86400
    trainjob = next(r for r in by_type(capture, TRAINJOB))
    assert runtime.urn in trainjob.dependencies
    assert job["spec"]["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "1"
    variables = env(job)
    assert "FI_PROVIDER" not in variables  # no EFA on GKE
    assert variables["CHECKPOINT_DIR"] == "gs://gpu-dev-models-example/teams/research/gemma-lora/"
    assert "annotations" not in pod_patch(job).get("metadata", {})  # g2 nodes report no topology


def test_jobs_wait_for_runtimes_queues_and_namespace(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-train"))
    (job,) = by_type(capture, TRAINJOB)
    runtimes = by_type(capture, "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime")
    # Dependencies on components reach their children, as the engine records them.
    deps = {d.rsplit("::", 1)[-1] for d in job.dependencies}
    assert {r.urn for r in runtimes} <= set(job.dependencies)
    assert {"gpu-queues-lq-training", "team-training-namespace", "team-training-sa-trainer"} <= deps


def test_secrets_become_a_kubernetes_secret_never_a_value(local_training: dict[str, Any], plan: Any) -> None:
    job = local_training["training"]["jobs"][0]
    job["hfToken"] = "hf_supersecret"
    job["secretEnv"] = {"WANDB_API_KEY": "wandb-secret"}
    capture = plan(local_training)
    (secret,) = by_type(capture, "kubernetes:core/v1:Secret")
    assert secret.inputs()["stringData"] == {"HF_TOKEN": "[secret]", "WANDB_API_KEY": "[secret]"}
    assert secret.inputs_revealed()["stringData"] == {"HF_TOKEN": "hf_supersecret", "WANDB_API_KEY": "wandb-secret"}
    rendered = job_of(capture, "tune")
    assert "hf_supersecret" not in json.dumps(rendered)
    assert env(rendered)["HF_TOKEN"] == {"secretKeyRef": {"name": "tune-env", "key": "HF_TOKEN"}}
    assert secret.urn in next(iter(by_type(capture, TRAINJOB))).dependencies


def test_plaintext_job_secrets_in_a_stack_file_are_refused_unshown(tmp_path: Path) -> None:
    config = raw("local")
    config["training"] = {"enabled": True, "jobs": [{"name": "a", "hfToken": "hf_plain", "secretEnv": {"K": "v1"}}]}
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(yaml.safe_dump({"config": {f"gpu-platform:{k}": v for k, v in config.items()}}))
    issues = [str(i) for i in load_stack_file(path).issues]
    assert any(i.startswith("gpu-platform:training.jobs[0].hfToken: is plain text") for i in issues)
    assert any(i.startswith("gpu-platform:training.jobs[0].secretEnv.K: is plain text") for i in issues)
    assert not any("hf_plain" in i or "v1" in i.split(":", 2)[-1].split() for i in issues)


def test_secret_values_never_shown_in_type_errors(local_training: dict[str, Any]) -> None:
    local_training["training"]["jobs"][0]["hfToken"] = 12345
    errors = errors_of(local_training)
    assert any(e.startswith("gpu-platform:training.jobs[0].hfToken") for e in errors)
    assert not any("12345" in e for e in errors)


def test_pvc_storage_on_existing_clusters(local_training: dict[str, Any], plan: Any) -> None:
    local_training["storage"] = {"enabled": True, "sizeGiB": 100, "storageClass": "nfs-retain"}
    local_training["training"]["jobs"][0]["checkpoint"] = True
    capture = plan(local_training)
    claims = by_type(capture, "kubernetes:core/v1:PersistentVolumeClaim")
    assert {c.inputs()["metadata"]["namespace"] for c in claims} == {"team-research", "team-inference"}
    assert all(c.protect and c.retain_on_delete for c in claims)
    pod = pod_patch(job_of(capture, "tune"))
    assert {"name": "checkpoints", "persistentVolumeClaim": {"claimName": "checkpoints"}} in pod["spec"]["volumes"]
    assert env(job_of(capture, "tune"))["CHECKPOINT_DIR"] == "/checkpoints/tune/"
    assert "serviceAccountName" not in pod["spec"]  # a volume needs no cloud identity


def test_deepspeed_job_places_launcher_and_nodes(local_training: dict[str, Any], plan: Any) -> None:
    local_training["training"]["jobs"][0]["runtime"] = "deepspeed-distributed"
    job = job_of(plan(local_training), "tune")
    assert pod_patch(job, "launcher")["spec"]["nodeSelector"] == pod_patch(job, "node")["spec"]["nodeSelector"]


# ---------------------------------------------------------------- topology


def test_topology_from_the_pool_definition(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-train"))
    (topology,) = by_type(capture, "kubernetes:kueue.x-k8s.io/v1beta2:Topology")
    levels = [level["nodeLabel"] for level in topology.inputs()["spec"]["levels"]]
    assert levels[0] == "topology.k8s.aws/network-node-layer-1" and levels[-1] == "kubernetes.io/hostname"
    flavors = {
        r.inputs()["metadata"]["name"]: r.inputs()
        for r in by_type(capture, "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor")
    }
    assert flavors["h100-efa"]["spec"]["topologyName"] == "aws-network"
    assert "topologyName" not in flavors["h100-mig"]["spec"]  # p5.4xlarge reports no topology


def test_required_topology_asks_for_one_block(plan: Callable[..., Any]) -> None:
    config = raw("aws-train")
    config["training"]["jobs"][0]["topology"] = "required"
    pod = pod_patch(job_of(plan(config), "llama-pretrain"))
    assert pod["metadata"]["annotations"] == {REQUIRED_TOPOLOGY: "topology.k8s.aws/network-node-layer-1"}


def test_topology_can_be_turned_off(plan: Callable[..., Any]) -> None:
    config = raw("aws-train")
    config["queues"] = {"topologyAware": False}
    capture = plan(config)
    assert not by_type(capture, "kubernetes:kueue.x-k8s.io/v1beta2:Topology")
    assert "metadata" not in pod_patch(job_of(capture, "llama-pretrain"))


# ---------------------------------------------------------------- identities, storage, node health


def test_team_service_accounts_bound_to_their_storage_roles(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-train"))
    accounts = {
        (r.inputs()["metadata"]["namespace"], r.inputs()["metadata"]["name"]): r.inputs()["metadata"]["annotations"]
        for r in by_type(capture, "kubernetes:core/v1:ServiceAccount")
    }
    assert set(accounts) == {
        (ns, sa) for ns in ("team-training", "team-research") for sa in ("trainer", "model-reader")
    }
    assert all(set(a) == {"eks.amazonaws.com/role-arn"} for a in accounts.values())
    (bucket,) = by_type(capture, "aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete and bucket.inputs()["bucket"] == "gpu-train-checkpoints-example"


def test_gke_service_accounts_use_workload_identity(plan: Callable[..., Any]) -> None:
    capture = plan(raw("gcp-dev"))
    annotations = [r.inputs()["metadata"]["annotations"] for r in by_type(capture, "kubernetes:core/v1:ServiceAccount")]
    assert annotations and all(set(a) == {"iam.gke.io/gcp-service-account"} for a in annotations)
    (bucket,) = by_type(capture, "gcp:storage/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete


def test_eks_node_monitoring_and_repair(plan: Callable[..., Any]) -> None:
    config = raw("aws-train")  # gpuHealth: monitor
    capture = plan(config)
    (addon,) = by_type(capture, "aws:eks/addon:Addon")
    assert addon.inputs()["addonName"] == "eks-node-monitoring-agent"
    assert not any("nodeRepairConfig" in r.inputs() for r in by_type(capture, "aws:eks/nodeGroup:NodeGroup"))
    config["nodeHealth"] = {"gpuHealth": "remediate"}
    config["gpuSoftware"]["dcgm"] = {"enabled": False}
    groups = [
        r.inputs() for r in by_type(plan(config), "aws:eks/nodeGroup:NodeGroup") if "nodeRepairConfig" in r.inputs()
    ]
    assert len(groups) == 2 and all(
        g["nodeRepairConfig"] == {"enabled": True, "maxParallelNodesRepairedCount": 1} for g in groups
    )
    config["nodeHealth"] = {"gpuHealth": "off"}
    assert not by_type(plan(config), "aws:eks/addon:Addon")


def test_remediation_refused_next_to_dcgm() -> None:
    config = raw("aws-train")
    config["nodeHealth"] = {"gpuHealth": "remediate"}
    assert any(
        e.startswith("gpu-platform:nodeHealth.gpuHealth: remediate") and "containers-roadmap#2763" in e
        for e in errors_of(config)
    )


def test_autoscaler_template_offers_hugepages_on_efa_pools(plan: Callable[..., Any]) -> None:
    groups = {r.name: r.inputs() for r in by_type(plan(raw("aws-train")), "aws:eks/nodeGroup:NodeGroup")}
    tags = [
        g["tags"]
        for g in groups.values()
        if "k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa" in g.get("tags", {})
    ]
    assert tags and all(t["k8s.io/cluster-autoscaler/node-template/resources/hugepages-2Mi"] == "5120Mi" for t in tags)


def test_changed_jobs_and_runtimes_are_replaced_not_patched(plan: Callable[..., Any]) -> None:
    # Trainer's CEL rules make a TrainJob's trainer, runtime reference and patches, and a runtime's failure
    # policy, immutable: an in-place update would be refused.
    capture = plan(raw("gcp-dev"))
    for type_ in (
        TRAINJOB,
        "kubernetes:trainer.kubeflow.org/v1alpha1:TrainingRuntime",
        "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime",
    ):
        resources = by_type(capture, type_)
        assert resources and all(r.replace_on_changes == ["spec"] and r.delete_before_replace for r in resources)


def test_workload_identity_bindings_wait_for_the_cluster(plan: Callable[..., Any]) -> None:
    capture = plan(raw("gcp-dev"))
    (cluster,) = by_type(capture, "gcp:container/cluster:Cluster")
    bindings = [
        r
        for r in by_type(capture, "gcp:serviceaccount/iAMMember:IAMMember")
        if r.inputs()["role"] == "roles/iam.workloadIdentityUser"
    ]
    assert bindings and all(cluster.urn in b.dependencies for b in bindings)


def test_team_deployers_get_their_namespace_only(plan: Callable[..., Any]) -> None:
    capture = plan(raw("aws-train"))
    entries = [r.inputs() for r in by_type(capture, "aws:eks/accessEntry:AccessEntry") if r.name.startswith("team-")]
    assert entries == [
        {
            "clusterName": entries[0]["clusterName"],
            "principalArn": "arn:aws:iam::123456789012:role/research-ci",
            "kubernetesGroups": ["gpu-platform:team:research"],
            "type": "STANDARD",
        }
    ]
    assert not [
        r
        for r in by_type(capture, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if r.name.startswith("team-")
    ]
    bindings = {
        r.inputs()["metadata"]["namespace"]: r.inputs()
        for r in by_type(capture, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    }
    assert bindings["team-research"]["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "gpu-platform:team:research"}
    ]
    assert bindings["team-research"]["roleRef"]["kind"] == "Role"  # never a ClusterRole
    assert not by_type(capture, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")


def test_gke_team_deployers_bound_by_identity(plan: Callable[..., Any]) -> None:
    config = raw("gcp-dev")
    config["teams"][0]["deployers"] = ["user:ana@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com"]
    capture = plan(config)
    viewers = {
        r.inputs()["member"]
        for r in by_type(capture, "gcp:projects/iAMMember:IAMMember")
        if r.inputs()["role"] == "roles/container.clusterViewer"
    }
    assert viewers == set(config["teams"][0]["deployers"])
    (binding,) = [
        r.inputs()
        for r in by_type(capture, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
        if r.inputs()["metadata"]["namespace"] == "team-research"
    ]
    kinds = {(s["kind"], s["name"]) for s in binding["subjects"]}
    assert {("User", "ana@example.com"), ("User", "ci@p.iam.gserviceaccount.com")} <= kinds
    # Google groups map to RBAC only with Google Groups for RBAC, which these clusters do not set up.
    config["teams"][0]["deployers"] = ["group:ml-research@example.com"]
    with pytest.raises(ConfigError, match="group: needs Google Groups for RBAC"):
        parse(config)


def test_deployer_forms_per_cloud() -> None:
    config = raw("gcp-dev")
    config["teams"][0]["deployers"] = ["arn:aws:iam::123456789012:role/x"]
    assert any(e.startswith("gpu-platform:teams[0].deployers[0]: 'arn:aws") and "gcp" in e for e in errors_of(config))
    local = raw("local")
    local["teams"][0]["deployers"] = ["user:a@example.com"]
    assert any(e.startswith("gpu-platform:teams[0].deployers: applies only to cloud") for e in errors_of(local))
    aws = raw("aws-dev")
    aws["teams"][0]["deployers"] = ["arn:aws:iam::123456789012:role/platform-admins"]
    assert any("is a cluster admin already" in e for e in errors_of(aws))


def test_topology_only_on_fixed_size_pools(plan: Callable[..., Any]) -> None:
    # Kueue's topology-aware scheduling counts only existing nodes: on an autoscaled pool it would never
    # admit a job that needs the pool to grow, and nothing would make it grow.
    config = raw("aws-train")
    config["nodePools"][0]["minNodes"] = 0
    capture = plan(config)
    assert not by_type(capture, "kubernetes:kueue.x-k8s.io/v1beta2:Topology")
    assert "metadata" not in pod_patch(job_of(capture, "llama-pretrain"))


# ---------------------------------------------------------------- validation, all at once


def _job(**fields: Any) -> dict[str, Any]:
    return {"name": "j", "team": "research", "image": "nvcr.io/nvidia/pytorch:25.10-py3", "pool": "l4-sim", **fields}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["training"]["jobs"][0].update(gpusPerNode=3),
            "gpusPerNode: 3 does not fit one node of pool l4-sim",
        ),
        (
            lambda c: c["training"]["jobs"][0].update(pool="t4-shared", gpusPerNode=2),
            "gpusPerNode: 2 does not fit one node of pool t4-shared: its GPUs are time-sliced",
        ),
        (lambda c: c["training"]["jobs"][0].update(nodes=3), "nodes: 3 pods of 2 nvidia.com/gpu need 3 nodes"),
        (
            lambda c: c["teams"][0]["gpuQuota"].update({"l4-sim": 1}),
            "nodes: 1 x 2 = 2 nvidia.com/gpu on l4-sim, but team research's quota there is 1",
        ),
        (
            lambda c: c["training"]["jobs"][0].update(runtime="jax-distributed"),
            "runtime: 'jax-distributed' is not installed; allowed: torch-distributed, deepspeed-distributed",
        ),
        (lambda c: c["training"]["jobs"][0].update(pool="a100"), "pool: no node pool named 'a100'"),
        (lambda c: c["training"]["jobs"][0].update(team="ops"), "team: no team named 'ops'"),
        (lambda c: c["training"]["jobs"][0].update(interconnect="efa"), "interconnect: efa: pool l4-sim has no EFA"),
        (lambda c: c["training"]["jobs"][0].update(checkpoint=True), "checkpoint: the platform has no storage"),
        (lambda c: c["training"]["jobs"][0].update(cpu="64"), "cpu: 64 is more than a node of pool l4-sim has (16"),
        (lambda c: c["training"]["jobs"][0].update(memory="1Ti"), "memory: 1Ti is more than a node of pool l4-sim"),
        (
            lambda c: c["training"]["jobs"][0].update(gpusPerNode=1, nodes=2, cpu="12"),
            "cpu: 2 x 12 cpu is more than team research's queue holds on l4-sim (16)",
        ),
        (
            lambda c: c["training"]["jobs"][0].update(topology="required"),
            "topology: pool l4-sim (existing nodes) gets no Kueue Topology",
        ),
        (lambda c: c["training"]["jobs"].append(_job(gpusPerNode=2)), "name: 'j' is used by an earlier job"),
        (lambda c: c["training"].update(enabled=False), "Kubeflow Trainer is not installed"),
        (lambda c: c.update(queues={"enabled": False}), "team: jobs are admitted by the team's Kueue queue"),
        (lambda c: c["training"]["jobs"][0].update(image="pytorch/pytorch:latest"), 'image: "pytorch/pytorch:latest"'),
        (lambda c: c["training"]["jobs"][0].update(image="pytorch/pytorch"), 'image: "pytorch/pytorch" is not allowed'),
        (lambda c: c["training"]["jobs"][0].update(gpu="l4"), "set exactly one of pool"),
        (
            lambda c: c["training"]["jobs"][0].update(env={"A": "1"}, secretEnv={"A": "x"}),
            "A set in both env and secretEnv",
        ),
        (lambda c: c["training"]["jobs"][0].update(shmSizeGiB=64, memory="32Gi"), "shmSizeGiB: 64 GiB of /dev/shm"),
        (
            lambda c: c["teams"][0].update(namespace="kubeflow-system"),
            "namespace 'kubeflow-system' belongs to Kubeflow",
        ),
    ],
)
def test_job_problems(change: Callable[[dict[str, Any]], Any], expected: str) -> None:
    config = raw("local")
    config["training"] = {
        "enabled": True,
        "runtimes": ["torch-distributed", "deepspeed-distributed"],
        "jobs": [_job(gpusPerNode=2)],
    }
    parse(copy.deepcopy(config))  # the base is valid
    change(config)
    errors = errors_of(config)
    assert any(expected in e for e in errors), errors


def test_portable_gpu_resolves_to_the_teams_pool() -> None:
    config = raw("gcp-dev")
    contract = platform_contract(parse(config))
    from stacks.workload_checks import job_pool

    job = parse(config).training.jobs[0]
    assert [p.name for p in job_pool(job, contract.team("research"), contract)] == ["l4-spot"]
    # inference has no h100 quota but may borrow research's: the job resolves to that pool.
    config["training"]["jobs"][0].update(gpu="h100", team="inference", cpu="8", memory="64Gi")
    borrowed = parse(config)
    assert [p.name for p in job_pool(borrowed.training.jobs[0], contract.team("inference"), contract)] == ["h100"]
    config["teams"][1]["canBorrow"] = False
    assert any(
        "gpu: h100: no pool has it that team inference has quota on or may borrow" in e for e in errors_of(config)
    )


def test_multi_node_on_gke_a3_needs_gpudirect_or_tcp() -> None:
    config = raw("gcp-dev")
    config["training"]["jobs"][0].update(gpu=None, pool="h100", nodes=2, gpusPerNode=8, cpu=None, memory=None)
    del config["training"]["jobs"][0]["gpu"]
    config["teams"][0]["gpuQuota"]["h100"] = 16
    config["nodePools"][1]["maxNodes"] = 2
    errors = errors_of(config)
    assert any("needs GPUDirect-TCPX" in e and "interconnect: tcp" in e for e in errors), errors
    config["training"]["jobs"][0]["interconnect"] = "tcp"
    parse(config)


def test_many_job_problems_reported_together(local_training: dict[str, Any]) -> None:
    local_training["training"]["jobs"][0].update(gpusPerNode=3, runtime="jax-distributed", checkpoint=True)
    keys = sorted(e.split(": ", 1)[0].rsplit(".", 1)[-1] for e in errors_of(local_training))
    assert keys == ["checkpoint", "gpusPerNode", "nodes", "runtime"]  # quota (nodes) as well as node fit


def test_storage_rules() -> None:
    config = raw("aws-train")
    config["storage"] = {"enabled": True}
    assert any(e.startswith("gpu-platform:storage.bucket: a bucket name is required") for e in errors_of(config))
    config["storage"] = {"enabled": True, "bucket": "xn--abc", "sizeGiB": 10}
    errors = errors_of(config)
    assert any(e.startswith("gpu-platform:storage.bucket: 'xn--abc' uses a form aws reserves") for e in errors)
    assert any(e.startswith("gpu-platform:storage.sizeGiB: applies only to cloud existing") for e in errors)
    local = raw("local")
    local["storage"] = {"enabled": True, "bucket": "abc"}
    assert any(e.startswith("gpu-platform:storage.bucket: applies only to cloud aws or gcp") for e in errors_of(local))


def test_gpu_health_is_aws_only() -> None:
    config = raw("gcp-dev")
    config["nodeHealth"] = {"gpuHealth": "remediate"}
    assert any(e.startswith("gpu-platform:nodeHealth.gpuHealth: applies only to cloud aws") for e in errors_of(config))


# ---------------------------------------------------------------- team stacks


def test_platform_exports_the_contract_team_stacks_check_against(plan: Callable[..., Any]) -> None:
    config = load_file(ROOT / "stacks" / "Pulumi.aws-train.yaml")
    capture = plan(config, "aws-train")
    assert capture.outputs["platform"] == platform_contract(config).to_json()
    pools = {p["name"]: p for p in capture.outputs["platform"]["pools"]}
    assert pools["h100-efa"]["efaDevices" if "efaDevices" in pools["h100-efa"] else "efa_devices"] == 32


def test_team_stack_plans_through_its_stack_reference(plan: Callable[..., Any]) -> None:
    capture = plan(load_file(ROOT / "stacks" / "Pulumi.aws-train-research.yaml"), "aws-train-research")
    (provider,) = by_type(capture, "pulumi:providers:kubernetes")
    # The platform's kubeconfig, read through the reference: a secret output stays secret.
    assert provider.inputs()["kubeconfig"] == "[secret]"
    assert OFFLINE_STACKS["aws-train"][1] == ["kubeconfig"]
    (job,) = by_type(capture, TRAINJOB)
    assert job.inputs()["metadata"]["namespace"] == "team-research"
    assert pod_patch(job.inputs())["spec"]["nodeSelector"] == {"gpu-platform.io/pool": "h100-mig"}
    assert job.inputs()["spec"]["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "1"
    # Only namespaced objects of its own namespace: a team stack touches nothing else.
    k8s = [r for r in capture.registrations if r.type.startswith("kubernetes:") and r.custom]
    assert all(r.inputs()["metadata"].get("namespace") == "team-research" for r in k8s)
    assert capture.outputs["namespace"] == "team-research"


def _team_stack(**platform: Any) -> dict[str, Any]:
    return {
        "platform": {"stack": "aws-train", "team": "research", **platform},
        "training": {"jobs": [_job(pool="h100-mig", image="nvcr.io/nvidia/pytorch:25.10-py3")]},
    }


def test_team_stack_checked_against_its_platform() -> None:
    assert parse(_team_stack()).platform is not None
    other = _team_stack()
    other["training"]["jobs"][0]["team"] = "training"
    assert any("this team stack deploys only team research's jobs" in e for e in errors_of(other))
    missing = _team_stack(stack="org/gpu-platform/prod")
    assert any(
        e.startswith("gpu-platform:platform.stack: 'org/gpu-platform/prod': no Pulumi.prod.yaml")
        for e in errors_of(missing)
    )
    stranger = _team_stack(team="ops")
    assert any(
        "no team 'ops' in platform stack aws-train; allowed: training, research" in e for e in errors_of(stranger)
    )
    pool = _team_stack()
    pool["training"]["jobs"][0]["pool"] = "h200"
    assert any("no node pool named 'h200'; allowed: h100-efa, h100-mig" in e for e in errors_of(pool))


def test_team_stack_holds_only_jobs() -> None:
    # What Pulumi.yaml declares reaches the program with its default under `pulumi up`: not the stack's own.
    parse({**_team_stack(), "cloud": "existing", "region": "", "project": "", "zones": []})
    config = _team_stack()
    config["cloud"] = "aws"
    config["training"]["enabled"] = True
    errors = errors_of(config)
    assert any(e.startswith("gpu-platform:cloud: a team stack takes this from its platform stack") for e in errors)
    assert any(e.startswith("gpu-platform:training.enabled: a team stack has only training.jobs") for e in errors)
