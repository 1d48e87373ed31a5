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
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends

from localaws import addresses, network_paths, service_hosts
from localaws.namespace_forwards import NamespaceForwards
from localaws.service_hosts import INSIDE_BLACK_HOLE, INSIDE_ENDPOINT

log = logging.getLogger("localaws.network")


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
    services = service_hosts.plan(function.region,
                                  lambda service: network_paths.function_reaches_service(ec2, vpc_config, service))
    result = Plan(hosts="\n".join(["127.0.0.1\tlocalhost", *services.lines]) + "\n", refused=services.refused)
    result.forwards.append((INSIDE_ENDPOINT, 443, services.endpoint))
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
    if network_paths.function_reaches_internet(ec2, vpc_config):
        for port in addresses.internet_ports():
            if ("127.0.0.1", port) not in planned:
                result.forwards.append(("127.0.0.1", port, ("127.0.0.1", port)))
    if result.refused:  # said in the local AWS's log: the first place to look when a rotation times out
        log.warning("function %s cannot reach: %s", describe(function), "; ".join(result.refused))
    return result


def describe(function: Any) -> str:
    return f"{function.function_name} ({'VPC ' + ','.join(function._vpc_config.get('SubnetIds', [])) if getattr(function, '_vpc_config', None) else 'no VPC'})"
