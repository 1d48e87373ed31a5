"""CloudFormation's AWS::EC2::Subnet keeps MapPublicIpOnLaunch.

AWS (CloudFormation user guide, AWS::EC2::Subnet, MapPublicIpOnLaunch: "Indicates whether instances
launched in this subnet receive a public IPv4 address"; DescribeSubnets shows it): an instance
launched there without AssociatePublicIpAddress gets a public IP (localaws/ext/ec2_hosts.py).
moto 5.2.5 drops the property: every subnet a stack makes is private, and the stack's bastion
would have no public IP to be reached at.
"""
from __future__ import annotations

from typing import Any

from moto.ec2.models.subnets import Subnet

_original_create = Subnet.create_from_cloudformation_json.__func__


def create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
           **kwargs: Any) -> Subnet:
    subnet = _original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    value = cloudformation_json.get("Properties", {}).get("MapPublicIpOnLaunch")
    if value is not None:
        subnet.map_public_ip_on_launch = str(value).lower() == "true"
    return subnet


def install() -> None:
    Subnet.create_from_cloudformation_json = classmethod(create)
