"""Whether a network interface in a VPC can reach an AWS service, from the deployed resources.

AWS (Amazon ECS developer guide, "Fargate task networking"; VPC user guide, "Access AWS services
through AWS PrivateLink"): a task reaches a service's public endpoint through its subnet's route
table, by a 0.0.0.0/0 route to an internet gateway when the task has a public IP, or to a NAT
gateway; or, without either, through an interface VPC endpoint for that service in its VPC with
private DNS on, whose security groups admit HTTPS (443) from the task (by the task's security
group or an address range holding its subnet) while the task's own groups let 443 out.
The answer is a sentence saying why not, or None.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Iterable


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


def unreachable(ec2: Any, subnet_id: str, group_ids: list[str], public_ip: bool, service: str) -> str | None:
    """Why an interface in `subnet_id` with `group_ids` cannot reach `service` (e.g.
    "secretsmanager", "ecr.api"), or None when it can."""
    subnet = ec2.get_subnet(subnet_id)
    route = _default_route(_route_table(ec2, subnet))
    gateway = getattr(route, "gateway", None) if route else None
    if _through_nat(route):
        return None
    if gateway is not None and str(getattr(gateway, "id", "")).startswith("igw-") and public_ip:
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


# --------------------------------------------------------------------------- a Lambda function's flows

def function_reaches_database(ec2: Any, vpc_config: dict[str, Any] | None, database: Any) -> str | None:
    """Why a function (its VpcConfig) cannot open a connection to an RDS instance, or None."""
    port = int(database.__dict__.get("_modelled_port") or database.port)  # the port its security groups name
    group = getattr(database, "db_subnet_group", None)
    db_vpc = getattr(group, "vpc_id", None)
    if not vpc_config or not vpc_config.get("SubnetIds"):
        if database.publicly_accessible:
            return None if _admits(ec2, database.vpc_security_group_ids, port, set(), ["0.0.0.0/0"], False) \
                else f"the DB's security groups do not admit the internet on {port}"
        return "the function is not attached to the VPC and the DB instance is not publicly accessible"
    subnets = [ec2.get_subnet(subnet_id) for subnet_id in vpc_config["SubnetIds"]]
    if db_vpc and all(subnet.vpc_id != db_vpc for subnet in subnets):
        return "the function's subnets are in another VPC than the DB instance"
    groups = list(vpc_config.get("SecurityGroupIds") or [])
    if not _admits(ec2, groups, port, set(), [], egress=True):
        return f"the function's security groups let nothing out on {port}"
    if not _admits(ec2, database.vpc_security_group_ids, port, set(groups),
                        [subnet.cidr_block for subnet in subnets], egress=False):
        return f"the DB's security groups do not admit the function's security groups or subnets on {port}"
    return None


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
