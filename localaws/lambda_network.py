"""What a Lambda function may reach, and how its sandbox is wired for exactly that.

AWS (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC"): a
function attached to a VPC (VpcConfig) reaches what its subnets' routes and the security groups
allow, and the internet only through a NAT gateway (its ENIs get no public IP), AWS services through
their interface endpoints otherwise; a function outside any VPC reaches the internet and AWS's public
endpoints, but nothing private in a VPC. localaws/network_paths.py decides each flow from the
deployed resources; here each environment gets its own network namespace in which an allowed flow
is forwarded and a refused one is a black hole (localaws/namespace_forwards.py): the database
connection or the HTTPS call times out, as it does in AWS. "The internet" is whatever else listens
on this machine's 127.0.0.1 (a database a test runs outside AWS, say): a function with internet
access reaches it, one without does not.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import psutil
from moto.awslambda.models import LambdaFunction
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends

from localaws import endpoints, network_paths
from localaws.namespace_forwards import NamespaceForwards

log = logging.getLogger("localaws.network")
INSIDE_ENDPOINT = "127.0.0.2"  # inside the namespace: the AWS endpoints the function may reach
INSIDE_BLACK_HOLE = "127.0.0.3"  # inside the namespace: the ones it may not


@dataclass
class Plan:
    hosts: str
    forwards: list[tuple[str, int, tuple[str, int]]] = field(default_factory=list)
    holes: list[tuple[str, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why, for the local AWS's log

    def apply(self, pid: int) -> NamespaceForwards:
        wiring = NamespaceForwards(pid)
        for address, port, target in self.forwards:
            wiring.forward(address, port, target)
        for address, port in self.holes:
            wiring.black_hole(address, port)
        return wiring


def plan(function: LambdaFunction) -> Plan:
    ec2 = ec2_backends[function.account_id][function.region]
    vpc_config = getattr(function, "_vpc_config", None)
    endpoint = endpoints.for_region(function.region)
    lines = ["127.0.0.1\tlocalhost"]
    result = Plan(hosts="")
    for name in endpoint.names():
        service = name.split(".", 1)[0]
        why = network_paths.function_reaches_service(ec2, vpc_config, service)
        lines.append(f"{INSIDE_BLACK_HOLE if why else INSIDE_ENDPOINT}\t{name}")
        if why:
            result.refused.append(f"{name}: {why}")
    result.hosts = "\n".join(lines) + "\n"
    result.forwards.append((INSIDE_ENDPOINT, 443, (endpoint.address, 443)))
    result.holes.append((INSIDE_BLACK_HOLE, 443))
    for database in rds_backends[function.account_id][function.region].databases.values():
        server = database.__dict__.get("_local_server")
        if server is None:
            continue
        why = network_paths.function_reaches_database(ec2, vpc_config, database)
        if why:
            result.holes.append((server.host, server.port))
            result.refused.append(f"{database.db_instance_identifier}: {why}")
        else:
            result.forwards.append((server.host, server.port, (server.host, server.port)))
    planned = {(address, port) for address, port, _ in result.forwards} | set(result.holes)
    own_port = int(os.environ.get("LOCALAWS_ENDPOINT", "http://127.0.0.1:0").rsplit(":", 1)[1])
    if network_paths.function_reaches_internet(ec2, vpc_config):
        for port in _listening_on_loopback():
            if ("127.0.0.1", port) not in planned and port != own_port:
                result.forwards.append(("127.0.0.1", port, ("127.0.0.1", port)))
    if result.refused:  # said in the local AWS's log: the first place to look when a rotation times out
        log.warning("function %s cannot reach: %s", describe(function), "; ".join(result.refused))
    return result


def _listening_on_loopback() -> set[int]:
    return {conn.laddr.port for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.ip in ("127.0.0.1", "0.0.0.0")}


def describe(function: Any) -> str:
    return f"{function.function_name} ({'VPC ' + ','.join(function._vpc_config.get('SubnetIds', [])) if getattr(function, '_vpc_config', None) else 'no VPC'})"
