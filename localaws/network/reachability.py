"""Whether a network interface in a VPC can reach an AWS service, from the deployed resources.

AWS (Amazon ECS developer guide, "Fargate task networking"; VPC user guide, "Access AWS services
through AWS PrivateLink"): a task reaches a service's public endpoint through its subnet's route
table, by a 0.0.0.0/0 route to an internet gateway when the task has a public IP, or to a NAT
gateway, where the task's groups let 443 out to the internet; with an interface VPC endpoint for that
service in its VPC with private DNS on (the service's name then resolves to the endpoint), through
that endpoint, whose security groups admit HTTPS (443) from the task (by the task's security group or
an address range holding its subnet) while the task's own groups let 443 out to the endpoint.
Between hosts (VPC user guide, "Security group rules", "Route tables"): inside one VPC the local
route carries every flow, so a host reaches another on a port when its own groups let the port out to
the other (an outbound rule naming one of its groups, an address range holding its address, or a prefix
list holding it) and the other's groups admit it the same way (an inbound rule naming one of its groups
or its address); the internet reaches a host only on its public IP, through a 0.0.0.0/0 route to an
internet gateway, on what its groups admit from the internet's address. Offline, the internet's address
is where the suite connects from (INTERNET).
Outbound rules match by destination and port like inbound rules by source and port (VPC user guide,
"Security group rules": an outbound rule's destination is an address range, a prefix list or a security
group, and "the resources associated with the referenced security group" are its addresses). One
evaluator (_admits) reads both directions. What each destination's address is here:
- a database: its security groups, and its DB subnet group's subnets (RDS picks the subnet: a rule
  whose range holds any of them is taken to reach it; without a DB subnet group, the default VPC);
- another host: its security groups and its private address (a task's: its subnet);
- an interface endpoint (private DNS on: the service's name resolves to it, so no other way is taken):
  its security groups and its subnets;
- an AWS service's public endpoint (through a NAT gateway, or an internet gateway with a public IP) and
  the internet: every public IPv4 address (PUBLIC, plus INTERNET offline), so a range holding public
  addresses (0.0.0.0/0, say) lets the flow out and a private one (the VPC's) does not; an AWS-managed
  prefix list (com.amazonaws.<region>.s3) holds the public endpoints of its service only; a prefix list
  of the account holds its entries.
A gateway endpoint (VPC user guide, "Gateway endpoints": S3 and DynamoDB only) adds a route to the service's
prefix list in the route tables it names: an interface in a subnet using one of them reaches that service's
public endpoint, where its groups let 443 out to it (the prefix list, or a public range holding it), with
no internet route or public IP.
Only IPv4 TCP is modelled: an IPv6-only rule lets nothing out.
The answer is a sentence saying why not, or None.
Each decision reads moto's resources as they are, on whichever thread asks; one that another thread
changed in the middle of the reading is made again (localaws/live_state.py).
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable

from localaws.live_state import read_again_if_changed

INTERNET = "127.0.0.1/32"  # this machine's address: "the internet" a public IP is reached from


@dataclass(frozen=True)
class Interface:
    """A host's network interface in a VPC (an instance's, a task's)."""

    subnet_id: str
    group_ids: tuple[str, ...]
    public_ip: bool
    private_cidr: str  # its private address, as other groups' rules name it


def _route_table(ec2: Any, subnet: Any) -> Any | None:
    tables = [t for t in ec2.route_tables.values() if t.vpc_id == subnet.vpc_id]
    explicit = next((t for t in tables if subnet.id in t._associations.values()), None)
    return explicit or next((t for t in tables if t.main_association_id), None)


def _default_route(table: Any) -> Any | None:
    return next((r for r in table._routes.values() if r.destination_cidr_block == "0.0.0.0/0"), None) if table else None


def _through_nat(route: Any | None) -> bool:
    return route is not None and getattr(route, "nat_gateway", None) is not None


@dataclass(frozen=True)
class Peer:
    """The other end of a flow as a security group rule names it: its security groups, the address
    ranges its address is in (one address where it is known), and, for an AWS service's public endpoint,
    the service (AWS's managed prefix list for it holds its addresses)."""

    groups: frozenset[str] = frozenset()
    cidrs: tuple[str, ...] = ()
    service: str | None = None


def _public_ranges() -> tuple[str, ...]:
    """Every IPv4 address but private, shared, loopback, link-local, multicast and reserved ones."""
    ranges = [ipaddress.IPv4Network("0.0.0.0/0")]
    for special in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                    "192.168.0.0/16", "224.0.0.0/3"):
        hole = ipaddress.IPv4Network(special)
        ranges = [part for network in ranges
                  for part in (network.address_exclude(hole) if hole.subnet_of(network) else [network])]
    return tuple(str(network) for network in sorted(ranges))


PUBLIC = _public_ranges()  # the internet's addresses, AWS's public endpoints among them


@functools.lru_cache(maxsize=4096)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def _overlaps(ranges: Iterable[str], cidrs: Iterable[str]) -> bool:
    networks = [_network(cidr) for cidr in cidrs]
    return any(_network(r).version == network.version and _network(r).overlaps(network)
               for r in ranges for network in networks)


def _prefix_list_holds(ec2: Any, prefix_list_id: str, peer: Peer) -> bool:
    prefix_list = ec2.managed_prefix_lists.get(prefix_list_id)
    if prefix_list is None:
        return False
    if prefix_list.owner_id == "AWS":  # com.amazonaws.<region>.<service>: that service's public addresses
        return (peer.service is not None
                and prefix_list.prefix_list_name == f"com.amazonaws.{ec2.region_name}.{peer.service}")
    entries = prefix_list.entries.get(prefix_list.version) or []
    return _overlaps([entry["Cidr"] for entry in entries if "." in entry.get("Cidr", "")], peer.cidrs)


def _admits(ec2: Any, group_ids: Iterable[str], port: int, peer: Peer, egress: bool) -> bool:
    """Whether one of the groups has a rule for TCP `port` from `peer` (inbound) or to it (outbound
    with `egress`): naming one of its groups, an address range overlapping one of its ranges, or a
    prefix list holding it."""
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            continue
        for permission in (group.egress_rules if egress else group.ingress_rules):
            protocol = str(permission.ip_protocol)
            if protocol not in ("-1", "all") and not (
                    protocol in ("tcp", "6") and (permission.from_port is None
                                                  or int(permission.from_port) <= port <= int(permission.to_port))):
                continue
            cidr = permission.ip_range.get("CidrIp")
            if cidr and _overlaps([cidr], peer.cidrs):
                return True
            if permission.source_group.get("GroupId") in peer.groups:
                return True
            if permission.prefix_list_id and _prefix_list_holds(ec2, permission.prefix_list_id, peer):
                return True
    return False


def _cidrs(ec2: Any, subnet_ids: Iterable[str]) -> list[str]:
    """The address ranges of the subnets that still exist."""
    subnets = {subnet.id: subnet for zone in ec2.subnets.values() for subnet in zone.values()}
    return [subnets[subnet_id].cidr_block for subnet_id in subnet_ids if subnet_id in subnets]


def _peer(group_ids: Iterable[str], cidrs: Iterable[str]) -> Peer:
    return Peer(frozenset(group_ids), tuple(cidrs))


def _internet(service: str | None = None) -> Peer:
    """The internet (offline, also INTERNET), or an AWS service's public endpoint on it."""
    return Peer(cidrs=PUBLIC + (() if service else (INTERNET,)), service=service)


def _to_internet_gateway(route: Any | None) -> bool:
    gateway = getattr(route, "gateway", None) if route else None
    return gateway is not None and str(getattr(gateway, "id", "")).startswith("igw-")


def unreachable(ec2: Any, subnet_id: str, group_ids: list[str], public_ip: bool, service: str,
                source_cidr: str | None = None) -> str | None:
    """Why an interface in `subnet_id` with `group_ids` (at `source_cidr`: by default, its subnet) cannot
    reach `service` (e.g. "secretsmanager", "ecr.api"), or None when it can."""
    subnet = ec2.get_subnet(subnet_id)
    source = _peer(group_ids, [source_cidr or subnet.cidr_block])
    name = f"com.amazonaws.{ec2.region_name}.{service}"
    endpoints = [e for e in ec2.vpc_end_points.values() if e.vpc_id == subnet.vpc_id and e.service_name == name
                 and (e.vpc_endpoint_type or "Interface") == "Interface"]
    private_dns = [e for e in endpoints if e.private_dns_enabled]
    if private_dns:  # the service's name resolves to the endpoint's addresses in the VPC: no other way
        why = ""
        for endpoint in private_dns:
            target = _peer(endpoint.security_group_ids, _cidrs(ec2, endpoint.subnet_ids or []) or [subnet.cidr_block])
            if not _admits(ec2, group_ids, 443, target, egress=True):
                why = "its security groups let no HTTPS out to the interface endpoint for it (its groups or subnets)"
            elif not _admits(ec2, endpoint.security_group_ids, 443, source, egress=False):
                why = "the interface endpoint for it does not admit HTTPS from it"
            else:
                return None
        return why
    table = _route_table(ec2, subnet)
    gateways = [e for e in ec2.vpc_end_points.values() if e.vpc_id == subnet.vpc_id and e.service_name == name
                and e.vpc_endpoint_type == "Gateway" and table is not None and table.id in (e.route_table_ids or [])]
    if gateways:
        if _admits(ec2, group_ids, 443, _internet(service), egress=True):
            return None
        return ("its security groups let no HTTPS out to the service's prefix list, which its route table's gateway "
                "endpoint routes")
    route = _default_route(table)
    gateway = getattr(route, "gateway", None) if route else None
    if _through_nat(route) or (_to_internet_gateway(route) and public_ip):
        if _admits(ec2, group_ids, 443, _internet(service), egress=True):
            return None
        return ("its security groups let no HTTPS out to the service's public endpoint (no rule for 443 to a "
                "public address range or the service's prefix list)")
    internet = ("its subnet's route table has no 0.0.0.0/0 route to an internet gateway or NAT gateway"
                if route is None or gateway is None
                else "it has no public IP for its subnet's internet gateway route")
    endpoint_state = ("no interface endpoint for it has private DNS" if endpoints
                      else f"the VPC has no interface endpoint for {name}")
    return f"{internet}, and {endpoint_state}"


def _database_admits(ec2: Any, database: Any, subnets: list[Any], groups: Iterable[str], cidrs: list[str],
                     who: str) -> str | None:
    port = database_port(database)
    subnet_group = getattr(database, "db_subnet_group", None)
    db_vpc = getattr(subnet_group, "vpc_id", None)
    if db_vpc and all(subnet.vpc_id != db_vpc for subnet in subnets):
        return f"{who}'s subnets are in another VPC than the DB instance"
    db_subnets = getattr(subnet_group, "_subnets", None) or []
    default_vpc = None if db_subnets else ec2.get_default_vpc()  # no DB subnet group: the default VPC
    target = _peer(database.vpc_security_group_ids, [subnet.cidr_block for subnet in db_subnets]
                   or ([default_vpc.cidr_block] if default_vpc else []))
    if not _admits(ec2, groups, port, target, egress=True):
        return f"{who}'s security groups let nothing out on {port} to the DB's security groups or subnets"
    if not _admits(ec2, database.vpc_security_group_ids, port, _peer(groups, cidrs), egress=False):
        return f"the DB's security groups do not admit {who}'s security groups or address on {port}"
    return None


def database_port(database: Any) -> int:
    return int(database.__dict__.get("_modelled_port") or database.port)  # the port its security groups name


# --------------------------------------------------------------------------- hosts: instances and tasks

@read_again_if_changed
def host_reaches_database(ec2: Any, source: Interface, database: Any) -> str | None:
    """Why a host cannot open a connection to an RDS instance, or None."""
    return _database_admits(ec2, database, [ec2.get_subnet(source.subnet_id)], source.group_ids,
                            [source.private_cidr], "the host")


@read_again_if_changed
def host_reaches_host(ec2: Any, source: Interface, target: Interface, port: int) -> str | None:
    """Why a host cannot open a connection to another host's private address on `port`, or None."""
    if ec2.get_subnet(source.subnet_id).vpc_id != ec2.get_subnet(target.subnet_id).vpc_id:
        return "they are in different VPCs (no peering is modelled)"
    if not _admits(ec2, source.group_ids, port, _peer(target.group_ids, [target.private_cidr]), egress=True):
        return f"the source's security groups let nothing out on {port} to the target's security groups or address"
    if not _admits(ec2, target.group_ids, port, _peer(source.group_ids, [source.private_cidr]), egress=False):
        return f"the target's security groups do not admit the source's security groups or address on {port}"
    return None


@read_again_if_changed
def internet_reaches_host(ec2: Any, target: Interface, port: int) -> str | None:
    """Why the internet (INTERNET) cannot open a connection to a host's public IP on `port`, or None."""
    if not target.public_ip:
        return "it has no public IP"
    if not _to_internet_gateway(_default_route(_route_table(ec2, ec2.get_subnet(target.subnet_id)))):
        return "its subnet's route table has no 0.0.0.0/0 route to an internet gateway"
    if not _admits(ec2, target.group_ids, port, Peer(cidrs=(INTERNET,)), egress=False):
        return f"its security groups do not admit {INTERNET} on {port}"
    return None


@read_again_if_changed
def host_reaches_service(ec2: Any, source: Interface, service: str) -> str | None:
    """Why a host cannot reach an AWS service's endpoint (e.g. "secretsmanager"), or None."""
    return unreachable(ec2, source.subnet_id, list(source.group_ids), source.public_ip, service, source.private_cidr)


@read_again_if_changed
def host_reaches_internet(ec2: Any, source: Interface, port: int | None = None) -> bool:
    """Through its subnet's internet gateway route with a public IP, or a NAT gateway route (with a
    `port`: and its security groups let the port out to the internet)."""
    route = _default_route(_route_table(ec2, ec2.get_subnet(source.subnet_id)))
    return bool((_through_nat(route) or (_to_internet_gateway(route) and source.public_ip))
                and (port is None or _admits(ec2, source.group_ids, port, _internet(), egress=True)))


# --------------------------------------------------------------------------- a Lambda function's flows

@read_again_if_changed
def function_reaches_database(ec2: Any, vpc_config: dict[str, Any] | None, database: Any) -> str | None:
    """Why a function (its VpcConfig) cannot open a connection to an RDS instance, or None."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        if database.publicly_accessible:
            port = database_port(database)
            return None if _admits(ec2, database.vpc_security_group_ids, port, Peer(cidrs=("0.0.0.0/0",)), False) \
                else f"the DB's security groups do not admit the internet on {port}"
        return "the function is not attached to the VPC and the DB instance is not publicly accessible"
    subnets = [ec2.get_subnet(subnet_id) for subnet_id in vpc_config["SubnetIds"]]
    return _database_admits(ec2, database, subnets, list(vpc_config.get("SecurityGroupIds") or []),
                            [subnet.cidr_block for subnet in subnets], "the function")


@read_again_if_changed
def function_reaches_service(ec2: Any, vpc_config: dict[str, Any] | None, service: str) -> str | None:
    """Why a function cannot reach an AWS service's endpoint, or None (outside a VPC it can: Lambda
    gives it internet access; inside, its ENIs have no public IP)."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        return None
    reasons = [unreachable(ec2, subnet_id, list(vpc_config.get("SecurityGroupIds") or []), False, service)
               for subnet_id in vpc_config["SubnetIds"]]
    return None if any(reason is None for reason in reasons) else reasons[0]


@read_again_if_changed
def function_reaches_internet(ec2: Any, vpc_config: dict[str, Any] | None, port: int | None = None) -> bool:
    """Outside a VPC a function has internet access; inside, only through a NAT gateway route (with a
    `port`: and its security groups let the port out to the internet)."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        return True
    return (any(_through_nat(_default_route(_route_table(ec2, ec2.get_subnet(subnet_id))))
                for subnet_id in vpc_config["SubnetIds"])
            and (port is None or _admits(ec2, vpc_config.get("SecurityGroupIds") or [], port, _internet(),
                                         egress=True)))
