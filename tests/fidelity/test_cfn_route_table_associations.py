"""localaws.ext.cfn_route_table_associations: a subnet associated by CloudFormation uses that route table."""
from __future__ import annotations

import json

import pytest

from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_subnet_uses_the_route_table_cloudformation_associated(aws):
    """AWS::EC2::SubnetRouteTableAssociation: DescribeRouteTables lists the subnet's association (Ref is its
    id); deleting the stack removes it (CloudFormation user guide)."""
    cloudformation, ec2 = aws.client("cloudformation"), aws.client("ec2")
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.62.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.62.1.0/24"}},
        "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Association": {"Type": "AWS::EC2::SubnetRouteTableAssociation",
                        "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}}}},
        "Outputs": {"AssociationId": {"Value": {"Ref": "Association"}}, "TableId": {"Value": {"Ref": "Table"}},
                    "SubnetId": {"Value": {"Ref": "Subnet"}}}}
    name = unique("fid-rt-assoc")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    [table] = ec2.describe_route_tables(RouteTableIds=[outputs["TableId"]])["RouteTables"]
    assert [(a["SubnetId"], a["RouteTableAssociationId"]) for a in table["Associations"]] == [
        (outputs["SubnetId"], outputs["AssociationId"])]
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
