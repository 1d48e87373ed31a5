"""Resource types a workshop of this kind uses deploy and read back as AWS's, and CloudFormation reports them
as AWS does: localaws.ext.cfn_vpc_endpoints, cfn_resource_events, cfn_resource_types, cfn_sub_attributes."""
from __future__ import annotations

import json
import re

import pytest

from tests.support.aws_helpers import await_stack, unique
from tests.fidelity.validation import NOT_YET_VALIDATED



def _template(region: str, log_group: str, parameter: str, alias: str) -> dict:
    vpc = {"Ref": "Vpc"}
    return {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.81.0.0/16", "EnableDnsSupport": True,
                                                        "EnableDnsHostnames": True}},
        "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": vpc, "CidrBlock": "10.81.1.0/24",
                                                               "AvailabilityZone": f"{region}a"}},
        "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": vpc, "CidrBlock": "10.81.2.0/24",
                                                               "AvailabilityZone": f"{region}b"}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}},
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "endpoints", "VpcId": vpc}},
        "SsmEndpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": vpc, "VpcEndpointType": "Interface", "ServiceName": f"com.amazonaws.{region}.ssm",
            "PrivateDnsEnabled": True, "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            "SecurityGroupIds": [{"Ref": "Group"}]}},
        "S3Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": vpc, "VpcEndpointType": "Gateway", "ServiceName": f"com.amazonaws.{region}.s3",
            "RouteTableIds": [{"Ref": "Routes"}]}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": log_group, "RetentionInDays": 14}},
        "Setting": {"Type": "AWS::SSM::Parameter", "Metadata": {"Purpose": "workshop"},
                    "Properties": {"Name": parameter, "Type": "String", "Value": "configured"}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Alias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": "Key"}}},
        "Images": {"Type": "AWS::ECR::Repository", "Properties": {}}},
        "Outputs": {
            "EndpointId": {"Value": {"Fn::GetAtt": ["SsmEndpoint", "Id"]}},
            "Dns": {"Value": {"Fn::Join": [",", {"Fn::GetAtt": ["SsmEndpoint", "DnsEntries"]}]}},
            "Interfaces": {"Value": {"Fn::Join": [",", {"Fn::GetAtt": ["SsmEndpoint", "NetworkInterfaceIds"]}]}},
            "LogArn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}},
            "ParameterType": {"Value": {"Fn::GetAtt": ["Setting", "Type"]}},
            "ParameterValue": {"Value": {"Fn::GetAtt": ["Setting", "Value"]}}}}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_endpoints_logs_parameters_aliases_and_repositories_deploy_and_read_back(aws):
    """Interface and gateway VPC endpoints (VPC API reference, VpcEndpoint; PrivateLink guide, "DNS hostnames";
    template reference AWS::EC2::VPCEndpoint: Fn::GetAtt Id, DnsEntries "HOSTEDZONEID:DNSNAME",
    NetworkInterfaceIds; a gateway endpoint adds a route to the service's prefix list in each route table),
    a log group with RetentionInDays (Fn::GetAtt Arn ends in ":*"), an SSM parameter (Fn::GetAtt Type,
    Value), a KMS alias, an ECR repository CloudFormation names (lower case, as ECR requires)."""
    region = aws.region
    cloudformation = aws.client("cloudformation")
    name = unique("fid-workshop-types")
    log_group, parameter, alias = f"/{name}/logs", f"/{name}/setting", f"alias/{name}"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(_template(region, log_group, parameter, alias)))
    await_stack(aws, name, "create")
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]}
    ec2 = aws.client("ec2")

    [interface] = ec2.describe_vpc_endpoints(VpcEndpointIds=[physical["SsmEndpoint"]])["VpcEndpoints"]
    assert outputs["EndpointId"] == interface["VpcEndpointId"]
    assert interface["VpcEndpointType"] == "Interface" and interface["PrivateDnsEnabled"] is True
    assert sorted(interface["SubnetIds"]) == sorted([physical["SubnetA"], physical["SubnetB"]])
    assert len(interface["NetworkInterfaceIds"]) == 2
    assert outputs["Interfaces"] == ",".join(interface["NetworkInterfaceIds"])
    names = [entry["DnsName"] for entry in interface["DnsEntries"]]
    stem = re.escape(interface["VpcEndpointId"]) + "-[a-z0-9]{8}"
    assert re.fullmatch(stem + rf"\.ssm\.{region}\.vpce\.amazonaws\.com", names[0])
    assert [re.fullmatch(stem + rf"-({region}[ab])\.ssm\.{region}\.vpce\.amazonaws\.com", n).group(1)
            for n in names[1:3]] == [f"{region}a", f"{region}b"]
    assert names[3] == f"ssm.{region}.amazonaws.com"
    assert outputs["Dns"] == ",".join(f"{e['HostedZoneId']}:{e['DnsName']}" for e in interface["DnsEntries"])

    [gateway] = ec2.describe_vpc_endpoints(VpcEndpointIds=[physical["S3Endpoint"]])["VpcEndpoints"]
    assert gateway["VpcEndpointType"] == "Gateway" and gateway["RouteTableIds"] == [physical["Routes"]]
    assert gateway["DnsEntries"] == [] and gateway["NetworkInterfaceIds"] == []
    [s3_list] = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name",
                                                    "Values": [f"com.amazonaws.{region}.s3"]}])["PrefixLists"]
    [table] = ec2.describe_route_tables(RouteTableIds=[physical["Routes"]])["RouteTables"]
    assert {"DestinationPrefixListId": s3_list["PrefixListId"], "GatewayId": gateway["VpcEndpointId"]}.items() <= \
        next(r for r in table["Routes"] if r.get("DestinationPrefixListId")).items()

    [group] = [g for g in aws.client("logs").describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
               if g["logGroupName"] == log_group]
    assert group["retentionInDays"] == 14 and outputs["LogArn"] == group["logGroupArn"] + ":*"
    assert aws.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"] == "configured"
    assert (outputs["ParameterType"], outputs["ParameterValue"]) == ("String", "configured")
    assert [a["TargetKeyId"] for a in aws.client("kms").list_aliases()["Aliases"] if a["AliasName"] == alias] == [
        physical["Key"]]
    repository = physical["Images"]
    assert repository == repository.lower() and repository.startswith(f"{name}-images-")
    aws.client("ecr").describe_repositories(repositoryNames=[repository])

    cloudformation.delete_stack(StackName=name)
    remaining = [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
                 if e["VpcEndpointId"] in (physical["SsmEndpoint"], physical["S3Endpoint"])]
    assert remaining == []


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_each_resource_reports_its_progress_and_its_own_times(aws):
    """DescribeStackEvents lists each resource's CREATE_IN_PROGRESS, CREATE_IN_PROGRESS "Resource creation
    Initiated" (with its physical id) and CREATE_COMPLETE, a resource only after what it depends on is complete
    (user guide, "Monitor stack progress"); DescribeStackResource answers LastUpdatedTimestamp (required in
    StackResourceDetail) and the template's Metadata as JSON; ListStackResources the same LastUpdatedTimestamp."""
    cloudformation = aws.client("cloudformation")
    name = unique("fid-events")
    template = {"Resources": {
        "First": {"Type": "AWS::SSM::Parameter", "Metadata": {"Purpose": "workshop"},
                  "Properties": {"Type": "String", "Value": "one"}},
        "Second": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Ref": "First"}}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    await_stack(aws, name, "create")
    events = list(reversed(cloudformation.describe_stack_events(StackName=name)["StackEvents"]))  # oldest first
    steps = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events]
    assert steps == [
        (name, "CREATE_IN_PROGRESS", "User Initiated"),
        ("First", "CREATE_IN_PROGRESS", None), ("First", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("First", "CREATE_COMPLETE", None),
        ("Second", "CREATE_IN_PROGRESS", None), ("Second", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("Second", "CREATE_COMPLETE", None),
        (name, "CREATE_COMPLETE", None)]
    initiated = next(e for e in events if e.get("ResourceStatusReason") == "Resource creation Initiated")
    detail = cloudformation.describe_stack_resource(StackName=name, LogicalResourceId="First")["StackResourceDetail"]
    assert initiated["PhysicalResourceId"] == detail["PhysicalResourceId"]
    completed = next(e for e in events
                     if e["LogicalResourceId"] == "First" and e["ResourceStatus"] == "CREATE_COMPLETE")
    assert detail["LastUpdatedTimestamp"] == completed["Timestamp"]
    assert json.loads(detail["Metadata"]) == {"Purpose": "workshop"}
    summaries = {s["LogicalResourceId"]: s for s in
                 cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    assert summaries["First"]["LastUpdatedTimestamp"] == completed["Timestamp"]
    cloudformation.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_fn_sub_takes_an_attribute_whose_name_has_dots(aws):
    """Fn::Sub "${Database.Endpoint.Address}" is Fn::GetAtt [Database, Endpoint.Address] (template reference,
    Fn::Sub: ${MyResource.MyAttribute}); the original workshop's bastion user data uses it."""
    cloudformation = aws.client("cloudformation")
    name = unique("fid-sub")
    template = {"Resources": {
        "Database": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "mysql", "EngineVersion": "8.0.46", "DBInstanceClass": "db.t3.micro", "AllocatedStorage": "20",
            "MasterUsername": "admin", "MasterUserPassword": "Fn-Sub-Passw0rd-1", "BackupRetentionPeriod": 0}},
        "Address": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": {"Fn::Sub": "${Database.Endpoint.Address}:${Database.Endpoint.Port}"}}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    await_stack(aws, name, "create")
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]}
    [database] = aws.client("rds").describe_db_instances(DBInstanceIdentifier=physical["Database"])["DBInstances"]
    value = aws.client("ssm").get_parameter(Name=physical["Address"])["Parameter"]["Value"]
    assert value == f"{database['Endpoint']['Address']}:{database['Endpoint']['Port']}"
    cloudformation.delete_stack(StackName=name)
