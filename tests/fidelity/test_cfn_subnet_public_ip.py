"""localaws.ext.cfn_subnet_public_ip: a subnet made by CloudFormation keeps MapPublicIpOnLaunch, and an
instance launched there gets a public IP (localaws.ext.ec2_hosts)."""
from __future__ import annotations

import json

import pytest

from tests.support.aws_helpers import amazon_linux_image, unique
from tests.fidelity.validation import NOT_YET_VALIDATED


@pytest.mark.parametrize("maps", [True, False])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_subnet_maps_public_ips_on_launch(aws, maps):
    """AWS::EC2::Subnet MapPublicIpOnLaunch "indicates whether instances launched in this subnet receive a
    public IPv4 address" (CloudFormation user guide); DescribeSubnets shows it, and an AWS::EC2::Instance
    there (with a key pair: an SSH host) has a PublicIpAddress only when it is true."""
    cloudformation, ec2 = aws.client("cloudformation"), aws.client("ec2")
    key = unique("fid-subnet-key")
    ec2.create_key_pair(KeyName=key, KeyType="ed25519")
    image = amazon_linux_image(aws)
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.63.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.63.1.0/24",
                                                              "MapPublicIpOnLaunch": maps}},
        "Host": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": image, "InstanceType": "t3.micro",
                                                              "SubnetId": {"Ref": "Subnet"}, "KeyName": key}}},
        "Outputs": {"SubnetId": {"Value": {"Ref": "Subnet"}}, "HostId": {"Value": {"Ref": "Host"}}}}
    name = unique("fid-subnet-ip")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    try:
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
        [subnet] = ec2.describe_subnets(SubnetIds=[outputs["SubnetId"]])["Subnets"]
        assert subnet["MapPublicIpOnLaunch"] is maps
        instance = ec2.describe_instances(InstanceIds=[outputs["HostId"]])["Reservations"][0]["Instances"][0]
        assert ("PublicIpAddress" in instance) is maps
    finally:
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
        ec2.delete_key_pair(KeyName=key)
