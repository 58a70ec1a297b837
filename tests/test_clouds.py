"""EKS and GKE layers under the mock engine: what each cloud stack registers, with which inputs."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.catalog import AWS_INSTANCE_TYPES
from components.versions import KARPENTER_AMI_ALIAS
from tests.conftest import by_type, stack_raw


@pytest.fixture
def aws_raw() -> dict[str, Any]:
    return copy.deepcopy(stack_raw("aws-dev"))


@pytest.fixture
def gcp_raw() -> dict[str, Any]:
    return copy.deepcopy(stack_raw("gcp-dev"))


def one(capture: Any, type_: str, name: str | None = None) -> dict[str, Any]:
    regs = [r for r in by_type(capture, type_) if name is None or r.name == name]
    assert len(regs) == 1, [r.name for r in regs]
    return regs[0].inputs()


def node_group(capture: Any, pool: str) -> dict[str, Any]:
    return one(capture, "aws:eks/nodeGroup:NodeGroup", f"pool-{pool}-nodes")


# ---------------------------------------------------------------- AWS


def test_aws_network_private_nodes_public_only_for_load_balancers(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    subnets = [r.inputs() for r in by_type(capture, "aws:ec2/subnet:Subnet")]
    private = [s for s in subnets if s["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    public = [s for s in subnets if s["tags"].get("kubernetes.io/role/elb") == "1"]
    # By zone ID: zone names differ per account.
    assert sorted(s["availabilityZoneId"] for s in private) == ["use1-az1", "use1-az2", "use1-az4"]
    assert not any("availabilityZone" in s for s in subnets)
    assert len(public) == 3 and not any(s["mapPublicIpOnLaunch"] for s in public)
    assert len(by_type(capture, "aws:ec2/natGateway:NatGateway")) == 1  # singleNatGateway default


def test_aws_nat_gateway_per_zone(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["cluster"]["singleNatGateway"] = False
    assert len(by_type(plan(aws_raw), "aws:ec2/natGateway:NatGateway")) == 3


def test_eks_cluster_is_pinned_private_encrypted(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    cluster = one(capture, "aws:eks/cluster:Cluster")
    assert cluster["version"] == "1.35" and cluster["name"] == "gpu-dev"
    vpc = cluster["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    (key,) = by_type(capture, "aws:kms/key:Key")
    assert key.protect and key.inputs()["enableKeyRotation"] is True
    assert one(capture, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")["clientIdLists"] == ["sts.amazonaws.com"]
    entry = one(capture, "aws:eks/accessEntry:AccessEntry", "gpu-dev-admin-0")
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    policy = one(capture, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert policy["policyArn"].endswith("AmazonEKSClusterAdminPolicy") and policy["accessScope"] == {"type": "cluster"}


def test_eks_private_endpoint_and_creator_admin_by_default(aws_raw: dict[str, Any], plan: Any) -> None:
    del aws_raw["cluster"]["publicEndpointCidrs"], aws_raw["cluster"]["admins"]
    aws_raw["cluster"]["privateEndpointOnly"] = True
    capture = plan(aws_raw)
    cluster = one(capture, "aws:eks/cluster:Cluster")
    assert cluster["vpcConfig"]["endpointPublicAccess"] is False and "publicAccessCidrs" not in cluster["vpcConfig"]
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    # No admin entries: Karpenter's node role (EKS makes the managed node groups' entry itself) and the
    # inference team's deployer, which gets a group and no access policy.
    entries = {e.name: e.inputs()["type"] for e in by_type(capture, "aws:eks/accessEntry:AccessEntry")}
    assert sorted(entries.values()) == ["EC2_LINUX", "STANDARD"] and entries["team-inference-deployer-0"] == "STANDARD"
    assert not [a for a in by_type(capture, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")]


def test_control_plane_subnets_avoid_zones_eks_refuses(plan: Any) -> None:
    capture = plan(copy.deepcopy(stack_raw("aws-train")))  # no stack zones: every zone offering p5 gets subnets
    subnets = {r.urn: r.inputs() for r in by_type(capture, "aws:ec2/subnet:Subnet")}
    (cluster,) = by_type(capture, "aws:eks/cluster:Cluster")
    control_plane = {subnets[u]["availabilityZoneId"] for u in cluster.property_dependencies["vpcConfig"]}
    node_zones = {s["availabilityZoneId"] for s in subnets.values()}
    assert "use1-az3" in node_zones and "use1-az3" not in control_plane and len(control_plane) >= 2


def test_system_nodes_only_where_their_type_is_offered(plan: Any) -> None:
    capture = plan(copy.deepcopy(stack_raw("aws-train")))
    subnets = {r.urn: r.inputs() for r in by_type(capture, "aws:ec2/subnet:Subnet")}
    system = next(r for r in by_type(capture, "aws:eks/nodeGroup:NodeGroup") if r.name == "gpu-train-system")
    zones = {subnets[u]["availabilityZoneId"] for u in system.property_dependencies["subnetIds"]}
    assert zones and "use1-az3" not in zones  # m6i.large is not offered there
    assert system.inputs()["nodeGroupNamePrefix"] == "system-" and "nodeGroupName" not in system.inputs()


def test_control_plane_logs_are_kept_90_days(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    group = one(capture, "aws:cloudwatch/logGroup:LogGroup")
    assert group == {"name": "/aws/eks/gpu-dev/cluster", "retentionInDays": 90}
    (cluster,) = by_type(capture, "aws:eks/cluster:Cluster")
    assert any(u.endswith("::gpu-dev-logs") for u in cluster.dependencies)


def test_kubernetes_provider_waits_for_system_nodes_and_admin_access(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    (provider,) = by_type(capture, "pulumi:providers:kubernetes")
    waits = {u.rsplit("::", 1)[-1] for u in provider.dependencies}
    assert {"gpu-dev-system", "gpu-dev-admin-0"} <= waits


def test_karpenter_nodes_have_their_own_role_and_access_entry(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    (entry,) = [e for e in by_type(capture, "aws:eks/accessEntry:AccessEntry") if e.inputs()["type"] == "EC2_LINUX"]
    assert entry.inputs()["principalArn"].endswith(":role/karpenter-nodes")  # not gpu-dev-nodes
    node_class = one(capture, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")["spec"]
    assert node_class["role"] == "karpenter-nodes"
    assert node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1  # pods cannot reach IMDS
    policy = json.loads(one(capture, "aws:iam/rolePolicy:RolePolicy", "karpenter-controller")["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"ec2:DescribeInstanceStatus", "arc-zonal-shift:GetManagedResource", "iam:PassRole"} <= actions
    # It terminates and tags only this cluster's nodes, and passes only its node role.
    deletion = statements["AllowScopedDeletion"]["Condition"]
    assert deletion["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/gpu-dev": "owned"}
    assert statements["AllowPassingInstanceRole"]["Resource"].endswith(":role/karpenter-nodes")
    assert not [s for s in policy["Statement"] if s["Resource"] == "*" and "ec2:TerminateInstances" in s["Action"]]
    # On destroy the controller goes before its permissions, so it can still terminate its nodes.
    (release,) = [r for r in by_type(capture, "kubernetes:helm.sh/v3:Release") if r.name == "karpenter-controller"]
    assert any(u.endswith("RolePolicy::karpenter-controller") for u in release.dependencies)
    pass_role = next(s for s in policy["Statement"] if s["Action"] == "iam:PassRole")
    assert pass_role["Resource"].endswith(":role/karpenter-nodes")


def test_cluster_autoscaler_scales_managed_groups_from_zero(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    (release,) = [
        r.inputs()
        for r in by_type(capture, "kubernetes:helm.sh/v3:Release")
        if r.inputs()["chart"] == "cluster-autoscaler"
    ]
    assert release["version"] == "9.59.0" and release["namespace"] == "kube-system"
    values = release["values"]
    assert values["image"]["tag"].startswith("v1.35.")  # the cluster's minor
    assert values["autoDiscovery"]["clusterName"] == "gpu-dev" and values["awsRegion"] == "us-east-1"
    assert values["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        "cluster-autoscaler-role"
    )
    policy = json.loads(one(capture, "aws:iam/rolePolicy:RolePolicy", "cluster-autoscaler-role")["policy"])
    scale = next(s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"])
    assert scale["Condition"]["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/gpu-dev"] == "owned"
    group = node_group(capture, "l4-spot")
    assert group["tags"]["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "1"
    assert group["labels"]["k8s.amazonaws.com/accelerator"] == "l4"  # its GPU-node marker


def test_node_templates_count_shared_gpus(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["nodePools"][0]["sharing"] = {"mode": "time-slicing", "replicas": 3, "renameByDefault": True}
    aws_raw.pop("serving")  # its vLLM endpoint needs the L4 unshared
    tags = node_group(plan(aws_raw), "l4-spot")["tags"]
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu.shared"] == "3"


def test_arm64_pool_gets_the_arm_nvidia_image(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["nodePools"][0] = {"name": "t4g", "gpu": "t4g", "maxNodes": 2, "capacity": "spot"}
    aws_raw["teams"] = []
    aws_raw.pop("training", None)  # its jobs name teams
    aws_raw.pop("serving", None)  # its endpoints name teams and pools
    group = node_group(plan(aws_raw), "t4g")
    assert group["instanceTypes"] == ["g5g.xlarge"] and group["amiType"] == "AL2023_ARM_64_NVIDIA"


def test_efa_layout_when_card_zero_has_no_efa() -> None:
    from components.eks_gpu_pool import efa_interfaces

    assert AWS_INSTANCE_TYPES["p6-b300.48xlarge"].efa_on_card0 is False  # card 0 is ENA only on p6-b300
    interfaces = efa_interfaces(16, on_primary_card=False, security_groups=["sg-1"])
    layout = [(i["network_card_index"], i["device_index"], i["interface_type"]) for i in interfaces]
    assert layout[0] == (0, 0, "interface")
    assert layout[1:] == [(card, 0, "efa-only") for card in range(1, 17)]


def test_launch_template_tags_what_it_launches(aws_raw: dict[str, Any], plan: Any) -> None:
    template = one(plan(aws_raw), "aws:ec2/launchTemplate:LaunchTemplate", "pool-l4-spot-template")
    specs = {t["resourceType"]: t["tags"] for t in template["tagSpecifications"]}
    assert set(specs) == {"instance", "volume", "network-interface"}
    assert all(
        t["gpu-platform.io/pool"] == "l4-spot" and t["gpu-platform.io/cluster"] == "gpu-dev" for t in specs.values()
    )


def test_gpu_pools_are_replaced_delete_first(aws_raw: dict[str, Any], gcp_raw: dict[str, Any], plan: Any) -> None:
    groups = [r for r in by_type(plan(aws_raw), "aws:eks/nodeGroup:NodeGroup") if r.name.startswith("pool-")]
    pools = [r for r in by_type(plan(gcp_raw), "gcp:container/nodePool:NodePool") if r.name.startswith("pool-")]
    assert groups and pools and all(r.delete_before_replace for r in groups + pools)


def test_pool_zones_come_from_ec2_at_deploy_time(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["nodePools"][0]["zones"] = ["use1-az2"]
    subnets = node_group(plan(aws_raw), "l4-spot")["subnetIds"]
    assert subnets == ["gpu-dev-network-private-use1-az2-id"]  # the lookup (mocked from the catalog) kept it


def test_eks_gpu_node_groups(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    spot = node_group(capture, "l4-spot")
    assert spot["instanceTypes"] == ["g6.xlarge"] and spot["capacityType"] == "SPOT"
    assert spot["amiType"] == "AL2023_x86_64_NVIDIA"
    assert spot["scalingConfig"] == {"desiredSize": 0, "minSize": 0, "maxSize": 8}
    assert spot["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert spot["labels"]["gpu-platform.io/pool"] == "l4-spot"
    assert spot["labels"]["nvidia.com/device-plugin.config"] == "l4-spot"
    assert one(capture, "aws:eks/nodeGroup:NodeGroup", "gpu-dev-system")["amiType"] == "AL2023_x86_64_STANDARD"
    reg = next(r for r in by_type(capture, "aws:eks/nodeGroup:NodeGroup") if r.name == "pool-l4-spot-nodes")
    assert reg.ignore_changes == ["scalingConfig.desiredSize"]


def test_launch_template_requires_imdsv2_and_encrypts(aws_raw: dict[str, Any], plan: Any) -> None:
    template = one(plan(aws_raw), "aws:ec2/launchTemplate:LaunchTemplate", "pool-l4-spot-template")
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1  # pods use IRSA, never the node role
    (disk,) = template["blockDeviceMappings"]
    assert disk["deviceName"] == "/dev/xvda"
    assert disk["ebs"] == {"volumeSize": 200, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}
    assert "networkInterfaces" not in template and "placement" not in template


def test_bottlerocket_pool(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["nodePools"][0]["amiType"] = "bottlerocket"
    capture = plan(aws_raw)
    assert node_group(capture, "l4-spot")["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"
    template = one(capture, "aws:ec2/launchTemplate:LaunchTemplate", "pool-l4-spot-template")
    assert template["blockDeviceMappings"][0]["deviceName"] == "/dev/xvdb"  # the data volume


def test_efa_pool_gets_every_interface_and_a_placement_group(plan: Any) -> None:
    capture = plan(copy.deepcopy(stack_raw("aws-train")))
    template = one(capture, "aws:ec2/launchTemplate:LaunchTemplate", "pool-h100-efa-template")
    interfaces = template["networkInterfaces"]
    # EC2 user guide layout: an ENA primary, then one EFA-only interface per card (card 0 on device 1).
    efa = AWS_INSTANCE_TYPES["p5.48xlarge"].max_efa_interfaces
    assert len(interfaces) == efa + 1 == 33
    assert interfaces[0] | {"securityGroups": []} == {
        "networkCardIndex": 0,
        "deviceIndex": 0,
        "interfaceType": "interface",
        "deleteOnTermination": "true",
        "securityGroups": [],
    }
    assert [(i["networkCardIndex"], i["deviceIndex"]) for i in interfaces[1:3]] == [(0, 1), (1, 0)]
    assert {i["interfaceType"] for i in interfaces[1:]} == {"efa-only"}
    assert [i["networkCardIndex"] for i in interfaces[1:]] == list(range(efa))
    assert all(i["securityGroups"] == ["sg-gpu-train-cluster"] for i in interfaces)  # the cluster SG, every one
    plugin = next(
        r.inputs()
        for r in by_type(capture, "kubernetes:helm.sh/v3:Release")
        if r.inputs()["chart"] == "aws-efa-k8s-device-plugin"
    )
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in plugin["values"]["tolerations"]
    tags = node_group(capture, "h100-efa")["tags"]
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"] == "32"
    assert one(capture, "aws:ec2/placementGroup:PlacementGroup")["strategy"] == "cluster"
    assert len(node_group(capture, "h100-efa")["subnetIds"]) == 1  # a cluster placement group is one zone
    assert node_group(capture, "h100-efa")["instanceTypes"] == ["p5.48xlarge"]


def test_aws_outputs_and_kubernetes_provider_from_kubeconfig(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    assert capture.outputs["kubeconfig"] == "[secret]" and "kubeconfig" in capture.secret_outputs
    assert capture.outputs["clusterName"] == "gpu-dev"
    assert capture.outputs["endpoint"].startswith("https://")
    assert capture.outputs["gpuCapacity"]["l4-spot"] == {
        "gpu": "l4",
        "gpusPerNode": 1,
        "instanceType": "g6.xlarge",
        "maxGpus": 8,
        "maxSchedulableGpus": 8,
    }
    (provider,) = by_type(capture, "pulumi:providers:kubernetes")
    assert provider.inputs()["kubeconfig"] == "[secret]"
    kubeconfig = json.loads(provider.inputs_revealed()["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "gpu-dev"]
    k8s = [r for r in capture.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert k8s and {r.provider.rsplit("::", 1)[0] for r in k8s} == {provider.urn}
    aws_resources = [r for r in capture.registrations if r.custom and r.type.startswith("aws:")]
    (aws_provider,) = by_type(capture, "pulumi:providers:aws")
    assert {r.provider.rsplit("::", 1)[0] for r in aws_resources} == {aws_provider.urn}
    assert aws_provider.inputs()["region"] == "us-east-1"


def test_aws_installs_device_plugin_with_sharing_configs(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["nodePools"][1]["sharing"] = {"mode": "time-slicing", "replicas": 4}
    capture = plan(aws_raw)
    charts = {r.inputs()["chart"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    assert {"nvidia-device-plugin", "dcgm-exporter", "oci://public.ecr.aws/karpenter/karpenter"} <= charts
    data = one(capture, "kubernetes:core/v1:ConfigMap")["data"]
    assert sorted(data) == ["a10g", "default", "l4-spot"] and "replicas: 4" in data["a10g"]
    assert capture.outputs["gpuCapacity"]["a10g"]["maxSchedulableGpus"] == 16


# ---------------------------------------------------------------- GCP


def test_gke_cluster_private_vpc_native_workload_identity(gcp_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(gcp_raw)
    cluster = one(capture, "gcp:container/cluster:Cluster")
    assert cluster["removeDefaultNodePool"] is True and cluster["location"] == "us-central1"
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is False  # reachable from where Pulumi runs
    assert cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"] == [
        {"cidrBlock": "0.0.0.0/0", "displayName": "0.0.0.0/0"}
    ]
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "gpu-platform-dev.svc.id.goog"}
    assert cluster["releaseChannel"] == {"channel": "REGULAR"} and cluster["minMasterVersion"] == "1.35"
    assert cluster["enableShieldedNodes"] is True and cluster["deletionProtection"] is True
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    network = one(capture, "gcp:compute/network:Network")
    assert network["autoCreateSubnetworks"] is False
    subnet = one(capture, "gcp:compute/subnetwork:Subnetwork")
    assert {r["rangeName"] for r in subnet["secondaryIpRanges"]} == {"pods", "services"}
    assert one(capture, "gcp:compute/routerNat:RouterNat")["natIpAllocateOption"] == "AUTO_ONLY"


def test_gke_private_endpoint_only(gcp_raw: dict[str, Any], plan: Any) -> None:
    gcp_raw["cluster"]["privateEndpointOnly"] = True
    del gcp_raw["cluster"]["publicEndpointCidrs"]
    cluster = one(plan(gcp_raw), "gcp:container/cluster:Cluster")
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is True


def test_gke_opens_installed_webhooks_to_the_control_plane(gcp_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(gcp_raw)
    (rule,) = [r.inputs() for r in by_type(capture, "gcp:compute/firewall:Firewall") if r.name.endswith("-webhooks")]
    assert rule["sourceRanges"] == ["172.16.0.0/28"] and rule["direction"] == "INGRESS"
    # Kueue's visibility API and the webhooks (Kueue, Trainer, KServe, KEDA) on 9443; KEDA's metrics API on
    # 6443; cert-manager's webhook on 10250.
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["6443", "8082", "9443", "10250"]}]
    assert rule["targetTags"] == ["gpu-dev-nodes"]
    pools = [r.inputs() for r in by_type(capture, "gcp:container/nodePool:NodePool")]
    assert all(p["nodeConfig"]["tags"] == ["gpu-dev-nodes"] for p in pools)
    gcp_raw["queues"] = {"enabled": False}
    gcp_raw.pop("training", None)  # jobs need queues
    gcp_raw.pop("serving", None)  # its endpoints name teams and pools
    assert by_type(plan(gcp_raw), "gcp:compute/firewall:Firewall") == []  # no webhook, no rule


def test_gke_gpu_node_pools(gcp_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(gcp_raw)
    pools = {r.inputs().get("name", "system"): r.inputs() for r in by_type(capture, "gcp:container/nodePool:NodePool")}
    assert set(pools) == {"system", "l4-spot", "h100"}
    assert pools["system"]["namePrefix"] == "system-"  # replaced create-first without a name collision
    l4 = pools["l4-spot"]
    (acc,) = l4["nodeConfig"]["guestAccelerators"]
    assert acc == {
        "type": "nvidia-l4",
        "count": 1,
        "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        "gpuSharingConfig": {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 2},
    }
    assert l4["nodeConfig"]["spot"] is True and l4["nodeConfig"]["machineType"] == "g2-standard-4"
    assert l4["autoscaling"]["totalMaxNodeCount"] == 8 and l4["autoscaling"]["totalMinNodeCount"] == 0
    assert l4["nodeLocations"] and all(z.startswith("us-central1-") for z in l4["nodeLocations"])
    assert "taints" not in l4["nodeConfig"] or l4["nodeConfig"]["taints"] == []  # GKE taints GPU nodes itself
    assert "nvidia.com/device-plugin.config" not in l4["nodeConfig"]["labels"]
    h100 = pools["h100"]["nodeConfig"]
    assert h100["machineType"] == "a3-highgpu-8g" and h100["guestAccelerators"][0]["count"] == 8
    assert h100["spot"] is False
    assert h100["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


def test_gke_pools_have_dedicated_least_privilege_service_accounts(gcp_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(gcp_raw)
    accounts = {r.inputs()["accountId"] for r in by_type(capture, "gcp:serviceaccount/account:Account")}
    nodes = {a for a in accounts if not a.endswith(("-trn", "-srv"), 0, len(a) - 7)}  # storage identities apart
    assert nodes == {"gpu-dev-system", "gpu-dev-l4-spot", "gpu-dev-h100"}
    roles = {
        (m.name.split("-sa-")[0], m.inputs()["role"]) for m in by_type(capture, "gcp:projects/iAMMember:IAMMember")
    }
    assert ("pool-h100", "roles/logging.logWriter") in roles
    assert not any("admin" in role or "editor" in role for _, role in roles)
    pools = {r.inputs().get("name"): r.inputs() for r in by_type(capture, "gcp:container/nodePool:NodePool")}
    assert pools["h100"]["nodeConfig"]["serviceAccount"] == "gpu-dev-h100@gpu-platform-dev.iam.gserviceaccount.com"


def test_gke_sharing_goes_to_the_node_pool_not_a_device_plugin(gcp_raw: dict[str, Any], plan: Any) -> None:
    gcp_raw["nodePools"][0]["sharing"] = {"mode": "time-slicing", "replicas": 4}
    capture = plan(gcp_raw)
    pool = next(
        r.inputs() for r in by_type(capture, "gcp:container/nodePool:NodePool") if r.inputs().get("name") == "l4-spot"
    )
    sharing = pool["nodeConfig"]["guestAccelerators"][0]["gpuSharingConfig"]
    assert sharing == {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}
    charts = {r.inputs()["chart"] for r in by_type(capture, "kubernetes:helm.sh/v3:Release")}
    # GKE runs the device plugin and DCGM itself: no NVIDIA chart.
    assert not {c for c in charts if "nvidia" in c or "dcgm" in c}
    assert capture.outputs["gpuCapacity"]["l4-spot"]["maxSchedulableGpus"] == 32


def test_gcp_outputs(gcp_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(gcp_raw)
    assert capture.secret_outputs == ["kubeconfig"]
    (provider,) = by_type(capture, "pulumi:providers:gcp")
    assert provider.inputs()["project"] == "gpu-platform-dev" and provider.inputs()["region"] == "us-central1"
    assert "pulumi:providers:aws" not in {r.type for r in capture.registrations}


def test_karpenter_pool_gets_nodepool_and_nodeclass_with_derived_limits(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    assert "pool-a10g-nodes" not in {r.name for r in by_type(capture, "aws:eks/nodeGroup:NodeGroup")}
    node_pool = one(capture, "kubernetes:karpenter.sh/v1:NodePool")
    assert node_pool["metadata"]["annotations"] == {
        "gpu-platform.io/region": "us-east-1",
        "gpu-platform.io/node-resources": '{"nvidia.com/gpu": 4}',  # one A10G time-sliced x4: capacity policies read it
    }
    spec = node_pool["spec"]
    # 4 nodes x g5.xlarge (4 vCPUs); not in GPUs, which Karpenter would count after time-slicing (4 per node).
    assert spec["limits"] == {"cpu": "16", "nodes": "4"}
    requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["g5.xlarge"]
    assert requirements["karpenter.sh/capacity-type"] == ["on-demand"]
    assert spec["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert spec["template"]["metadata"]["labels"]["gpu-platform.io/pool"] == "a10g"
    node_class = one(capture, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")["spec"]
    assert node_class["amiSelectorTerms"] == [{"alias": KARPENTER_AMI_ALIAS}]  # pinned, never @latest
    assert requirements["kubernetes.io/arch"] == ["amd64"]
    assert node_class["metadataOptions"]["httpTokens"] == "required"
    assert node_class["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    assert node_class["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "gpu-dev"}}]


def test_karpenter_controller_is_pinned_with_irsa_and_interruption_queue(aws_raw: dict[str, Any], plan: Any) -> None:
    capture = plan(aws_raw)
    (release,) = [
        r.inputs() for r in by_type(capture, "kubernetes:helm.sh/v3:Release") if "karpenter" in r.inputs()["chart"]
    ]
    assert (release["chart"], release["version"], release["namespace"]) == (
        "oci://public.ecr.aws/karpenter/karpenter",
        "1.14.1",
        "kube-system",
    )
    assert release["values"]["settings"]["clusterName"] == "gpu-dev"
    role = one(capture, "aws:iam/role:Role", "karpenter-controller")
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "system:serviceaccount:kube-system:karpenter" in json.dumps(trust["Condition"])
    rules = {
        json.loads(r.inputs()["eventPattern"])["detail-type"][0]
        for r in by_type(capture, "aws:cloudwatch/eventRule:EventRule")
    }
    assert "EC2 Spot Instance Interruption Warning" in rules and len(rules) == 4


def test_no_karpenter_unless_enabled(aws_raw: dict[str, Any], plan: Any) -> None:
    aws_raw["cluster"]["karpenter"] = False
    aws_raw["nodePools"][1].pop("provisioner")
    capture = plan(aws_raw)
    assert by_type(capture, "kubernetes:karpenter.sh/v1:NodePool") == []
    assert node_group(capture, "a10g")["capacityType"] == "ON_DEMAND"


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.0.0.0/16", ("10.0.128.0/18", "10.0.0.0/17", "10.0.192.0/18")),
        ("10.0.0.0/24", ("10.0.0.128/26", "10.0.0.0/25", "10.0.0.192/26")),
        # A /12's last quarter is a /14: GKE refuses a Services range larger than /16.
        ("10.0.0.0/12", ("10.8.0.0/14", "10.0.0.0/13", "10.12.0.0/16")),
    ],
)
def test_gke_ranges_split_the_network_without_overlap(cidr: str, expected: tuple[str, str, str]) -> None:
    import ipaddress

    from components.gke_cluster import secondary_ranges

    ranges = secondary_ranges(cidr)
    assert ranges == expected
    networks = [ipaddress.IPv4Network(r) for r in ranges]
    assert all(n.subnet_of(ipaddress.IPv4Network(cidr)) for n in networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert networks[2].prefixlen >= 16
