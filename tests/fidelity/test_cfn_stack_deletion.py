"""localaws.ext.cfn_stack_deletion: DeleteStack removes a network stack completely, in dependency
order; what cannot go makes the stack DELETE_FAILED with the resource's reason, and it stays.

AWS: CloudFormation user guide, "Delete a stack from the CloudFormation console" and "Stack
status codes" (DELETE_FAILED: "the stack remains ... with the resources that could not be
deleted"); DeleteStack API reference ("returns ... immediately"; deleting a stack that does
not exist succeeds); AWS::ECR::Repository EmptyOnDelete.
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.support.aws_helpers import await_stack, amazon_linux_image, unique
from tests.fidelity.validation import NOT_YET_VALIDATED



def _network(cidr: str, image: str) -> dict:
    """A VPC as the workshop makes one: subnet, internet route, an interface endpoint, an instance."""
    vpc = {"Ref": "Vpc"}
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": f"{cidr}.0.0/16", "EnableDnsSupport": True,
                                                       "EnableDnsHostnames": True}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": vpc, "CidrBlock": f"{cidr}.1.0/24"}},
        "Gateway": {"Type": "AWS::EC2::InternetGateway"},
        "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment",
                       "Properties": {"VpcId": vpc, "InternetGatewayId": {"Ref": "Gateway"}}},
        "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}},
        "DefaultRoute": {"Type": "AWS::EC2::Route", "DependsOn": "Attachment",
                         "Properties": {"RouteTableId": {"Ref": "Table"}, "DestinationCidrBlock": "0.0.0.0/0",
                                        "GatewayId": {"Ref": "Gateway"}}},
        "Association": {"Type": "AWS::EC2::SubnetRouteTableAssociation",
                        "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}}},
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "fid", "VpcId": vpc}},
        "Endpoint": {"Type": "AWS::EC2::VPCEndpoint",
                     "Properties": {"VpcId": vpc,
                                    "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"},
                                    "VpcEndpointType": "Interface", "SubnetIds": [{"Ref": "Subnet"}],
                                    "SecurityGroupIds": [{"Ref": "Group"}]}},
        "Instance": {"Type": "AWS::EC2::Instance",
                     "Properties": {"ImageId": image, "InstanceType": "t3.micro",
                                    "SubnetId": {"Ref": "Subnet"}, "SecurityGroupIds": [{"Ref": "Group"}]}},
    }


def _stack(aws, resources: dict) -> tuple[str, dict[str, str]]:
    name = unique("fid-delete")
    cfn = aws.client("cloudformation")
    template = {"Resources": resources, "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}}} if "Vpc" in resources else {}}
    if not template["Outputs"]:
        template.pop("Outputs")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    await_stack(aws, name, "create", timeout=20)
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])}
    return name, outputs


def _in_vpc(ec2, vpc_id: str) -> dict[str, list[str]]:
    """What of the VPC is still there, by kind."""
    by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=by_vpc)["Subnets"]],
        "interfaces": [n["NetworkInterfaceId"]
                       for n in ec2.describe_network_interfaces(Filters=by_vpc)["NetworkInterfaces"]],
        "endpoints": [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=by_vpc)["VpcEndpoints"]],
        "route tables": [t["RouteTableId"] for t in ec2.describe_route_tables(Filters=by_vpc)["RouteTables"]
                         if not any(a.get("Main") for a in t.get("Associations", []))],
        "gateways": [g["InternetGatewayId"] for g in ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]],
        "running instances": [i["InstanceId"] for r in ec2.describe_instances(Filters=by_vpc)["Reservations"]
                              for i in r["Instances"] if i["State"]["Name"] != "terminated"],
    }


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_network_stack_goes_completely(aws):
    name, outputs = _stack(aws, _network("10.91", amazon_linux_image(aws)))
    cfn, ec2 = aws.client("cloudformation"), aws.client("ec2")
    gateways = [g["InternetGatewayId"] for g in ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [outputs["VpcId"]]}])["InternetGateways"]]
    cfn.delete_stack(StackName=name)
    await_stack(aws, name, "delete", timeout=20)
    assert _in_vpc(ec2, outputs["VpcId"]) == {kind: [] for kind in _in_vpc(ec2, "vpc-none")}
    assert not [g for g in ec2.describe_internet_gateways()["InternetGateways"] if g["InternetGatewayId"] in gateways]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_what_cannot_be_deleted_fails_the_stack_and_the_stack_stays(aws):
    name, outputs = _stack(aws, _network("10.92", amazon_linux_image(aws)))
    cfn, ec2 = aws.client("cloudformation"), aws.client("ec2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}])["Subnets"][0]["SubnetId"]
    stray = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]  # not the stack's

    cfn.delete_stack(StackName=name)  # answers at once, no DependencyViolation
    with pytest.raises(WaiterError, match="DELETE_FAILED"):
        await_stack(aws, name, "delete", timeout=20)
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    failed = {e["LogicalResourceId"]: e.get("ResourceStatusReason", "") for e in events
              if e["ResourceStatus"] == "DELETE_FAILED"}
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert "Subnet" in failed and "has dependencies" in failed["Subnet"], failed
    assert failed[name] == "The following resource(s) failed to delete: [Subnet]. ", failed
    assert _in_vpc(ec2, outputs["VpcId"])["vpcs"], "the VPC stays while its subnet does (it is not tried)"
    assert "Endpoint" not in failed and "Instance" not in failed  # the rest went, dependents first

    ec2.delete_network_interface(NetworkInterfaceId=stray)
    cfn.delete_stack(StackName=name)  # deleting again finishes the job
    await_stack(aws, name, "delete", timeout=20)
    assert _in_vpc(ec2, outputs["VpcId"])["vpcs"] == []


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_deleting_a_stack_that_is_not_there_succeeds(aws):
    aws.client("cloudformation").delete_stack(StackName=unique("never-made"))


@pytest.mark.parametrize("empty_on_delete, status", [(True, "DELETE_COMPLETE"), (False, "DELETE_FAILED")])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_repository_with_images_goes_only_with_empty_on_delete(aws, empty_on_delete, status):
    repository = unique("fid-repo")
    properties = {"RepositoryName": repository, **({"EmptyOnDelete": True} if empty_on_delete else {})}
    name, _ = _stack(aws, {"Repo": {"Type": "AWS::ECR::Repository", "Properties": properties}})
    ecr, cfn = aws.client("ecr"), aws.client("cloudformation")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                                      "digest": "sha256:" + "0" * 64}, "layers": []})
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag="latest")
    cfn.delete_stack(StackName=name)
    try:
        await_stack(aws, name, "delete", timeout=20)
        found = "DELETE_COMPLETE"
    except WaiterError:
        found = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    assert found == status
    if not empty_on_delete:
        assert ecr.describe_repositories(repositoryNames=[repository])["repositories"]
        ecr.delete_repository(repositoryName=repository, force=True)
        cfn.delete_stack(StackName=name)
    else:
        with pytest.raises(ClientError, match="RepositoryNotFoundException"):
            ecr.describe_repositories(repositoryNames=[repository])
