"""localaws.ext.cfn_ecs: CloudFormation creates task definitions and VPCs with every property the template gives."""
from __future__ import annotations

import copy
import json

import pytest

from tests.support.ecs_world import ECS_TASKS_TRUST
from tests.support.aws_helpers import await_stack, unique, wait_for
from tests.fidelity.validation import NOT_YET_VALIDATED

TAGS = [{"Key": "Project", "Value": "smproj"}]


def _template(family: str, memory: str = "512") -> dict:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ECS_TASKS_TRUST}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "ExecutionRole": role,
            "TaskRole": copy.deepcopy(role),
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": family, "RequiresCompatibilities": ["FARGATE"], "NetworkMode": "awsvpc",
                    "Cpu": "256", "Memory": memory, "Tags": TAGS,
                    "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                    "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},
                    "ContainerDefinitions": [{
                        "Name": "app", "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fid:latest",
                        "Essential": True, "Memory": 512,
                        "Environment": [{"Name": "PLAIN", "Value": "plain-value"}],
                        "Secrets": [{"Name": "TASKDEF_SECRET",
                                     "ValueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:fid-AbCdEf"}],
                    }],
                },
            },
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.78.0.0/16", "EnableDnsSupport": True,
                                                           "EnableDnsHostnames": True}},
            "VpcWithoutDns": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.79.0.0/16",
                                                                     "EnableDnsSupport": "false"}},
            "Subnet": {"Type": "AWS::EC2::Subnet",
                       "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.78.1.0/24"}},
            "SecurityGroup": {"Type": "AWS::EC2::SecurityGroup",
                              "Properties": {"GroupDescription": "fidelity", "VpcId": {"Ref": "Vpc"}}},
        },
        "Outputs": {
            "TaskDefinitionArn": {"Value": {"Ref": "TaskDefinition"}},
            "ExecutionRoleArn": {"Value": {"Fn::GetAtt": ["ExecutionRole", "Arn"]}},
            "TaskRoleArn": {"Value": {"Fn::GetAtt": ["TaskRole", "Arn"]}},
            "VpcId": {"Value": {"Ref": "Vpc"}},
            "VpcWithoutDnsId": {"Value": {"Ref": "VpcWithoutDns"}},
            "SubnetId": {"Value": {"Ref": "Subnet"}},
            "SecurityGroupId": {"Value": {"Ref": "SecurityGroup"}},
        },
    }


def _outputs(cfn, stack: str) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}


@pytest.fixture(scope="module")
def stack(aws):
    cfn = aws.client("cloudformation")
    name, family = unique("fid-ecs-stack"), unique("fid-family")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(_template(family)), Capabilities=["CAPABILITY_IAM"])
    await_stack(aws, name, "create", timeout=30)
    yield {"name": name, "family": family, **_outputs(cfn, name)}
    cfn.delete_stack(StackName=name)


def _described(aws, task_definition: str) -> dict:
    return aws.client("ecs").describe_task_definition(taskDefinition=task_definition, include=["TAGS"])


def _assert_fargate_properties(definition: dict, stack: dict) -> None:
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["networkMode"] == "awsvpc"
    assert definition["cpu"] == "256"
    assert definition["executionRoleArn"] == stack["ExecutionRoleArn"]
    assert definition["taskRoleArn"] == stack["TaskRoleArn"]
    container = definition["containerDefinitions"][0]
    assert container["secrets"] == [{"name": "TASKDEF_SECRET",
                                     "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:fid-AbCdEf"}]
    assert container["environment"] == [{"name": "PLAIN", "value": "plain-value"}]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_task_definition_keeps_compatibilities_network_mode_size_and_roles(aws, stack):
    """AWS::ECS::TaskDefinition: RequiresCompatibilities, NetworkMode, Cpu, Memory, ExecutionRoleArn,
    TaskRoleArn and Tags are all part of the registered revision (DescribeTaskDefinition shows them)."""
    described = _described(aws, stack["TaskDefinitionArn"])
    definition = described["taskDefinition"]
    _assert_fargate_properties(definition, stack)
    assert definition["memory"] == "512"
    tags = {tag["key"]: tag["value"] for tag in described["tags"]}
    assert tags["Project"] == "smproj"  # the template's, and the stack's propagated ones beside it
    assert tags["aws:cloudformation:logical-id"] == "TaskDefinition"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_updated_task_definition_is_a_new_revision_with_every_property(aws, stack):
    """A changed AWS::ECS::TaskDefinition is replaced: a new revision of the family that keeps the template's
    properties, while the old revision becomes INACTIVE."""
    cfn = aws.client("cloudformation")
    cfn.update_stack(StackName=stack["name"], TemplateBody=json.dumps(_template(stack["family"], memory="1024")),
                     Capabilities=["CAPABILITY_IAM"])
    await_stack(aws, stack["name"], "update", timeout=30)
    new_arn = _outputs(cfn, stack["name"])["TaskDefinitionArn"]
    assert new_arn != stack["TaskDefinitionArn"]
    definition = _described(aws, new_arn)["taskDefinition"]
    _assert_fargate_properties(definition, stack)
    assert definition["memory"] == "1024"
    assert definition["family"] == stack["family"]
    assert _described(aws, stack["TaskDefinitionArn"])["taskDefinition"]["status"] == "INACTIVE"


@pytest.mark.parametrize("vpc, expected", [("VpcId", (True, True)), ("VpcWithoutDnsId", (False, False))])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_vpc_applies_enable_dns_support_and_hostnames(aws, stack, vpc, expected):
    """AWS::EC2::VPC EnableDnsSupport / EnableDnsHostnames set the VPC's attributes (DescribeVpcAttribute);
    DNS hostnames are off by default in a new VPC, DNS support on."""
    ec2 = aws.client("ec2")
    support = ec2.describe_vpc_attribute(VpcId=stack[vpc], Attribute="enableDnsSupport")["EnableDnsSupport"]
    hostnames = ec2.describe_vpc_attribute(VpcId=stack[vpc], Attribute="enableDnsHostnames")["EnableDnsHostnames"]
    assert (support["Value"], hostnames["Value"]) == expected


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_fargate_task_is_accepted_in_the_stacks_vpc(aws, stack):
    """RunTask of the stack's Fargate task definition in the stack's subnet (awsvpc) is accepted: the task gets
    an ENI in that subnet (moto fails it when the VPC's DNS hostnames are off)."""
    ecs = aws.client("ecs")
    cluster = ecs.create_cluster(clusterName=unique("fid-cfn-cluster"))["cluster"]["clusterName"]
    response = ecs.run_task(cluster=cluster, taskDefinition=stack["TaskDefinitionArn"], launchType="FARGATE",
                            networkConfiguration={"awsvpcConfiguration": {
                                "subnets": [stack["SubnetId"]], "securityGroups": [stack["SecurityGroupId"]]}})
    assert not response["failures"]
    task = response["tasks"][0]
    details = {d["name"]: d["value"] for a in task["attachments"] for d in a["details"]}
    assert details["subnetId"] == stack["SubnetId"]
    # Its execution role may read no secret: it stops by itself, before any container starts.
    wait_for(lambda: ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]])["tasks"][0]["lastStatus"]
             == "STOPPED", timeout=20, what="the task to stop")
