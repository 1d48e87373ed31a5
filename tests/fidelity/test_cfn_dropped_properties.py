"""Properties CloudFormation gives and moto drops are applied: localaws.ext.cfn_dropped_properties.

AWS (CloudFormation template reference): AWS::EC2::InternetGateway, AWS::EC2::RouteTable,
AWS::EC2::VPCEndpoint, AWS::ECS::Cluster and AWS::Lambda::Function "Tags" tag the resource;
AWS::IAM::Role "ManagedPolicyArns" attaches those policies to the role; an ingress rule's
"Description" (AWS::EC2::SecurityGroup SecurityGroupIngress, AWS::EC2::SecurityGroupIngress) is the
rule's description. moto 5.2.5 drops all of them; the table of what the local AWS honours
(localaws/ext/modelled_properties.py) vouches for them because this module applies them.
"""
from __future__ import annotations

import json

import pytest

from localaws.not_modelled import recorded
from tests.support.aws_helpers import unique

pytestmark = pytest.mark.local_only(
    "also reads the local AWS's record of what it does not model, in its state directory")


def settings(local_aws, stack_name: str) -> list[str]:
    """What the stack's record says the local AWS does not model."""
    return [entry["setting"] for entry in recorded(local_aws.state_dir) if entry["stack"] == stack_name]


TAGS = [{"Key": "Project", "Value": "smproj"}]
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def tagged(local_aws) -> dict:
    """A stack whose internet gateway, route table, VPC endpoint, ECS cluster and Lambda function carry
    the template's tags, and whose role names a managed policy."""
    iam = local_aws.client("iam")
    policy = iam.create_policy(PolicyName=unique("fid-managed"), PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    name, cluster = unique("fid-dropped"), unique("fid-cluster")
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.91.0.0/16", "EnableDnsSupport": True,
                                                        "EnableDnsHostnames": True}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.91.1.0/24"}},
        "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": TAGS}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}, "Tags": TAGS}},
        "Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "ServiceName": f"com.amazonaws.{local_aws.region}.secretsmanager",
            "VpcEndpointType": "Interface", "SubnetIds": [{"Ref": "Subnet"}], "Tags": TAGS}},
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": cluster, "Tags": TAGS}},
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "g", "VpcId": {"Ref": "Vpc"}, "SecurityGroupIngress": [
                {"Description": "HTTPS from inside the VPC", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "CidrIp": "10.91.0.0/16"}]}},
        "SelfIngress": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": {"Ref": "Group"}, "Description": "MySQL between members", "IpProtocol": "tcp",
            "FromPort": 3306, "ToPort": 3306, "SourceSecurityGroupId": {"Ref": "Group"}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST,
                                                          "ManagedPolicyArns": [policy["Policy"]["Arn"]]}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return None\n"}, "Tags": TAGS}},
    }, "Outputs": {key: {"Value": {"Ref": key}}
                   for key in ("Gateway", "Routes", "Endpoint", "Role", "Function", "Group")}}
    cloudformation = local_aws.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name,
                                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])}
    yield {"name": name, "cluster": cluster, "policy": policy["Policy"]["Arn"], **outputs}
    cloudformation.delete_stack(StackName=name)


def _has_project(tags: list[dict]) -> bool:
    return any(tag.get("Key", tag.get("key")) == "Project" and tag.get("Value", tag.get("value")) == "smproj"
               for tag in tags or [])


def test_the_template_tags_reach_what_moto_left_untagged(local_aws, tagged):
    ec2 = local_aws.client("ec2")
    assert _has_project(ec2.describe_internet_gateways(InternetGatewayIds=[tagged["Gateway"]])
                        ["InternetGateways"][0].get("Tags"))
    assert _has_project(ec2.describe_route_tables(RouteTableIds=[tagged["Routes"]])["RouteTables"][0].get("Tags"))
    assert _has_project(ec2.describe_vpc_endpoints(VpcEndpointIds=[tagged["Endpoint"]])["VpcEndpoints"][0].get("Tags"))
    assert _has_project(local_aws.client("ecs").describe_clusters(clusters=[tagged["cluster"]], include=["TAGS"])
                        ["clusters"][0].get("tags"))
    function = local_aws.client("lambda").get_function(FunctionName=tagged["Function"])
    assert function.get("Tags", {}).get("Project") == "smproj"
    assert not [s for s in settings(local_aws, tagged["name"]) if s.endswith(".Tags")]


def test_a_role_has_its_managed_policies_attached(local_aws, tagged):
    attached = local_aws.client("iam").list_attached_role_policies(RoleName=tagged["Role"])["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [tagged["policy"]]
    assert "AWS::IAM::Role.ManagedPolicyArns" not in settings(local_aws, tagged["name"])


def test_ingress_rules_keep_their_descriptions(local_aws, tagged):
    group = local_aws.client("ec2").describe_security_groups(GroupIds=[tagged["Group"]])["SecurityGroups"][0]
    by_port = {rule["FromPort"]: rule for rule in group["IpPermissions"]}
    assert by_port[443]["IpRanges"] == [{"CidrIp": "10.91.0.0/16", "Description": "HTTPS from inside the VPC"}]
    assert [pair.get("Description") for pair in by_port[3306]["UserIdGroupPairs"]] == ["MySQL between members"]
    assert not [s for s in settings(local_aws, tagged["name"]) if s.endswith(".Description")]
