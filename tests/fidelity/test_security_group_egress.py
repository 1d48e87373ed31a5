"""localaws.ext.cfn_security_group_egress and localaws.network.reachability: security groups let out what they
declare, to the destinations they name.

AWS, CloudFormation template reference, AWS::EC2::SecurityGroup: "When you create a security group, if you
do not add egress rules, we add egress rules that allow all outbound IPv4 and IPv6 traffic. Otherwise, we do
not add them"; AWS::EC2::SecurityGroupEgress "Adds the specified outbound (egress) rule to a security
group", to "the specified IPv4 or IPv6 address range, the IP addresses that are specified by a prefix list,
or the instances that are associated with a destination security group"; IpProtocol -1 is every protocol
and port. VPC user guide, "Security group rules": outbound rules control the traffic that leaves the
resource, by destination and port; a packet no rule lets out is dropped, so the connection times out.
"""
from __future__ import annotations

import dataclasses
import json
import time

import pytest

from suite.attendee.bastion import published_host_keys
from tests.support.ecs_world import create_world, execution_role, pull_statements
from tests.support.aws_helpers import probe_connection, unique
from tests.support.ec2_instances import (instance as _instance, security_group as _group,
                                         ssh_from_the_suite as _ssh_from_the_suite)
from tests.fidelity.validation import NOT_YET_VALIDATED

ALL_OUT = ("-1", None, None, "0.0.0.0/0")


def _stack(aws, template: dict, parameters: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    cloudformation = aws.client("cloudformation")
    name = unique("fid-egress")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Parameters=[
        {"ParameterKey": key, "ParameterValue": value} for key, value in (parameters or {}).items()])
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return name, {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _delete(aws, name: str) -> None:
    cloudformation = aws.client("cloudformation")
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 1})


def _egress(ec2, group_id: str) -> set[tuple]:
    """The group's outbound rules as (protocol, from, to, destination), as DescribeSecurityGroupRules lists them."""
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id",
                                                        "Values": [group_id]}])["SecurityGroupRules"]
    return {(r["IpProtocol"], r.get("FromPort") if r["IpProtocol"] != "-1" else None,
             r.get("ToPort") if r["IpProtocol"] != "-1" else None,
             r.get("CidrIpv4") or r.get("CidrIpv6") or r.get("PrefixListId") or r["ReferencedGroupInfo"]["GroupId"])
            for r in rules if r["IsEgress"]}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_declared_egress_replaces_the_default_and_egress_resources_add(aws):
    """A group declaring SecurityGroupEgress has exactly the declared rules (by destination group, address
    range): the default allow-all rule is not added; a group declaring none keeps it. An
    AWS::EC2::SecurityGroupEgress adds its rule to either (here to a prefix list, every protocol), its Ref is
    the rule's id, and deleting the stack takes the rules with it."""
    ec2 = aws.client("ec2")
    s3_list = next(p["PrefixListId"] for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
                   if p["PrefixListName"] == f"com.amazonaws.{aws.region}.s3")
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.70.0.0/16"}},
        "Database": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "db",
                                                                       "VpcId": {"Ref": "Vpc"}}},
        "Declared": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "declared", "VpcId": {"Ref": "Vpc"}, "SecurityGroupEgress": [
                {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
                 "DestinationSecurityGroupId": {"Ref": "Database"},
                 "Description": "MySQL to the database"},
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.70.0.0/16"}]}},
        "Added": {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Ref": "Declared"}, "IpProtocol": "-1", "DestinationPrefixListId": s3_list}},
        "Plain": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "plain",
                                                                    "VpcId": {"Ref": "Vpc"}}},
        "AddedToPlain": {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Ref": "Plain"}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "CidrIp": "10.70.0.0/16"}}},
        "Outputs": {key: {"Value": {"Ref": key}} for key in ("Database", "Declared", "Added", "Plain")}}
    name, outputs = _stack(aws, template)
    try:
        assert _egress(ec2, outputs["Declared"]) == {("tcp", 3306, 3306, outputs["Database"]),
                                                     ("tcp", 443, 443, "10.70.0.0/16"), ("-1", None, None, s3_list)}
        assert _egress(ec2, outputs["Plain"]) == {ALL_OUT, ("tcp", 443, 443, "10.70.0.0/16")}
        assert _egress(ec2, outputs["Database"]) == {ALL_OUT}
        added = ec2.describe_security_group_rules(SecurityGroupRuleIds=[outputs["Added"]])["SecurityGroupRules"]
        assert [(r["GroupId"], r["IsEgress"], r.get("PrefixListId")) for r in added] \
            == [(outputs["Declared"], True, s3_list)]
        [declared] = ec2.describe_security_groups(GroupIds=[outputs["Declared"]])["SecurityGroups"]
        assert {"Description": "MySQL to the database", "GroupId": outputs["Database"], "UserId": declared["OwnerId"]} \
            in [pair for permission in declared["IpPermissionsEgress"] for pair in permission["UserIdGroupPairs"]]
    finally:
        _delete(aws, name)
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-id",
                                                      "Values": list(outputs.values())}])["SecurityGroups"]


def _network(aws, private_network) -> tuple[str, str]:
    [subnet] = aws.client("ec2").describe_subnets(SubnetIds=private_network["subnets"][:1])["Subnets"]
    [vpc] = aws.client("ec2").describe_vpcs(VpcIds=[subnet["VpcId"]])["Vpcs"]
    return vpc["VpcId"], vpc["CidrBlock"]


@pytest.mark.parametrize("https_out", [False, True], ids=["database-only", "https-to-the-vpc"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_function_lets_out_only_what_its_template_declares(aws, private_network, private_database, https_out):
    """The rotation function's mistake, as a template makes it: a group whose SecurityGroupEgress lets it out
    only to the database's group on 3306 reaches the database but not the Secrets Manager interface endpoint
    (its HTTPS times out: every rotation fails in AWS), though the endpoint admits it; an
    AWS::EC2::SecurityGroupEgress adding 443 to the VPC's range (the endpoint's subnets) lets it reach it."""
    vpc, cidr = _network(aws, private_network)
    resources = {
        "FunctionGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "rotation function", "VpcId": vpc, "SecurityGroupEgress": [
                {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
                 "DestinationSecurityGroupId": private_network["database"]}]}},
        "DatabaseIngress": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": private_network["database"], "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
            "SourceSecurityGroupId": {"Ref": "FunctionGroup"}}},
        "EndpointIngress": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": private_network["endpoint"], "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "SourceSecurityGroupId": {"Ref": "FunctionGroup"}}}}
    if https_out:
        resources["HttpsOut"] = {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Ref": "FunctionGroup"}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": cidr}}
    name, outputs = _stack(aws, {"Resources": resources,
                                       "Outputs": {"FunctionGroup": {"Value": {"Ref": "FunctionGroup"}}}})
    try:
        vpc_config = {"SubnetIds": private_network["subnets"], "SecurityGroupIds": [outputs["FunctionGroup"]]}
        database = probe_connection(aws, vpc_config, private_database["Address"], private_database["Port"])
        assert database["outcome"] == "connected", database
        endpoint = probe_connection(aws, vpc_config, f"secretsmanager.{aws.region}.amazonaws.com", 443)
        assert endpoint["outcome"] == ("connected" if https_out else "timed out"), endpoint
    finally:
        _delete(aws, name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_function_egress_through_the_ec2_api(aws, private_network, private_database):
    """RevokeSecurityGroupEgress of the default rule and AuthorizeSecurityGroupEgress to the database's group
    on 3306: the function reaches the database, not the endpoint; a rule for 443 to an address range that
    does not hold the endpoint's subnets lets nothing more out; one to the VPC's range does, and revoking it
    shuts the endpoint out again."""
    ec2 = aws.client("ec2")
    vpc, cidr = _network(aws, private_network)
    group = ec2.create_security_group(GroupName=unique("fid-egress"), Description="function", VpcId=vpc)["GroupId"]
    for target, port in ((private_network["database"], 3306), (private_network["endpoint"], 443)):
        ec2.authorize_security_group_ingress(GroupId=target, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": group}]}])
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[{"IpProtocol": "-1",
                                                                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
        "UserIdGroupPairs": [{"GroupId": private_network["database"]}]}])
    vpc_config = {"SubnetIds": private_network["subnets"], "SecurityGroupIds": [group]}
    endpoint = f"secretsmanager.{aws.region}.amazonaws.com"

    def reaches_endpoint() -> str:
        return probe_connection(aws, vpc_config, endpoint, 443)["outcome"]

    assert probe_connection(aws, vpc_config, private_database["Address"], private_database["Port"])["outcome"] \
        == "connected"
    assert reaches_endpoint() == "timed out"
    elsewhere = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[elsewhere])
    assert reaches_endpoint() == "timed out"
    to_the_vpc = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": cidr}]}
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[to_the_vpc])
    assert reaches_endpoint() == "connected"
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[to_the_vpc])
    assert reaches_endpoint() == "timed out"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_bastion_reaches_a_host_only_as_its_egress_lets_it_out(aws, vpc, route):
    """The target's group admits the bastion's, but the bastion's group lets out only the database port to the
    target's group and SSH to an address range that does not hold the target: its SSH forwarding to the
    target goes unanswered; an outbound rule for 22 to the target's group opens it at once, and revoking it
    shuts it again."""
    ec2 = aws.client("ec2")
    key_name, bastion_route = route
    bastion_group = _group(ec2, vpc["vpc"], _ssh_from_the_suite(aws))
    target_group = _group(ec2, vpc["vpc"], {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                            "UserIdGroupPairs": [{"GroupId": bastion_group}]})
    ec2.revoke_security_group_egress(GroupId=bastion_group, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=bastion_group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "UserIdGroupPairs": [{"GroupId": target_group}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])
    ssh_out = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": target_group}]}
    bastion = _instance(aws, key_name, vpc["public"], bastion_group)
    target = _instance(aws, key_name, vpc["private"], target_group)
    try:
        bastion_route.attach(bastion["address"], published_host_keys(ec2, bastion["id"], timeout=10))
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="went unanswered"):
            bastion_route.socket_to(target["address"], 22, timeout=3)
        assert time.monotonic() - started >= 3
        ec2.authorize_security_group_egress(GroupId=bastion_group, IpPermissions=[ssh_out])
        channel = bastion_route.socket_to(target["address"], 22, timeout=10)
        try:
            assert channel.recv(8).startswith(b"SSH-")
        finally:
            channel.close()
        ec2.revoke_security_group_egress(GroupId=bastion_group, IpPermissions=[ssh_out])
        with pytest.raises(ConnectionError, match="went unanswered"):
            bastion_route.socket_to(target["address"], 22, timeout=3)
    finally:
        ec2.terminate_instances(InstanceIds=[bastion["id"], target["id"]])


@pytest.fixture(scope="module")
def world(aws):
    world = create_world(aws)
    yield world
    world.stop_all()


@pytest.mark.parametrize(("destination", "expected"), [
    ("10.77.0.0/16", "STOPPED"),  # the VPC's own range: AWS's public endpoints are not in it
    ("0.0.0.0/0", "RUNNING"),
], ids=["https-to-the-vpc-only", "https-to-the-internet"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_task_reaches_public_endpoints_only_as_its_egress_lets_it_out(aws, world, destination, expected):
    """A Fargate task with a public IP in a subnet routed to an internet gateway pulls its image from ECR's
    public endpoint (ECS developer guide, "Fargate task networking"): a group letting HTTPS out only to the
    VPC's range keeps it from ECR (the agent's pull times out: CannotPullContainerError), one letting it out to
    0.0.0.0/0 does not."""
    ec2 = aws.client("ec2")
    vpc = ec2.describe_subnets(SubnetIds=[world.subnet])["Subnets"][0]["VpcId"]
    group = ec2.create_security_group(GroupName=unique("fid-egress-task"), Description="task", VpcId=vpc)["GroupId"]
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[{"IpProtocol": "-1",
                                                                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": destination}]}])
    tasks = dataclasses.replace(world, security_group=group)  # the same cluster, image and clean-up list
    role = execution_role(aws, *pull_statements(world.repository_arn))
    task = tasks.wait_status(tasks.run(tasks.register(role))["taskArn"], "RUNNING", timeout=30)
    assert task["lastStatus"] == expected, task.get("stoppedReason")
    if expected == "STOPPED":
        assert task["stoppedReason"].startswith("CannotPullContainerError: ") and "i/o timeout" in task["stoppedReason"]
