"""Whether a network interface in a VPC can reach an AWS service, from the deployed resources.

AWS (Amazon ECS developer guide, "Fargate task networking"; VPC user guide, "Access AWS services
through AWS PrivateLink"): a task reaches a service's public endpoint through its subnet's route
table, by a 0.0.0.0/0 route to an internet gateway when the task has a public IP, or to a NAT
gateway; or, without either, through an interface VPC endpoint for that service in its VPC with
private DNS on, whose security groups admit HTTPS (443) from the task (by the task's security
group or an address range holding its subnet) while the task's own groups let 443 out.
Between hosts (VPC user guide, "Security group rules", "Route tables"): inside one VPC the local
route carries every flow, so a host reaches another on a port when its own groups let the port out
and the other's groups admit one of its groups or its address; the internet reaches a host only on
its public IP, through a 0.0.0.0/0 route to an internet gateway, on what its groups admit from the
internet's address. Offline, the internet's address is where the suite connects from (INTERNET).
The answer is a sentence saying why not, or None.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable

INTERNET = "127.0.0.1/32"  # the suite offline, which deploys with this as the admin CIDR (suite/targets.py)


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


def _admits(ec2: Any, group_ids: Iterable[str], port: int, source_groups: set[str], source_cidrs: list[str],
            egress: bool) -> bool:
    """Whether one of the groups has a rule for `port` naming one of `source_groups` or an address
    range overlapping one of `source_cidrs` (for egress: any rule for the port)."""
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
            if egress:
                return True
            cidr = permission.ip_range.get("CidrIp")
            if cidr and any(ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(s)) for s in source_cidrs):
                return True
            if permission.source_group.get("GroupId") in source_groups:
                return True
    return False


def _to_internet_gateway(route: Any | None) -> bool:
    gateway = getattr(route, "gateway", None) if route else None
    return gateway is not None and str(getattr(gateway, "id", "")).startswith("igw-")


def unreachable(ec2: Any, subnet_id: str, group_ids: list[str], public_ip: bool, service: str) -> str | None:
    """Why an interface in `subnet_id` with `group_ids` cannot reach `service` (e.g.
    "secretsmanager", "ecr.api"), or None when it can."""
    subnet = ec2.get_subnet(subnet_id)
    route = _default_route(_route_table(ec2, subnet))
    gateway = getattr(route, "gateway", None) if route else None
    if _through_nat(route) or (_to_internet_gateway(route) and public_ip):
        return None
    name = f"com.amazonaws.{ec2.region_name}.{service}"
    endpoints = [e for e in ec2.vpc_end_points.values() if e.vpc_id == subnet.vpc_id and e.service_name == name
                 and (e.vpc_endpoint_type or "Interface") == "Interface"]
    for endpoint in endpoints:
        if not endpoint.private_dns_enabled:
            continue
        if (_admits(ec2, endpoint.security_group_ids, 443, set(group_ids), [subnet.cidr_block], egress=False)
                and _admits(ec2, group_ids, 443, set(), [], egress=True)):
            return None
    internet = ("its subnet's route table has no 0.0.0.0/0 route to an internet gateway or NAT gateway"
                if route is None or gateway is None
                else "it has no public IP for its subnet's internet gateway route")
    endpoint_state = ("no interface endpoint for it with private DNS admits HTTPS from it" if endpoints
                      else f"the VPC has no interface endpoint for {name}")
    return f"{internet}, and {endpoint_state}"


def _database_admits(ec2: Any, database: Any, subnets: list[Any], groups: Iterable[str], cidrs: list[str],
                     who: str) -> str | None:
    port = database_port(database)
    db_vpc = getattr(getattr(database, "db_subnet_group", None), "vpc_id", None)
    if db_vpc and all(subnet.vpc_id != db_vpc for subnet in subnets):
        return f"{who}'s subnets are in another VPC than the DB instance"
    if not _admits(ec2, groups, port, set(), [], egress=True):
        return f"{who}'s security groups let nothing out on {port}"
    if not _admits(ec2, database.vpc_security_group_ids, port, set(groups), cidrs, egress=False):
        return f"the DB's security groups do not admit {who}'s security groups or address on {port}"
    return None


def database_port(database: Any) -> int:
    return int(database.__dict__.get("_modelled_port") or database.port)  # the port its security groups name


# --------------------------------------------------------------------------- hosts: instances and tasks

def host_reaches_database(ec2: Any, source: Interface, database: Any) -> str | None:
    """Why a host cannot open a connection to an RDS instance, or None."""
    return _database_admits(ec2, database, [ec2.get_subnet(source.subnet_id)], source.group_ids,
                            [source.private_cidr], "the host")


def host_reaches_host(ec2: Any, source: Interface, target: Interface, port: int) -> str | None:
    """Why a host cannot open a connection to another host's private address on `port`, or None."""
    if ec2.get_subnet(source.subnet_id).vpc_id != ec2.get_subnet(target.subnet_id).vpc_id:
        return "they are in different VPCs (no peering is modelled)"
    if not _admits(ec2, source.group_ids, port, set(), [], egress=True):
        return f"the source's security groups let nothing out on {port}"
    if not _admits(ec2, target.group_ids, port, set(source.group_ids), [source.private_cidr], egress=False):
        return f"the target's security groups do not admit the source's security groups or address on {port}"
    return None


def internet_reaches_host(ec2: Any, target: Interface, port: int) -> str | None:
    """Why the internet (INTERNET) cannot open a connection to a host's public IP on `port`, or None."""
    if not target.public_ip:
        return "it has no public IP"
    if not _to_internet_gateway(_default_route(_route_table(ec2, ec2.get_subnet(target.subnet_id)))):
        return "its subnet's route table has no 0.0.0.0/0 route to an internet gateway"
    if not _admits(ec2, target.group_ids, port, set(), [INTERNET], egress=False):
        return f"its security groups do not admit {INTERNET} on {port}"
    return None


def host_reaches_service(ec2: Any, source: Interface, service: str) -> str | None:
    """Why a host cannot reach an AWS service's endpoint (e.g. "secretsmanager"), or None."""
    return unreachable(ec2, source.subnet_id, list(source.group_ids), source.public_ip, service)


def host_reaches_internet(ec2: Any, source: Interface) -> bool:
    """Through its subnet's internet gateway route with a public IP, or a NAT gateway route."""
    route = _default_route(_route_table(ec2, ec2.get_subnet(source.subnet_id)))
    return _through_nat(route) or (_to_internet_gateway(route) and source.public_ip)


# --------------------------------------------------------------------------- a Lambda function's flows

def function_reaches_database(ec2: Any, vpc_config: dict[str, Any] | None, database: Any) -> str | None:
    """Why a function (its VpcConfig) cannot open a connection to an RDS instance, or None."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        if database.publicly_accessible:
            port = database_port(database)
            return None if _admits(ec2, database.vpc_security_group_ids, port, set(), ["0.0.0.0/0"], False) \
                else f"the DB's security groups do not admit the internet on {port}"
        return "the function is not attached to the VPC and the DB instance is not publicly accessible"
    subnets = [ec2.get_subnet(subnet_id) for subnet_id in vpc_config["SubnetIds"]]
    return _database_admits(ec2, database, subnets, list(vpc_config.get("SecurityGroupIds") or []),
                            [subnet.cidr_block for subnet in subnets], "the function")


def function_reaches_service(ec2: Any, vpc_config: dict[str, Any] | None, service: str) -> str | None:
    """Why a function cannot reach an AWS service's endpoint, or None (outside a VPC it can: Lambda
    gives it internet access; inside, its ENIs have no public IP)."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        return None
    reasons = [unreachable(ec2, subnet_id, list(vpc_config.get("SecurityGroupIds") or []), False, service)
               for subnet_id in vpc_config["SubnetIds"]]
    return None if any(reason is None for reason in reasons) else reasons[0]


def function_reaches_internet(ec2: Any, vpc_config: dict[str, Any] | None) -> bool:
    """Outside a VPC a function has internet access; inside, only through a NAT gateway route."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        return True
    return any(_through_nat(_default_route(_route_table(ec2, ec2.get_subnet(subnet_id))))
               for subnet_id in vpc_config["SubnetIds"])
