"""localaws.functions.network: a function reaches what its VPC, routes, security groups and endpoints allow,
and a refused flow times out (the SYN goes unanswered), as in AWS."""
from __future__ import annotations

import pytest

from tests.support.aws_helpers import probe_connection as _probe
from tests.fidelity.validation import NOT_YET_VALIDATED


@pytest.mark.parametrize(("attached", "group", "expected"), [
    (True, "function", "connected"),
    (True, "endpoint", "timed out"),  # a group the database's does not admit
    (False, None, "timed out"),  # outside the VPC: the database is not publicly accessible
], ids=["admitted", "group-not-admitted", "outside-the-vpc"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_function_reaches_the_database_only_as_the_vpc_allows(aws, private_network, private_database,
                                                              attached, group, expected):
    """"Connect your function to a VPC to access resources in it"; the database's security group must admit
    the function's (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC").
    A flow that is not allowed is dropped, so the connection times out rather than being refused."""
    vpc_config = {"SubnetIds": private_network["subnets"],
                  "SecurityGroupIds": [private_network[group]]} if attached else None
    answer = _probe(aws, vpc_config, private_database["Address"], private_database["Port"])
    assert answer["outcome"] == expected, answer


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_function_in_a_vpc_reaches_only_services_with_an_endpoint(aws, private_network):
    """In a VPC without a NAT gateway a function reaches AWS services only through interface endpoints with
    private DNS: Secrets Manager (which has one here) answers, STS (which has none) times out."""
    vpc_config = {"SubnetIds": private_network["subnets"], "SecurityGroupIds": [private_network["function"]]}
    region = aws.region
    assert _probe(aws, vpc_config, f"secretsmanager.{region}.amazonaws.com", 443)["outcome"] == "connected"
    assert _probe(aws, vpc_config, f"sts.{region}.amazonaws.com", 443)["outcome"] == "timed out"
