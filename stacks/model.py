"""The typed stack configuration: one model for the whole platform.

Every key lives under the ``gpu-platform:`` namespace of ``stacks/Pulumi.<stack>.yaml``.
Unknown keys are errors, and so are values outside what each field allows; the
loader (``stacks/loader.py``) turns every problem into one line naming the full
key path, the bad value and what is allowed. Defaults are given per field with
their unit; the README's config reference is generated from this module's text.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.catalog import GPU_NAMES
from components.pool_spec import SharingMode

NAMESPACE = "gpu-platform"
"""Pulumi config namespace (the project name) that holds every key."""

# DNS-1123 label, kept short so derived names (`<pool>-<role>`) stay under 63 chars.
DNS_LABEL = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
DNS_NAME = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
"""A lowercase DNS name of two labels or more (``models.example.com``)."""
# Kubernetes label keys: optional DNS prefix, then a name of at most 63 chars.
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")

DnsLabel = Annotated[str, Field(pattern=DNS_LABEL)]


class Model(BaseModel):
    """Strict base: camelCase keys, unknown keys rejected, no silent coercion."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        # Only the documented camelCase keys: a snake_case spelling is an unknown key (with a hint), as
        # the same file would mean nothing else to anyone reading it.
        populate_by_name=False,
        use_enum_values=False,
        # Field docstrings become descriptions: the config reference is generated from them.
        use_attribute_docstrings=True,
    )


class Secret(str):
    """A config value that must stay secret (a kubeconfig, a token).

    Behaves as a string for validation, but components wrap it with
    ``pulumi.Output.secret`` and ``repr`` never shows it.
    """

    def __repr__(self) -> str:
        return "Secret('[secret]')"


def _as_secret(value: object) -> object:
    return Secret(value) if isinstance(value, str) else value


SecretStr = Annotated[str, Field(min_length=1)]


class Cloud(StrEnum):
    EXISTING = "existing"
    AWS = "aws"
    GCP = "gcp"


class Capacity(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


# ---------------------------------------------------------------- cluster


class AmiType(StrEnum):
    AL2023 = "al2023"
    BOTTLEROCKET = "bottlerocket"


class ReleaseChannel(StrEnum):
    RAPID = "RAPID"
    REGULAR = "REGULAR"
    STABLE = "STABLE"


class DriverVersion(StrEnum):
    DEFAULT = "DEFAULT"
    LATEST = "LATEST"


class Provisioner(StrEnum):
    MANAGED = "managed"
    KARPENTER = "karpenter"


def _check_node_range(min_nodes: int, max_nodes: int) -> None:
    if min_nodes > max_nodes:
        raise ValueError(f"minNodes ({min_nodes}) is greater than maxNodes ({max_nodes})")


class SystemPoolConfig(Model):
    """The CPU pool for system components (aws and gcp)."""

    instance_type: str = "m6i.large"
    """AWS instance type of system nodes. Default ``m6i.large``."""
    machine_type: str = "e2-standard-4"
    """GCP machine type of system nodes. Default ``e2-standard-4``."""
    min_nodes: Annotated[int, Field(ge=1, le=100)] = 2
    """Fewest system nodes. Default 2 (one node lost keeps the system running)."""
    max_nodes: Annotated[int, Field(ge=1, le=100)] = 4
    """Most system nodes. Default 4."""

    @model_validator(mode="after")
    def _sizes(self) -> SystemPoolConfig:
        _check_node_range(self.min_nodes, self.max_nodes)
        return self


class ClusterConfig(Model):
    """How to reach (or, on aws/gcp, what to create as) the Kubernetes cluster."""

    name: DnsLabel = "gpu-platform"
    """Cluster name (EKS/GKE cluster name; on ``existing`` only a label used in outputs). Default ``gpu-platform``."""
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")] = "1.35"
    """aws: the EKS version (pinned); gcp: the minimum master version within the release channel. Default ``1.35``."""
    release_channel: ReleaseChannel = ReleaseChannel.REGULAR
    """gcp only: GKE release channel. Default REGULAR."""
    network_cidr: Annotated[str, Field(pattern=r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$")] = "10.0.0.0/16"
    """aws/gcp: CIDR of the platform's network (VPC / subnet range base): /16 to /24 on aws, /12 to /24 on gcp (GKE
    gives each node a /24 of pod addresses from half of it: a /16 holds 128 nodes). Default ``10.0.0.0/16``."""
    public_endpoint_cidrs: list[str] = Field(default_factory=list)
    """aws/gcp: CIDRs that may reach the API endpoint from outside the VPC. ``pulumi up`` applies Helm releases and
    Kubernetes objects from the machine that runs it, so list those machines (your address /32, your CI runners'
    egress ranges; ``0.0.0.0/0`` opens it to any address, still authenticated). Required unless
    ``privateEndpointOnly``."""
    private_endpoint_only: bool = False
    """aws/gcp: no public API endpoint at all. ``pulumi up`` must then run where the VPC is reachable (a runner
    inside it, a VPN, a bastion). Default false."""
    admins: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$")]] = Field(
        default_factory=list
    )
    """aws only: IAM role/user ARNs given cluster-admin through EKS access entries. Empty: the creator is admin."""
    single_nat_gateway: bool = True
    """aws only: one NAT gateway for all zones (cheaper) instead of one per zone (zone-failure tolerant). Default true."""
    system_pool: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    """aws/gcp: the CPU node pool for system components."""
    karpenter: bool = False
    """aws only: install Karpenter so pools with ``provisioner: karpenter`` get NodePools. Default false."""
    context: Annotated[str, Field(min_length=1)] | None = None
    """kubeconfig context to use (``existing`` only), e.g. ``kind-gpu-platform``. Default: the file's current context."""
    kubeconfig_path: Annotated[str, Field(min_length=1)] | None = None
    """Path of the kubeconfig file (``existing`` only). Default: the provider's default (``$KUBECONFIG`` or ``~/.kube/config``)."""
    kubeconfig: SecretStr | None = None
    """Inline kubeconfig contents (``existing`` only); set it with ``pulumi config set --secret``. Kept secret everywhere."""

    @field_validator("kubeconfig", mode="after")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return _as_secret(value)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _one_source(self) -> ClusterConfig:
        if self.kubeconfig is not None and self.kubeconfig_path is not None:
            raise ValueError("set either kubeconfig (inline, secret) or kubeconfigPath (a file), not both")
        return self


# ---------------------------------------------------------------- node pools


class Taint(Model):
    key: Annotated[str, Field(pattern=LABEL_KEY.pattern)]
    """Taint key (a Kubernetes label key)."""
    value: Annotated[str, Field(pattern=LABEL_VALUE.pattern)] = ""
    """Taint value. Default empty."""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE
    """``NoSchedule``, ``PreferNoSchedule`` or ``NoExecute``. Default NoSchedule."""


class MigStrategy(StrEnum):
    SINGLE = "single"
    MIXED = "mixed"


class MigConfig(Model):
    """Multi-Instance GPU partitioning of every GPU of the pool."""

    strategy: MigStrategy = MigStrategy.SINGLE
    """``single``: every slice is advertised as ``nvidia.com/gpu``; ``mixed``: as ``nvidia.com/mig-<profile>``. Default single."""
    profile: str | None = None
    """Split each GPU into as many instances of this profile as fit (e.g. ``1g.10gb`` -> 7 on an H100)."""
    layout: dict[str, Annotated[int, Field(ge=1, le=7)]] | None = None
    """Per-GPU layout, profile -> count (e.g. ``{3g.40gb: 1, 2g.20gb: 1, 1g.10gb: 2}``); needs strategy mixed."""

    @model_validator(mode="after")
    def _one_shape(self) -> MigConfig:
        if (self.profile is None) == (self.layout is None):
            raise ValueError("set exactly one of profile (uniform slices) or layout (per-GPU mix)")
        if self.layout is not None and self.strategy is MigStrategy.SINGLE and len(self.layout) > 1:
            raise ValueError(
                "strategy single advertises every slice as nvidia.com/gpu: use one profile or strategy mixed"
            )
        return self


class Sharing(Model):
    """How one physical GPU is shared between pods on this pool's nodes."""

    mode: SharingMode = SharingMode.NONE
    """``none`` (one pod per GPU), ``time-slicing`` or ``mps``. Default ``none``."""
    replicas: Annotated[int, Field(ge=2, le=48)] | None = None
    """Pods per GPU for time-slicing and MPS (2-48; 48 is the MPS client limit). Required unless mode is none."""
    rename_by_default: bool = False
    """Advertise shared GPUs as ``nvidia.com/gpu.shared`` instead of ``nvidia.com/gpu``. Default false."""
    fail_requests_greater_than_one: bool = True
    """Time-slicing only: reject pods asking for more than one shared GPU (they would not get more compute). Default true."""
    mig: MigConfig | None = None
    """MIG partitioning (MIG-capable GPUs only); combines with time-slicing, not with MPS."""

    @model_validator(mode="after")
    def _replicas_match_mode(self) -> Sharing:
        if self.mode is SharingMode.NONE and self.replicas is not None:
            raise ValueError("replicas applies only to mode time-slicing or mps; remove it or set a mode")
        if self.mode is not SharingMode.NONE and self.replicas is None:
            raise ValueError(f"mode {self.mode.value} needs replicas (an integer from 2 to 48)")
        if self.mode is SharingMode.MPS and self.mig is not None:
            # Neither the NVIDIA device plugin nor GKE runs MPS on MIG devices.
            raise ValueError("mps cannot share MIG slices; allowed with mig: mode none or time-slicing")
        return self


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class WeeklyWindow(Model):
    """A weekly window: days, a start and an end on the same day, a time zone."""

    days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
    )
    """Days the window opens. Default mon-fri."""
    start: Annotated[str, Field(pattern=HHMM)]
    """Opening time, ``HH:MM`` (24 h)."""
    end: Annotated[str, Field(pattern=HHMM)]
    """Closing time, ``HH:MM``, later than start on the same day."""
    timezone: Annotated[str, Field(pattern=r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")] = "UTC"
    """IANA time zone of start and end (``Europe/Berlin``). Default UTC."""

    @model_validator(mode="after")
    def _window(self) -> WeeklyWindow:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}; a window closes the day it opens")
        if len(set(self.days)) != len(self.days):
            raise ValueError("days lists a day more than once")
        return self


class WarmWindow(WeeklyWindow):
    """Nodes kept up (empty, ready for work) during a weekly window."""

    nodes: Annotated[int, Field(ge=1, le=1000)]
    """Nodes to keep up in the window (at most the pool's maxNodes)."""


class ReplicaWindow(WeeklyWindow):
    """Replicas an endpoint keeps at least during a weekly window."""

    min_replicas: Annotated[int, Field(ge=1, le=1000)]
    """Fewest replicas in the window (at most maxReplicas)."""


class NodePool(Model):
    """One GPU node pool, described once for every cloud."""

    name: DnsLabel
    """Pool name (DNS label, at most 40 characters); nodes get ``gpu-platform.io/pool=<name>``."""
    gpu: Literal[GPU_NAMES] | None = None  # type: ignore[valid-type]
    """Portable GPU name from the catalog (``l4``, ``h100`` ...). Required on ``existing``."""
    gpus_per_node: Annotated[int, Field(ge=1, le=16)] = 1
    """GPUs on each node of the pool. Default 1."""
    instance_type: str | None = None
    """AWS only: explicit EC2 instance type instead of gpu/gpusPerNode."""
    machine_type: str | None = None
    """GCP only: explicit machine type instead of gpu/gpusPerNode."""
    min_nodes: Annotated[int, Field(ge=0, le=1000)] = 0
    """Fewest nodes (autoscaling floor). Default 0."""
    max_nodes: Annotated[int, Field(ge=0, le=1000)] = 1
    """Most nodes (autoscaling ceiling); GPU capacity is maxNodes x gpusPerNode. Default 1."""
    capacity: Capacity = Capacity.ON_DEMAND
    """``on-demand`` or ``spot``. Default on-demand."""
    ami_type: AmiType = AmiType.AL2023
    """aws only: node image, ``al2023`` (AL2023 NVIDIA) or ``bottlerocket`` (Bottlerocket NVIDIA). Default al2023."""
    efa: bool = False
    """aws only: attach every EFA interface the instance type supports and use a cluster placement group. Default false."""
    provisioner: Provisioner = Provisioner.MANAGED
    """aws only: ``managed`` (EKS managed node group) or ``karpenter`` (a Karpenter NodePool). Default managed."""
    driver_version: DriverVersion = DriverVersion.DEFAULT
    """gcp only: GPU driver GKE installs, ``DEFAULT`` or ``LATEST``. Default DEFAULT."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384, alias="diskSizeGiB")] = 200
    """Root disk per node in GiB (GPU images are large). Default 200."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra node labels."""
    taints: list[Taint] = Field(default_factory=list)
    """Extra node taints (the GPU taint ``nvidia.com/gpu=present:NoSchedule`` is always added)."""
    zones: list[str] = Field(default_factory=list)
    """Zones for the pool's nodes (aws: zone IDs such as ``use1-az1``); empty means the stack's zones."""
    sharing: Sharing = Field(default_factory=Sharing)
    """GPU sharing for the pool's nodes. Default: none."""
    nodes: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(default_factory=list)
    """``existing`` only: names of the cluster's nodes that form the pool; they get the pool's labels and the GPU taint."""
    taint_nodes: bool = False
    """``existing`` only: also put the pool's taints (the GPU taint first) on the listed nodes. Server-side apply
    treats ``Node.spec.taints`` as one atomic list, so the platform then owns the whole list and replaces any taint
    others set on those nodes. Default false: only the pool's labels are applied."""
    simulated: bool = False
    """``existing`` only: the pool's GPUs are simulated by fake-gpu-operator (needs gpuSoftware.fakeGpus.enabled)."""
    cpus_per_node: Annotated[int, Field(ge=1, le=1024)] | None = None
    """``existing`` only: vCPUs of a node, for the queues' cpu quota. Default 8 per GPU (clouds: from the catalog)."""
    memory_gib_per_node: Annotated[int, Field(ge=1, le=65536)] | None = Field(default=None, alias="memoryGiBPerNode")
    warm: list[WarmWindow] = Field(default_factory=list)
    """aws/gcp: warm capacity: nodes kept up ahead of demand during weekly windows (e.g. weekdays 08:00-20:00
    keep 2 nodes), held by placeholder pods every workload pre-empts. Counts against maxNodes."""
    """``existing`` only: memory of a node in GiB, for the queues' memory quota. Default 32 per GPU (clouds: from the catalog)."""

    @field_validator("labels", mode="after")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}={v}" for k, v in labels.items() if not LABEL_KEY.match(k) or not LABEL_VALUE.match(v)]
        if bad:
            raise ValueError(f"not valid Kubernetes labels: {', '.join(sorted(bad))}")
        return labels

    @model_validator(mode="after")
    def _sizes(self) -> NodePool:
        _check_node_range(self.min_nodes, self.max_nodes)
        if len(self.nodes) > self.max_nodes:
            raise ValueError(f"nodes lists {len(self.nodes)} nodes but maxNodes is {self.max_nodes}")
        if len(set(self.nodes)) != len(self.nodes):
            raise ValueError("nodes lists a node more than once")
        return self


# ---------------------------------------------------------------- GPU software


class GpuStack(StrEnum):
    DEVICE_PLUGIN = "device-plugin"
    GPU_OPERATOR = "gpu-operator"


class GpuOperatorConfig(Model):
    """NVIDIA GPU Operator settings (``stack: gpu-operator``; not on GKE)."""

    driver: bool = False
    """Let the operator install the NVIDIA driver. Default false: EKS NVIDIA AMIs and most existing GPU nodes have it."""
    toolkit: bool = False
    """Let the operator install the NVIDIA container toolkit. Default false (EKS NVIDIA AMIs have it)."""


class DcgmConfig(Model):
    enabled: bool = True
    """Export GPU metrics with NVIDIA DCGM exporter (GKE: its managed DCGM metrics). Default true."""
    service_monitor: bool = False
    """Also create a Prometheus ServiceMonitor; only when the Prometheus operator CRDs are installed. Default false."""


class DevicePluginConfig(Model):
    enabled: bool = True
    """Install the NVIDIA device plugin (Helm chart, pinned). Default true."""
    gpu_feature_discovery: bool = False
    """Also run GPU feature discovery (and node-feature-discovery) for ``nvidia.com/gpu.*`` labels. Default false."""


class FakeGpusConfig(Model):
    enabled: bool = False
    """Install fake-gpu-operator so ``simulated`` pools advertise GPUs on clusters without any (kind). Default false."""


class GpuSoftwareConfig(Model):
    namespace: DnsLabel = "gpu-operator"
    """Namespace of the GPU system components. Default ``gpu-operator``."""
    stack: GpuStack = GpuStack.DEVICE_PLUGIN
    """``device-plugin`` (NVIDIA device plugin + DCGM exporter) or ``gpu-operator`` (NVIDIA GPU Operator, needed for MIG). Ignored on GKE, which runs its own. Default device-plugin."""
    gpu_operator: GpuOperatorConfig = Field(default_factory=GpuOperatorConfig)
    """GPU Operator settings."""
    dcgm: DcgmConfig = Field(default_factory=DcgmConfig)
    """GPU metrics."""
    device_plugin: DevicePluginConfig = Field(default_factory=DevicePluginConfig)
    """NVIDIA device plugin settings."""
    fake_gpus: FakeGpusConfig = Field(default_factory=FakeGpusConfig)
    """Simulated GPUs for clusters without any."""


# ---------------------------------------------------------------- teams


class QueuesConfig(Model):
    """Kueue GPU queues derived from the teams: a ResourceFlavor per pool, a ClusterQueue per team."""

    enabled: bool = True
    """Install Kueue and derive the queues when teams are configured. Default true."""
    cohort: DnsLabel = "gpu-platform"
    """Cohort of every team's ClusterQueue: teams that may borrow, borrow from it. Default ``gpu-platform``."""
    allow_overcommit: bool = False
    """Allow teams' nominal quotas on a pool to add up to more than the pool's capacity. Default false."""
    topology_aware: bool = True
    """Topology-aware scheduling on fixed-size pools (minNodes = maxNodes) whose nodes report their network
    position (aws: p4d/p5/p6, g6e/g7e; gcp: A3/A4 8-GPU machines): a Kueue Topology from the clouds' node labels,
    and multi-node jobs packed close together. Autoscaled pools get none (Kueue counts only existing nodes, so it
    would never admit a job that needs the pool to grow). Turn off if the nodes lack the labels (Kueue would then
    place nothing on them). Default true."""


# A team deployer: an IAM role/user ARN (aws) or an IAM member with an email (gcp).
DEPLOYER = (
    r"^(arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+"
    r"|(user|group|serviceAccount):[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})$"
)


class Team(Model):
    name: DnsLabel
    """Team name."""
    namespace: DnsLabel | None = None
    """Namespace of the team's workloads. Default ``team-<name>``."""
    gpu_quota: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Nominal GPU quota per pool name (physical GPUs, or shared GPUs on shared pools)."""
    can_borrow: bool = False
    """May use idle GPUs of other teams' quotas. Default false."""
    deployers: list[Annotated[str, Field(pattern=DEPLOYER)]] = Field(default_factory=list)
    """aws/gcp: who deploys the team's stack (its CI role, its engineers) with rights in the team's namespace only
    (a Role for jobs, secrets and what they run; nothing cluster-wide). aws: IAM role/user ARNs (EKS access
    entries); gcp: ``user:`` or ``serviceAccount:`` members (RBAC, plus permission to fetch the cluster's
    credentials; ``group:`` would need Google Groups for RBAC, not set up). Everyone in the Kubernetes group ``gpu-platform:team:<name>`` gets the same rights."""

    @property
    def namespace_name(self) -> str:
        return self.namespace or f"team-{self.name}"


# ---------------------------------------------------------------- training

# A container image with an explicit tag or digest: ``registry/repo:tag`` or ``registry/repo@sha256:<64 hex>``.
IMAGE = r"^[a-z0-9]([-a-z0-9._/:]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
# A Kubernetes resource quantity (``4``, ``500m``, ``64Gi``).
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"
# An environment variable name as Kubernetes accepts it for a container.
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

EnvName = Annotated[str, Field(pattern=ENV_NAME)]


class TrainingRuntimeName(StrEnum):
    """The ClusterTrainingRuntimes the platform manages (Kubeflow Trainer's built-in ones that run on GPUs)."""

    TORCH = "torch-distributed"
    DEEPSPEED = "deepspeed-distributed"
    JAX = "jax-distributed"


class Interconnect(StrEnum):
    AUTO = "auto"
    EFA = "efa"
    TCP = "tcp"


class TopologyPlacement(StrEnum):
    PREFERRED = "preferred"
    REQUIRED = "required"
    NONE = "none"


class RunPolicy(Model):
    """How long a training job may run, and what happens when it fails or ends. (Jobs are always created suspended:
    their Kueue queue releases them. To hold a team's jobs, set its LocalQueue's ``stopPolicy: Hold``.)"""

    active_deadline_seconds: Annotated[int, Field(ge=1)] | None = None
    """Stop the job after this many seconds of running. Default: no limit."""
    max_restarts: Annotated[int, Field(ge=0, le=100)] | None = None
    """Restart the whole job (every node) this many times after a node fails. Default: the runtime's
    (``training.maxRestarts``)."""
    ttl_seconds_after_finished: Annotated[int, Field(ge=0)] | None = None
    """Delete the finished job's pods after this many seconds. Default: the runtime's
    (``training.ttlSecondsAfterFinished``)."""


class TrainingJob(Model):
    """One distributed training job (a Kubeflow Trainer ``TrainJob``) of a team, admitted by its Kueue queue."""

    name: DnsLabel
    """Job name (DNS label, at most 40 characters); unique within its team."""
    team: DnsLabel
    """Team that runs it: the job goes to the team's namespace and LocalQueue."""
    runtime: TrainingRuntimeName = TrainingRuntimeName.TORCH
    """Runtime: ``torch-distributed`` (torchrun), ``deepspeed-distributed`` (MPI) or ``jax-distributed``.
    Default torch-distributed."""
    image: Annotated[str, Field(pattern=IMAGE, max_length=512)]
    """Container image with a tag or digest (never ``latest``), e.g. ``nvcr.io/nvidia/pytorch:25.10-py3``."""
    command: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Entrypoint (torch: typically ``[torchrun, ...]``). Default: the image's."""
    args: list[str] = Field(default_factory=list)
    """Arguments of the command."""
    nodes: Annotated[int, Field(ge=1, le=1000)] = 1
    """Nodes (one pod each) the job runs on. Default 1."""
    gpus_per_node: Annotated[int, Field(ge=1, le=64)] = 1
    """GPUs (or the pool's shared/MIG units) each node's pod gets. Default 1."""
    pool: DnsLabel | None = None
    """Node pool to run on. Either this or ``gpu``."""
    gpu: Literal[GPU_NAMES] | None = None  # type: ignore[valid-type]
    """Portable GPU name: the job runs on the one pool with this GPU the team has quota on (or may borrow on)."""
    cpu: Annotated[str, Field(pattern=QUANTITY)] | None = None
    """CPU each node's pod requests (a Kubernetes quantity, e.g. ``32``). Default: none requested."""
    memory: Annotated[str, Field(pattern=QUANTITY)] | None = None
    """Memory each node's pod requests and is limited to (e.g. ``256Gi``). Default: none requested."""
    env: dict[EnvName, str] = Field(default_factory=dict)
    """Plain environment variables (never credentials: use ``secretEnv`` or ``hfToken``)."""
    secret_env: dict[EnvName, SecretStr] = Field(default_factory=dict)
    """Environment variables from Pulumi secrets (``pulumi config set --secret --path``): stored in a Kubernetes
    Secret in the team's namespace and referenced, never written into the job."""
    hf_token: SecretStr | None = None
    """Hugging Face token (a Pulumi secret), given to the job as ``HF_TOKEN`` from a Kubernetes Secret."""
    checkpoint: bool = False
    """Give the job the platform's checkpoint storage (``storage``) under ``teams/<team>/<job>/``: the
    ``CHECKPOINT_DIR`` variable (and, on existing clusters, the team's volume at ``/checkpoints``). Default false."""
    interconnect: Interconnect = Interconnect.AUTO
    """Network between nodes: ``auto`` (EFA on EFA pools, else TCP), ``efa`` (required; the pool must have
    ``efa: true``) or ``tcp`` (never EFA or GPUDirect, also where the platform cannot wire it). Default auto."""
    topology: TopologyPlacement = TopologyPlacement.PREFERRED
    """Multi-node jobs on pools with a network topology: ``preferred`` (Kueue packs the nodes as close as it can),
    ``required`` (all nodes under one block, or wait) or ``none``. Default preferred."""
    shm_size_gib: Annotated[int, Field(ge=1, le=4096)] | None = Field(default=None, alias="shmSizeGiB")
    """Size limit of ``/dev/shm`` (memory-backed; NCCL and data loaders need more than the runtime's 64 MiB).
    Default: no limit beyond the pod's memory."""
    run_policy: RunPolicy = Field(default_factory=RunPolicy)
    """Suspend, deadline, restarts and clean-up."""

    @field_validator("hf_token", mode="after")
    @classmethod
    def _secret_token(cls, value: str | None) -> str | None:
        return _as_secret(value)  # type: ignore[return-value]

    @field_validator("secret_env", mode="after")
    @classmethod
    def _secret_values(cls, value: dict[str, str]) -> dict[str, str]:
        return {k: _as_secret(v) for k, v in value.items()}  # type: ignore[misc]

    @field_validator("image", mode="after")
    @classmethod
    def _no_latest(cls, value: str) -> str:
        if value.rsplit("/", 1)[-1].endswith(":latest"):
            raise ValueError("the latest tag changes under a running job; pin a version tag or a digest")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> TrainingJob:
        if (self.pool is None) == (self.gpu is None):
            raise ValueError("set exactly one of pool (a node pool name) or gpu (a portable GPU name)")
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise ValueError(f"{', '.join(both)} set in both env and secretEnv; keep one")
        if self.hf_token is not None and "HF_TOKEN" in {*self.env, *self.secret_env}:
            raise ValueError("HF_TOKEN is set by hfToken; remove it from env/secretEnv")
        return self


class TrainingConfig(Model):
    """Kubeflow Trainer, its runtimes, and the teams' training jobs."""

    enabled: bool = False
    """Install Kubeflow Trainer (with JobSet) and the platform's ClusterTrainingRuntimes. Default false."""
    runtimes: list[TrainingRuntimeName] = Field(
        default_factory=lambda: [TrainingRuntimeName.TORCH, TrainingRuntimeName.DEEPSPEED]
    )
    """ClusterTrainingRuntimes to install. Default torch-distributed and deepspeed-distributed."""
    max_restarts: Annotated[int, Field(ge=0, le=100)] = 3
    """Runtimes: restarts of a whole job after a node fails (JobSet failure policy). Default 3."""
    ttl_seconds_after_finished: Annotated[int, Field(ge=0)] = 604800
    """Runtimes: finished jobs' pods are deleted after this many seconds (logs go with them). Default 7 days."""
    jobs: list[TrainingJob] = Field(default_factory=list)
    """Training jobs (TrainJobs) of the teams."""

    @field_validator("runtimes", mode="after")
    @classmethod
    def _unique_runtimes(cls, value: list[TrainingRuntimeName]) -> list[TrainingRuntimeName]:
        if len(set(value)) != len(value):
            raise ValueError("lists a runtime more than once")
        return value


# ---------------------------------------------------------------- storage and node health


class StorageConfig(Model):
    """Checkpoint and model storage: one bucket (aws: S3, gcp: GCS) or a volume per team (existing).

    Encrypted, versioned, never public, and protected: neither ``pulumi destroy`` nor a config change
    deletes it (it is retained; delete it by hand if you must). Each team reads and writes only
    ``teams/<team>/`` (training) or reads it (serving), through IRSA / Workload Identity."""

    enabled: bool = False
    """Create the storage. Default false."""
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")] | None = None
    """aws/gcp: bucket name (globally unique; 3-63 lowercase letters, digits and '-'; no dots, which break
    TLS on S3's virtual-hosted URLs and need domain verification on GCS). Required on aws/gcp."""
    noncurrent_version_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """aws/gcp: days an overwritten or deleted object's old version is kept. Default 30."""
    size_gib: Annotated[int, Field(ge=1, le=1048576, alias="sizeGiB")] = 500
    """``existing`` only: size of each team's volume in GiB. Default 500."""
    storage_class: DnsLabel | None = None
    """``existing`` only: StorageClass of the teams' volumes (must support ReadWriteMany). Default: the cluster's."""


class GpuHealthMode(StrEnum):
    OFF = "off"
    MONITOR = "monitor"
    REMEDIATE = "remediate"


class NodeHealthConfig(Model):
    """Self-healing GPU nodes: a long job dies on one bad GPU, so bad nodes are found (and replaced)."""

    gpu_health: GpuHealthMode = GpuHealthMode.MONITOR
    """aws only: ``monitor`` installs the EKS node monitoring agent, which reports failing GPUs (NVIDIA XID and
    DCGM errors), kernels, networks and disks as node conditions and events; ``remediate`` also lets managed node
    groups replace such nodes, one at a time (Kueue requeues the jobs they ran); ``off``. Default monitor.
    (GKE: node auto-repair is always on.)"""


# A model location: hf://org/model, s3://bucket/path, gs://bucket/path or pvc://claim/path.
MODEL_URI = (
    r"^(hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*"
    r"|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?"
    r"|gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/[^\s]*)?"
    r"|pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[^\s]*)?)$"
)


class ServingMode(StrEnum):
    KSERVE = "kserve"
    PLAIN = "plain"


class ServingRuntimeName(StrEnum):
    VLLM = "vllm"


class ScalingMetric(StrEnum):
    REQUESTS_WAITING = "requests-waiting"
    REQUESTS_RUNNING = "requests-running"
    KV_CACHE = "kv-cache"


class EndpointScaling(Model):
    """Scale replicas on the LLM server's own load (vLLM's metrics through Prometheus and KEDA), not on CPU."""

    metric: ScalingMetric = ScalingMetric.REQUESTS_WAITING
    """``requests-waiting`` (queued requests), ``requests-running`` or ``kv-cache`` (KV-cache use, 0-1).
    Default requests-waiting."""
    target: Annotated[float, Field(gt=0, le=10000)] = 5
    """Target value per replica (kv-cache: a fraction below 1). Default 5."""


class EndpointKind(StrEnum):
    INFERENCE_SERVICE = "InferenceService"
    LLM_INFERENCE_SERVICE = "LLMInferenceService"


class ServingEndpoint(Model):
    """One model endpoint of a team: a vLLM server on a GPU pool (a KServe ``InferenceService``)."""

    name: DnsLabel
    """Endpoint name (DNS label); unique within its team."""
    team: DnsLabel
    """Team that owns it: its namespace, its GPU quota, its read-only storage identity."""
    model: Annotated[str, Field(pattern=MODEL_URI, max_length=512)]
    """Where the weights are: ``hf://org/model``, ``s3://bucket/path``, ``gs://bucket/path`` or ``pvc://claim/path``."""
    runtime: ServingRuntimeName = ServingRuntimeName.VLLM
    """Serving runtime: ``vllm`` (the platform's vLLM ClusterServingRuntime). Default vllm."""
    gpus_per_replica: Annotated[int, Field(ge=1, le=64)] = 1
    """GPUs (or the pool's shared/MIG units) each replica gets. Default 1."""
    pool: DnsLabel | None = None
    """Node pool to run on. Either this or ``gpu``."""
    gpu: Literal[GPU_NAMES] | None = None  # type: ignore[valid-type]
    """Portable GPU name: the one pool with this GPU the team has quota on (or may borrow on)."""
    min_replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    """Fewest replicas. 0 only with a schedule that starts replicas: the load metric comes from running
    replicas, so nothing would start the first. Default 1."""
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    """Most replicas. Default 1."""
    tensor_parallel_size: Annotated[int, Field(ge=1, le=64)] | None = None
    """vLLM tensor parallelism: must divide gpusPerReplica. Default gpusPerReplica."""
    max_model_len: Annotated[int, Field(ge=256, le=10_000_000)] | None = None
    """vLLM ``--max-model-len`` (context length). Default: the model's."""
    gpu_memory_utilization: Annotated[float, Field(gt=0.1, lt=1)] = 0.9
    """vLLM ``--gpu-memory-utilization``. Default 0.9."""
    args: list[str] = Field(default_factory=list)
    """Further vLLM arguments (``--enable-prefix-caching`` ...)."""
    cpu: Annotated[str, Field(pattern=QUANTITY)] | None = None
    """CPU each replica requests (e.g. ``8``). Default: none requested."""
    memory: Annotated[str, Field(pattern=QUANTITY)] | None = None
    """Memory each replica requests and is limited to (e.g. ``64Gi``). Default: none requested."""
    hf_token: SecretStr | None = None
    """Hugging Face token (a Pulumi secret) for gated models, from a Kubernetes Secret as ``HF_TOKEN``."""
    scaling: EndpointScaling | None = None
    """Scale between minReplicas and maxReplicas on vLLM's load (needs serving.prometheus). Default: fixed at
    minReplicas."""
    schedule: list[ReplicaWindow] = Field(default_factory=list)
    """At least this many replicas during weekly windows (KEDA cron triggers, next to the load trigger: the larger
    count wins)."""
    external: bool = False
    """Reachable from outside the cluster at ``https://<name>-<team>.<serving.external.domain>`` (needs
    serving.external and apiKey). Default false: in-cluster only."""
    api_key: SecretStr | None = None
    """API key (a Pulumi secret) vLLM requires as ``Authorization: Bearer <key>`` on its OpenAI API. Required
    with external."""
    kind: EndpointKind = EndpointKind.INFERENCE_SERVICE
    """``InferenceService`` (KServe's, on the platform's vLLM runtime). ``LLMInferenceService`` is refused: it needs
    the Gateway API inference extension and a gateway implementation the platform does not install (see
    docs/serving.md). Default InferenceService."""

    @field_validator("hf_token", "api_key", mode="after")
    @classmethod
    def _secret_token(cls, value: str | None) -> str | None:
        return _as_secret(value)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _shape(self) -> ServingEndpoint:
        if (self.pool is None) == (self.gpu is None):
            raise ValueError("set exactly one of pool (a node pool name) or gpu (a portable GPU name)")
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is greater than maxReplicas ({self.max_replicas})")
        tp = self.tensor_parallel_size or self.gpus_per_replica
        if self.gpus_per_replica % tp:
            raise ValueError(
                f"tensorParallelSize {tp} does not divide gpusPerReplica {self.gpus_per_replica}; "
                f"allowed: {', '.join(str(d) for d in range(1, self.gpus_per_replica + 1) if self.gpus_per_replica % d == 0)}"
            )
        if self.scaling is not None and self.scaling.metric is ScalingMetric.KV_CACHE and self.scaling.target >= 1:
            raise ValueError("scaling.target for kv-cache is a fraction of the cache (0-1), e.g. 0.8")
        return self


def _ipv4_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 CIDR with its host bits zero (e.g. 203.0.113.0/24)") from None
    if network.version != 4:
        raise ValueError(f"{value!r} is IPv6; the endpoints' load balancers are IPv4: give IPv4 CIDRs")
    return value


Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]


class ServingExternal(Model):
    """Endpoints reachable from outside the cluster (``external: true``), the cloud's native way, HTTPS only: one
    Application Load Balancer through the AWS Load Balancer Controller (aws), one GKE Gateway (gcp)."""

    domain: Annotated[str, Field(pattern=DNS_NAME, max_length=200)]
    """DNS domain of the endpoints: each is ``<name>-<team>.<domain>``. Point ``*.<domain>`` at the load balancer."""
    certificate: Annotated[str, Field(min_length=1, max_length=512)]
    """TLS certificate for ``*.<domain>``: aws: an ACM certificate ARN in the stack's region; gcp: the name of a
    Certificate Manager certificate map in the project."""
    source_ranges: list[Ipv4Cidr] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1, max_length=50)
    """Client CIDRs that may connect (aws: the ALB's security group; gcp: a Cloud Armor policy). Default
    ``0.0.0.0/0``: anyone, with the endpoint's API key."""


class ServingConfig(Model):
    """Model serving: KServe (Standard mode) with a vLLM runtime, and the teams' endpoints."""

    enabled: bool = False
    """Install the serving stack (cert-manager, KServe, KEDA) and the platform's vLLM runtime. Default false."""
    mode: ServingMode = ServingMode.KSERVE
    """``kserve``: endpoints are KServe InferenceServices on the platform's vLLM runtime; ``plain``: no KServe
    (nor cert-manager): each endpoint is a vLLM Deployment and Service (KEDA only if it scales); models from
    ``hf://`` or ``pvc://``. Default kserve."""
    prometheus: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    """URL of a Prometheus that scrapes the endpoints (vLLM's metrics), for scaling on load. Default: none
    (endpoints with ``scaling`` are refused)."""
    external: ServingExternal | None = None
    """aws/gcp: let endpoints be reachable from outside the cluster (``endpoints[].external``). Default: none, every
    endpoint is in-cluster only."""
    endpoints: list[ServingEndpoint] = Field(default_factory=list)
    """Model endpoints of the teams."""


# ---------------------------------------------------------------- team stacks

# A Pulumi stack name, as `pulumi stack select` takes it: `stack`, `org/stack` or `org/project/stack`.
STACK_REF = r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$"


class PlatformRef(Model):
    """The platform stack a team stack builds on (a Pulumi StackReference)."""

    stack: Annotated[str, Field(pattern=STACK_REF, max_length=300)]
    """The platform stack's name: ``<stack>``, or ``<org>/<project>/<stack>`` with a Pulumi Cloud backend. Offline,
    its last segment names the ``stacks/Pulumi.<stack>.yaml`` it is planned from."""
    team: DnsLabel
    """The team whose workloads this stack deploys (a team of the platform stack)."""
    file: Annotated[str, Field(max_length=1024)] = ""
    """The platform stack's file, when it is not ``stacks/Pulumi.<stack>.yaml`` of this project (a team project of
    its own, next to a checkout of the platform's repository): the config checks and the offline plan read the
    platform's teams and pools from it. A relative path is read from the working directory (the project's
    directory under Pulumi). Default: this project's stack file of that name."""

    @property
    def stack_name(self) -> str:
        return self.stack.rsplit("/", 1)[-1]


# ---------------------------------------------------------------- the platform


class PlatformConfig(Model):
    """Everything under ``gpu-platform:`` in one stack file."""

    cloud: Cloud = Cloud.EXISTING
    """Where the platform runs: ``existing``, ``aws`` or ``gcp``. Default existing."""
    region: str = ""
    """Cloud region; required for aws and gcp."""
    project: str = ""
    """gcp only: the Google Cloud project id; required for gcp."""
    zones: list[str] = Field(default_factory=list)
    """aws/gcp: zones for node pools (aws: zone IDs such as ``use1-az1``, because zone names differ per account;
    gcp: zone names); empty means every zone that offers the GPU."""
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    """How to reach the cluster (``existing``) or what to create (aws, gcp)."""
    node_pools: list[NodePool] = Field(default_factory=list)
    """GPU node pools, one portable spec per pool."""
    gpu_software: GpuSoftwareConfig = Field(default_factory=GpuSoftwareConfig)
    """GPU software layer: device plugin, fake GPUs."""
    teams: list[Team] = Field(default_factory=list)
    """Teams: each gets a namespace, a Kueue LocalQueue and ClusterQueue, and a GPU ResourceQuota derived from gpuQuota."""
    queues: QueuesConfig = Field(default_factory=QueuesConfig)
    """How the team queues are built."""
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    """Kubeflow Trainer, training runtimes and jobs."""
    storage: StorageConfig = Field(default_factory=StorageConfig)
    """Checkpoint and model storage."""
    node_health: NodeHealthConfig = Field(default_factory=NodeHealthConfig)
    """Node auto-repair and GPU health checks."""
    platform: PlatformRef | None = None
    """Team stacks only: the platform stack this stack builds on; the stack then holds only that team's jobs."""
    serving: ServingConfig = Field(default_factory=ServingConfig)
    """Model serving (reserved: must be empty in this version)."""

    def pool(self, name: str) -> NodePool:
        return next(p for p in self.node_pools if p.name == name)

    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)
