"""What a Lambda function may reach, and how its sandbox is wired for exactly that.

AWS (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC"): a
function attached to a VPC (VpcConfig) reaches what its subnets' routes and the security groups
allow, and the internet only through a NAT gateway (its ENIs get no public IP), AWS services through
their interface endpoints otherwise; a function outside any VPC reaches the internet and AWS's public
endpoints, but nothing private in a VPC. localaws/network/reachability.py decides each flow from the
deployed resources; here each environment gets its own network namespace in which an allowed flow
is forwarded and a refused one is a black hole (localaws/network/namespace_forwards.py): the database
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

from localaws.network import addresses
from localaws.network import reachability as network_paths
from localaws.network import endpoint_names
from localaws.network.host_wiring import add_internet, database_flows
from localaws.network.namespace_forwards import NamespaceForwards, Plan as Flows

log = logging.getLogger("localaws.network")


@dataclass
class Plan:
    hosts: str  # the environment's /etc/hosts
    flows: Flows = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why, for the local AWS's log

    def apply(self, pid: int) -> NamespaceForwards:
        wiring = NamespaceForwards(pid)
        try:
            wiring.apply(self.flows)
        except OSError:
            wiring.close()
            raise
        return wiring


def plan(function: LambdaFunction) -> Plan:
    ec2 = ec2_backends[function.account_id][function.region]
    vpc_config = getattr(function, "_vpc_config", None)
    # S3's names of CloudFormation's response bucket too: a function answering a custom resource reaches it
    # as it reaches S3.
    services = endpoint_names.plan(function.region,
                                   lambda service: network_paths.function_reaches_service(ec2, vpc_config, service),
                                   buckets=[endpoint_names.cloudformation_response_bucket(function.region)])
    databases, refused = database_flows(function.account_id, function.region,
                                        lambda database: network_paths.function_reaches_database(
                                            ec2, vpc_config, database))
    result = Plan(hosts="\n".join(["127.0.0.1\tlocalhost", *services.lines]) + "\n",
                  flows={**services.flows(), **databases}, refused=services.refused + refused)
    if network_paths.function_reaches_internet(ec2, vpc_config):
        add_internet(result.flows, addresses.internet_ports(),
                     lambda port: network_paths.function_reaches_internet(ec2, vpc_config, port))
    if result.refused:  # said in the local AWS's log: the first place to look when a rotation times out
        log.warning("function %s cannot reach: %s", describe(function), "; ".join(result.refused))
    return result


def describe(function: Any) -> str:
    network = ("VPC " + ",".join(function._vpc_config.get("SubnetIds", []))
               if getattr(function, "_vpc_config", None) else "no VPC")
    return f"{function.function_name} ({network})"
