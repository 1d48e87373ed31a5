"""Each instance's and task's network namespace follows the deployed network, as AWS's does.

AWS applies a change to a security group, a route table or a subnet association to the traffic of
every interface concerned at once (VPC user guide, "Security group rules": "When you add or remove
rules, they are automatically applied to all resources associated with the security group").
Here the hosts' namespaces are wired from the model (localaws/network/host_wiring.py): after each call
that may change the network (EC2, RDS, ECS or CloudFormation, anything but a read) the wiring is
planned again. stop_all closes every listener when the local AWS stops.
"""
from __future__ import annotations

from typing import Any

from moto.core.responses import BaseResponse

from localaws.network import host_wiring as host_network

SERVICES = {"ec2", "rds", "ecs", "cloudformation"}
READS = ("Describe", "Get", "List")


def _changes_network(response: BaseResponse) -> bool:
    try:
        service = type(response).__module__.split(".")[1]
        return service in SERVICES and not response._get_action().startswith(READS)
    except Exception:  # noqa: BLE001 - not an AWS API call (moto's own)
        return False


def install() -> None:
    answer = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        result = answer(self)
        if _changes_network(self):
            host_network.refresh()
        return result

    BaseResponse.call_action = call_action


def stop_all() -> None:
    host_network.stop_all()
