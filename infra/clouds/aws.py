"""EKS: network by zone ID, the cluster, managed GPU node groups, Cluster Autoscaler, EFA, Karpenter."""

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.aws_load_balancer_controller import AwsLoadBalancerController, AwsLoadBalancerControllerArgs
from components.aws_network import AwsNetwork, AwsNetworkArgs
from components.catalog import AWS_INSTANCE_TYPES, CATALOG_DATE
from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.efa import EfaDevicePlugin
from components.eks_cluster import EksCluster, EksClusterArgs
from components.eks_gpu_pool import EksGpuPool, EksGpuPoolArgs
from components.karpenter import Karpenter, KarpenterArgs, KarpenterPool
from components.labels import TEAM_GROUP_PREFIX, TEAM_LABEL
from components.s3_storage import S3ModelStorage, S3ModelStorageArgs
from infra.clouds import MANAGED_BY, Cluster, kubernetes_provider, storage_service_accounts, team_namespaces
from stacks.clouds.aws import AWS, eks_ami_type
from stacks.model import GpuHealthMode, PlatformConfig, Provisioner
from stacks.resolve import ResolvedPool, resolved_spec

# Catalog architecture -> Kubernetes' `kubernetes.io/arch` value.
K8S_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def build(config: PlatformConfig, pools: list[ResolvedPool]) -> Cluster:
    c = config.cluster
    tags = {**MANAGED_BY, "gpu-platform.io/cluster": c.name}
    provider = aws.Provider("aws", region=config.region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    zones = AWS.network_zones(config)
    network = AwsNetwork(
        f"{c.name}-network",
        AwsNetworkArgs(cluster_name=c.name, cidr=c.network_cidr, zones=zones, single_nat_gateway=c.single_nat_gateway),
        opts,
    )
    offered = _OfferedZones(config.region, provider)
    eks = EksCluster(
        c.name,
        EksClusterArgs(
            name=c.name,
            region=config.region,
            kubernetes_version=c.kubernetes_version,
            control_plane_subnet_ids=[network.private_subnet_ids[z] for z in AWS.control_plane_zones(zones)],
            node_subnet_ids=offered.subnets(
                c.system_pool.instance_type, AWS.system_zones(config), network.private_subnet_ids
            ),
            public_endpoint_cidrs=tuple(c.public_endpoint_cidrs),
            admins=tuple(c.admins),
            system_instance_type=c.system_pool.instance_type,
            system_min_nodes=c.system_pool.min_nodes,
            system_max_nodes=c.system_pool.max_nodes,
            node_monitoring=config.node_health.gpu_health is not GpuHealthMode.OFF,
        ),
        opts,
    )
    managed = [rp for rp in pools if rp.pool.provisioner is Provisioner.MANAGED]
    for rp in managed:
        pool = rp.pool
        # A cluster placement group lives in one zone: EFA pools use the first zone that offers the type.
        pool_zones = rp.zones[:1] if pool.efa else rp.zones
        EksGpuPool(
            f"pool-{pool.name}",
            EksGpuPoolArgs(
                pool=resolved_spec(rp),
                cluster_name=eks.cluster_name,
                node_role_arn=eks.node_role_arn,
                subnet_ids=offered.subnets(rp.offering.instance_type, pool_zones, network.private_subnet_ids),
                instance_type=rp.offering.instance_type,
                ami_type=eks_ami_type(rp.offering, pool.ami_type.value) or "",
                image=pool.ami_type.value,
                capacity=pool.capacity.value,
                min_nodes=pool.min_nodes,
                disk_size_gib=pool.disk_size_gib,
                efa_interfaces=rp.offering.max_efa_interfaces if pool.efa else 0,
                efa_on_primary_card=AWS_INSTANCE_TYPES[rp.offering.instance_type].efa_on_card0,
                security_group_ids=[eks.cluster_security_group_id] if pool.efa else [],
                node_repair=config.node_health.gpu_health is GpuHealthMode.REMEDIATE,
                tags={**tags, "gpu-platform.io/pool": pool.name},
            ),
            opts,
        )
    k8s_provider = kubernetes_provider(c.name, eks.kubeconfig, eks, eks.ready)
    k8s_opts = pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": k8s_provider})
    if managed:
        ClusterAutoscaler(
            "cluster-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=eks.cluster_name,
                region=config.region,
                kubernetes_version=c.kubernetes_version,
                oidc_provider_arn=eks.oidc_provider_arn,
                oidc_issuer=eks.oidc_issuer,
            ),
            k8s_opts,
        )
    efa = [resolved_spec(rp) for rp in managed if rp.pool.efa]
    if efa:
        EfaDevicePlugin("efa-device-plugin", efa, k8s_opts)
    if c.karpenter:
        _karpenter(config, pools, eks, k8s_opts)
    exposure_ready: list[pulumi.Resource] = []
    external = config.serving.external if config.serving.enabled else None
    if external is not None:
        exposure_ready = AwsLoadBalancerController(
            "load-balancer-controller",
            AwsLoadBalancerControllerArgs(
                cluster_name=eks.cluster_name,
                region=config.region,
                vpc_id=network.vpc_id,
                oidc_provider_arn=eks.oidc_provider_arn,
                oidc_issuer=eks.oidc_issuer,
                certificate_arn=external.certificate,
                source_ranges=list(external.source_ranges),
                group=f"{c.name}-endpoints",
                namespace_label=TEAM_LABEL,
                domain=external.domain,
            ),
            k8s_opts,
        ).ready
    for team in config.teams:
        for i, principal in enumerate(team.deployers):
            # A team's deployers sign in as themselves and land in the team's Kubernetes group, which only
            # the team namespace's Role binds: no access policy, nothing cluster-wide.
            aws.eks.AccessEntry(
                f"team-{team.name}-deployer-{i}",
                cluster_name=eks.cluster_name,
                principal_arn=principal,
                kubernetes_groups=[f"{TEAM_GROUP_PREFIX}{team.name}"],
                type="STANDARD",
                opts=pulumi.ResourceOptions(providers={"aws": provider}, depends_on=eks.ready),
            )
    accounts: dict[str, dict[str, dict[str, pulumi.Output[str]]]] = {}
    if config.storage.enabled and config.storage.bucket:
        storage = S3ModelStorage(
            "storage",
            S3ModelStorageArgs(
                bucket_name=config.storage.bucket,
                oidc_provider_arn=eks.oidc_provider_arn,
                oidc_issuer=eks.oidc_issuer,
                teams=team_namespaces(config),
                noncurrent_days=config.storage.noncurrent_version_days,
                tags=tags,
            ),
            opts,
        )
        accounts = storage_service_accounts(IRSA_ANNOTATION, storage.training_role_arns, storage.serving_role_arns)
    return Cluster(
        k8s_provider, eks.cluster_name, eks.endpoint, eks.kubeconfig, accounts, exposure_ready=exposure_ready
    )


class _OfferedZones:
    """Whether EC2 still offers an instance type in the zones the catalog chose, asked at deploy time
    (offline: the catalog, through the mocks). One lookup per instance type.

    The subnets stay exactly the planned ones (a deploy-time answer that changed them would replace a
    node group and kill its jobs); a zone EC2 no longer offers fails the preview with the reason.
    """

    def __init__(self, region: str, provider: aws.Provider) -> None:
        self.region = region
        self.provider = provider
        self._locations: dict[str, pulumi.Output[list[str]]] = {}

    def locations(self, instance_type: str) -> pulumi.Output[list[str]]:
        if instance_type not in self._locations:
            result = aws.ec2.get_instance_type_offerings_output(
                location_type="availability-zone-id",
                filters=[{"name": "instance-type", "values": [instance_type]}],
                region=self.region,
                opts=pulumi.InvokeOutputOptions(provider=self.provider),
            )
            self._locations[instance_type] = result.locations.apply(lambda v: sorted(v or []))
        return self._locations[instance_type]

    def subnets(
        self, instance_type: str, zones: Sequence[str], subnet_ids: Mapping[str, pulumi.Output[str]]
    ) -> pulumi.Output[list[str]]:
        region = self.region

        def check(values: list[object]) -> list[str]:
            offered = set(values[0])  # type: ignore[call-overload]
            missing = [zone for zone in zones if zone not in offered]
            if missing:
                raise ValueError(
                    f"EC2 does not offer {instance_type} in {', '.join(missing)} of {region} (the GPU catalog of "
                    f"{CATALOG_DATE} said it did); set the pool's zones to others, or refresh the catalog with "
                    "`python3 tasks.py catalog-refresh --source aws`"
                )
            return [str(sid) for sid in values[1:]]

        return pulumi.Output.all(self.locations(instance_type), *(subnet_ids[z] for z in zones)).apply(check)


def _karpenter(
    config: PlatformConfig, pools: list[ResolvedPool], eks: EksCluster, opts: pulumi.ResourceOptions
) -> None:
    Karpenter(
        "karpenter",
        KarpenterArgs(
            cluster_name=eks.cluster_name,
            region=config.region,
            cluster_arn=eks.cluster_arn,
            oidc_provider_arn=eks.oidc_provider_arn,
            oidc_issuer=eks.oidc_issuer,
            pools=[
                KarpenterPool(
                    pool=resolved_spec(rp),
                    instance_type=rp.offering.instance_type,
                    vcpus=rp.offering.vcpus,
                    arch=K8S_ARCH[rp.offering.arch],
                    capacity=rp.pool.capacity.value,
                    disk_size_gib=rp.pool.disk_size_gib,
                )
                for rp in pools
                if rp.pool.provisioner is Provisioner.KARPENTER
            ],
        ),
        opts,
    )
