"""CloudFormation's AWS::EC2::SubnetRouteTableAssociation really associates the subnet.

AWS (CloudFormation user guide, AWS::EC2::SubnetRouteTableAssociation): the subnet then uses that
route table (DescribeRouteTables lists the association; Ref returns the association id); deleting
the resource (localaws/ext/cfn_stack_deletion.py) puts the subnet back on the main route table.
moto 5.2.5 files the pair away where nothing reads it: the subnet stays on the main route table,
so a public subnet has no route to its internet gateway (and the task network model,
localaws/network/reachability.py, rightly finds no way out).
"""
from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.subnets import SubnetRouteTableAssociation


class CfnSubnetRouteTableAssociation(SubnetRouteTableAssociation):
    def __init__(self, route_table_id: str, subnet_id: str, association_id: str, account_id: str, region: str):
        super().__init__(route_table_id, subnet_id)
        self.association_id = association_id
        self.account_id = account_id
        self.region = region

    @property
    def physical_resource_id(self) -> str:
        return self.association_id


def create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
           **kwargs: Any) -> CfnSubnetRouteTableAssociation:
    properties = cloudformation_json["Properties"]
    backend = ec2_backends[account_id][region_name]
    association_id = backend.associate_route_table(properties["RouteTableId"], subnet_id=properties["SubnetId"])
    return CfnSubnetRouteTableAssociation(properties["RouteTableId"], properties["SubnetId"], association_id,
                                          account_id, region_name)


def install() -> None:
    SubnetRouteTableAssociation.create_from_cloudformation_json = classmethod(create)
