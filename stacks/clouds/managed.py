"""What every cloud that creates the cluster shares: a region, pools from the catalog, zones, an API endpoint.

Subclasses say what differs (region names, zone data, explicit type field,
which CIDRs the public endpoint accepts) and add their own rules.
"""

from __future__ import annotations

import ipaddress
import re
from abc import abstractmethod
from collections.abc import Iterable
from typing import ClassVar

from components.catalog import CatalogError, Offering, lookup, resolve
from stacks.clouds.base import CloudBackend, Issue, key
from stacks.model import NodePool, PlatformConfig

# RFC 5737: addresses reserved for documentation. No machine that runs `pulumi up` is in them,
# so an endpoint restricted to them locks everyone out (the old example placeholder did).
DOCUMENTATION_RANGES = tuple(ipaddress.IPv4Network(c) for c in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))


class ManagedCloud(CloudBackend):
    region_pattern: ClassVar[re.Pattern[str]]
    region_example: ClassVar[str]
    type_field: ClassVar[str]
    """The pool key that names an explicit type: ``instanceType`` or ``machineType``."""
    max_endpoint_cidrs: ClassVar[int]
    """Most CIDRs the cloud accepts on the public endpoint."""
    network_prefixes: ClassVar[range]
    """Prefix lengths ``cluster.networkCidr`` may have on this cloud."""

    @abstractmethod
    def explicit_type(self, pool: NodePool) -> str | None:
        """The pool's explicit instance or machine type, if it names one."""

    @abstractmethod
    def offered_zones(self, config: PlatformConfig, offering: Offering) -> tuple[str, ...]:
        """Zones of the stack's region that offer ``offering`` (sorted); () when none do."""

    @abstractmethod
    def region_zones(self, config: PlatformConfig) -> tuple[str, ...] | None:
        """Every zone of the stack's region the catalog knows; ``None`` when it knows none."""

    def zone_hint(self, config: PlatformConfig, zone: str) -> str:
        """What to add to an error about an unknown zone."""
        return ""

    def public_cidr_problem(self, network: ipaddress.IPv4Network) -> str | None:
        """Why the cloud refuses ``network`` on its public endpoint, or ``None``."""
        return None

    @abstractmethod
    def certificate_problem(self, config: PlatformConfig, certificate: str) -> str | None:
        """Why ``serving.external.certificate`` cannot be the endpoints' TLS certificate here, or ``None``."""

    # ------------------------------------------------------------ resolution

    def offering(self, pool: NodePool) -> Offering:
        explicit = self.explicit_type(pool)
        cloud = self.cloud.value
        if explicit:
            offering = lookup(cloud, explicit)
            if pool.gpu is not None and pool.gpu != offering.gpu:
                raise CatalogError(f"{explicit} carries {offering.gpu}, not {pool.gpu}; drop gpu or make them agree")
            if "gpus_per_node" in pool.model_fields_set and pool.gpus_per_node != offering.gpus_per_node:
                raise CatalogError(
                    f"{explicit} has {offering.gpus_per_node} GPU(s) per node, not {pool.gpus_per_node}; "
                    "drop gpusPerNode or make them agree"
                )
            return offering
        if pool.gpu is None:
            raise CatalogError(f"set gpu (with gpusPerNode) or {self.type_field}")
        return resolve(cloud, pool.gpu, pool.gpus_per_node)

    def pool_zones(self, config: PlatformConfig, pool: NodePool, offering: Offering) -> tuple[str, ...]:
        wanted = pool.zones or config.zones
        return tuple(z for z in self.offered_zones(config, offering) if not wanted or z in wanted)

    def endpoint_access(self, config: PlatformConfig) -> str:
        cidrs = config.cluster.public_endpoint_cidrs
        if config.cluster.private_endpoint_only:
            return (
                "private only: run `pulumi up` inside the VPC (a runner in it, a VPN or a bastion); from anywhere "
                "else every Helm release and Kubernetes object fails to connect"
            )
        if "0.0.0.0/0" in cidrs:
            return (
                "public to any address (still authenticated): narrow cluster.publicEndpointCidrs to where Pulumi runs"
            )
        return f"public to {', '.join(cidrs)} only: `pulumi up` must run from one of them"

    # ------------------------------------------------------------ rules

    def check(self, config: PlatformConfig) -> Iterable[Issue]:
        if not self.region_pattern.match(config.region):
            yield (
                key("region"),
                f"{config.region!r} is not a {self.cloud.value} region; allowed: a region name like {self.region_example}",
            )
            return
        if not config.node_pools:
            yield key("nodePools"), f"cloud {self.cloud.value} needs at least one GPU node pool"
        yield from self._stack_zones(config)
        yield from self._network(config)
        yield from self._endpoint(config)
        external = config.serving.external
        if external is not None and (problem := self.certificate_problem(config, external.certificate)):
            yield key("serving.external.certificate"), problem
        for i, pool in enumerate(config.node_pools):
            yield from self._pool(config, i, pool)

    def _stack_zones(self, config: PlatformConfig) -> Iterable[Issue]:
        known = self.region_zones(config)
        seen: set[str] = set()
        for i, zone in enumerate(config.zones):
            if zone in seen:
                yield key(f"zones[{i}]"), f"{zone!r} is listed twice"
            seen.add(zone)
            if known is not None and zone not in known:
                hint = self.zone_hint(config, zone)
                yield (
                    key(f"zones[{i}]"),
                    f"{zone!r} is not a zone of {config.region}{hint}; allowed: {', '.join(known)}",
                )

    def _network(self, config: PlatformConfig) -> Iterable[Issue]:
        text = config.cluster.network_cidr
        try:
            network = ipaddress.IPv4Network(text)
        except ValueError as err:
            yield key("cluster.networkCidr"), f"{text!r} is not an IPv4 network ({err}); allowed: e.g. 10.0.0.0/16"
            return
        if not network.is_private:
            yield (
                key("cluster.networkCidr"),
                f"{text!r} is not a private range; allowed: within 10/8, 172.16/12, 192.168/16",
            )
        low, high = self.network_prefixes[0], self.network_prefixes[-1]
        if network.prefixlen not in self.network_prefixes:
            yield (
                key("cluster.networkCidr"),
                f"{text!r}: a /{network.prefixlen} network on {self.cloud.value}; allowed: /{low} to /{high}",
            )

    def _endpoint(self, config: PlatformConfig) -> Iterable[Issue]:
        cluster = config.cluster
        cidrs = cluster.public_endpoint_cidrs
        if cluster.private_endpoint_only and cidrs:
            yield (
                key("cluster.publicEndpointCidrs"),
                "privateEndpointOnly is true, so the endpoint has no public access; remove these CIDRs or "
                "set privateEndpointOnly: false",
            )
        if not cluster.private_endpoint_only and not cidrs:
            yield (
                key("cluster.publicEndpointCidrs"),
                "empty: nothing outside the VPC could reach the API, yet `pulumi up` applies Helm releases and "
                "Kubernetes objects from the machine that runs it; list the CIDRs of those machines (your "
                "address /32, your CI runners' egress ranges), or set cluster.privateEndpointOnly: true and run "
                "Pulumi inside the VPC",
            )
        if len(cidrs) > self.max_endpoint_cidrs:
            yield (
                key("cluster.publicEndpointCidrs"),
                f"{len(cidrs)} CIDRs; {self.cloud.value} accepts at most {self.max_endpoint_cidrs}",
            )
        seen: set[ipaddress.IPv4Network] = set()
        for i, text in enumerate(cidrs):
            at = key(f"cluster.publicEndpointCidrs[{i}]")
            try:
                network = ipaddress.IPv4Network(text)
            except ValueError as err:
                yield (
                    at,
                    f"{text!r} is not an IPv4 network ({err}); allowed: a CIDR like 192.30.252.0/22 with no host bits",
                )
                continue
            if network in seen:
                yield at, f"{text!r} is listed twice"
            seen.add(network)
            if any(network.subnet_of(doc) for doc in DOCUMENTATION_RANGES):
                yield (
                    at,
                    f"{text!r} is a documentation range (RFC 5737): no real machine has such an address, so "
                    "`pulumi up` would be locked out; use the CIDRs of the machines that run Pulumi",
                )
            elif problem := self.public_cidr_problem(network):
                yield at, f"{text!r}: {problem}"

    def _pool(self, config: PlatformConfig, i: int, pool: NodePool) -> Iterable[Issue]:
        at = f"nodePools[{i}]"
        try:
            offering = self.offering(pool)
        except CatalogError as err:
            yield key(f"{at}.{self.type_field}" if self.explicit_type(pool) else f"{at}.gpu"), str(err)
            return
        offered = self.offered_zones(config, offering)
        what = offering.instance_type + (f" ({offering.accelerator})" if offering.accelerator else "")
        if not offered:
            yield key("region"), self.not_offered(config, offering, pool, what)
            return
        seen: set[str] = set()
        for j, zone in enumerate(pool.zones):
            if zone in seen:
                yield key(f"{at}.zones[{j}]"), f"{zone!r} is listed twice"
            seen.add(zone)
            if config.zones and zone not in config.zones:
                yield (
                    key(f"{at}.zones[{j}]"),
                    f"{zone!r} is not one of the stack's zones; allowed: {', '.join(config.zones)}",
                )
            elif zone not in offered:
                yield key(f"{at}.zones[{j}]"), f"{zone!r} does not offer {what}; zones that do: {', '.join(offered)}"
        if config.zones and not pool.zones and not set(config.zones) & set(offered):
            yield (
                key(f"{at}.gpu"),
                f"none of the stack's zones ({', '.join(config.zones)}) offers {what}; zones that do: {', '.join(offered)}",
            )
        yield from self.check_pool(config, i, pool, offering)

    def not_offered(self, config: PlatformConfig, offering: Offering, pool: NodePool, what: str) -> str:
        return f"{config.region!r} does not offer {what} (pool {pool.name})"

    def check_pool(self, config: PlatformConfig, i: int, pool: NodePool, offering: Offering) -> Iterable[Issue]:
        """This cloud's rules for one pool whose offering resolved."""
        return ()
