"""CloudFormation creates task definitions and VPCs with all the properties the template gives.

AWS: an AWS::ECS::TaskDefinition keeps RequiresCompatibilities, NetworkMode, Cpu, Memory,
ExecutionRoleArn, TaskRoleArn and Tags, so a Fargate task can run from it and its new
revisions; an AWS::EC2::VPC applies EnableDnsSupport and EnableDnsHostnames.
moto 5.2.5 keeps only the family, container definitions, volumes and memory, and ignores
the VPC's DNS attributes (ECS RunTask then fails in an awsvpc network).
"""
from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPC
from moto.ecs.models import TaskDefinition, ecs_backends
from moto.moto_api._internal import mock_random
from moto.core.utils import pascal_to_camelcase, remap_nested_keys

_original_vpc_create = VPC.create_from_cloudformation_json.__func__


def _task_definition_arguments(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "family": properties.get("Family", f"task-definition-{int(mock_random.random() * 10**6)}"),
        "container_definitions": remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase),
        "volumes": remap_nested_keys(properties.get("Volumes", []), pascal_to_camelcase),
        "network_mode": properties.get("NetworkMode"),
        "tags": [{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        "requires_compatibilities": properties.get("RequiresCompatibilities"),
        "cpu": properties.get("Cpu"),
        "memory": properties.get("Memory"),
        "task_role_arn": properties.get("TaskRoleArn"),
        "execution_role_arn": properties.get("ExecutionRoleArn"),
        "runtime_platform": remap_nested_keys(properties.get("RuntimePlatform"), pascal_to_camelcase)
        if properties.get("RuntimePlatform") else None,
    }


def create_task_definition(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                           region_name: str, **kwargs: Any) -> TaskDefinition:
    arguments = _task_definition_arguments(cloudformation_json["Properties"])
    return ecs_backends[account_id][region_name].register_task_definition(**arguments)


def update_task_definition(cls: type, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                           account_id: str, region_name: str) -> TaskDefinition:
    backend = ecs_backends[account_id][region_name]
    backend.deregister_task_definition(original_resource.arn)
    return create_task_definition(cls, new_resource_name, cloudformation_json, account_id, region_name)


def create_vpc(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> VPC:
    vpc = _original_vpc_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json["Properties"]
    backend = ec2_backends[account_id][region_name]
    for prop, attribute in (("EnableDnsSupport", "enable_dns_support"), ("EnableDnsHostnames", "enable_dns_hostnames")):
        if prop in properties:
            backend.modify_vpc_attribute(vpc.id, attribute, str(properties[prop]).lower() == "true")
    return vpc


def install() -> None:
    TaskDefinition.create_from_cloudformation_json = classmethod(create_task_definition)
    TaskDefinition.update_from_cloudformation_json = classmethod(update_task_definition)
    VPC.create_from_cloudformation_json = classmethod(create_vpc)
