"""The VPC of an EKS cluster: private subnets for nodes, public subnets only for load balancers and NAT.

Subnets are placed by availability-zone ID (``use1-az1``), never by zone name:
names map to different physical zones in every account, IDs do not.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsNetworkArgs:
    cluster_name: str
    """EKS cluster name, for the subnet discovery tags."""
    cidr: str
    """VPC CIDR, /16 to /24."""
    zones: Sequence[str]
    """Availability-zone IDs: one private and one public subnet each."""
    single_nat_gateway: bool = True
    """One NAT gateway for all zones (cheaper) or one per zone (survives a zone outage)."""


def split_cidr(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs, one each per zone.

    Nodes and pods (VPC CNI) live in the private subnets, so they share the
    first half of the range; the public subnets (load balancers, NAT) share
    the last quarter. Zones are rounded up to a power of two for the split.
    """
    network = ipaddress.IPv4Network(cidr)
    bits = max(0, (zones - 1).bit_length())
    first_half = network.subnets(prefixlen_diff=1)
    private = next(first_half).subnets(prefixlen_diff=bits)
    public = list(network.subnets(prefixlen_diff=2))[3].subnets(prefixlen_diff=bits)
    return [str(n) for n in private][:zones], [str(n) for n in public][:zones]


class AwsNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: dict[str, pulumi.Output[str]]
    """Private subnet id per zone ID."""
    public_subnet_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:AwsNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = args.cluster_name
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": cluster},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": cluster}, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{cluster}-public"},
            opts=child,
        )
        private_cidrs, public_cidrs = split_cidr(args.cidr, len(args.zones))
        shared = {f"kubernetes.io/cluster/{cluster}": "shared"}
        self.private_subnet_ids, self.public_subnet_ids = {}, {}
        nat_id: pulumi.Output[str] | None = None
        for i, zone in enumerate(args.zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone_id=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{cluster}-public-{zone}", "kubernetes.io/role/elb": "1", **shared},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
            )
            self.public_subnet_ids[zone] = public.id
            if nat_id is None or not args.single_nat_gateway:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{cluster}-nat-{zone}"}, opts=child
                )
                nat_id = aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={"Name": f"{cluster}-{zone}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                ).id
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone_id=zone,
                tags={
                    "Name": f"{cluster}-private-{zone}",
                    "kubernetes.io/role/internal-elb": "1",
                    "karpenter.sh/discovery": cluster,
                    **shared,
                },
                opts=child,
            )
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)],
                tags={"Name": f"{cluster}-private-{zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=private.id, route_table_id=private_routes.id, opts=child
            )
            self.private_subnet_ids[zone] = private.id
        self.vpc_id = vpc.id
        self.register_outputs({"vpcId": self.vpc_id})
