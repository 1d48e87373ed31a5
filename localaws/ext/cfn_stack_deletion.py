"""CloudFormation DeleteStack as AWS does it: in dependency order, and a failure that stays visible.

AWS (CloudFormation user guide, "Deleting a stack" and "Stack status codes"; DeleteStack API
reference): DeleteStack answers at once; CloudFormation deletes each resource only after every
resource that depends on it (Ref, Fn::GetAtt, Fn::Sub, DependsOn) is gone. A resource that
cannot be deleted (a VPC that still has network interfaces, a bucket that is not empty) gets
DELETE_FAILED with its reason; its stack becomes DELETE_FAILED ("The following resource(s)
failed to delete: [...]") and stays, with the resources it still has, until deleted again.
Deleting a resource takes its own parts with it: an instance is terminated and its primary
network interface deleted, an interface VPC endpoint's network interfaces go with it, an ECR
repository with EmptyOnDelete its images (without it, a repository with images fails), a managed
policy is detached from every role, user and group first (IAM refuses to delete a role with a
policy attached: "Cannot delete entity, must detach all policies first"); an S3
bucket that still has objects fails ("The bucket you tried to delete is not empty"); an ECS
cluster and a task definition become INACTIVE.
Resources with DeletionPolicy Retain are kept. What EC2 refuses, CloudFormation cannot delete
either: DeleteSubnet fails with DependencyViolation ("The subnet '...' has dependencies and
cannot be deleted.") while a network interface is in it, DeleteVpc while an internet gateway
is attached.
moto 5.2.5 deletes in no order (with retry passes), answers the first error from DeleteStack
itself (DependencyViolation), and drops the stack record anyway; several EC2 types a stack
makes are never deleted by it (VPC endpoints, internet gateways and their attachments, route
tables, routes and subnet associations: it reports them deleted and keeps them), a
terminated instance keeps its primary network interface, so the VPC can never go; and
EmptyOnDelete is ignored; a bucket with objects, an ECS cluster and a task definition are
reported deleted and kept. Its DeleteSubnet ignores network interfaces, its DeleteVpc attached
internet gateways.
"""
from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.instances import Instance
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
from moto.ecr.models import Repository, ecr_backends
from moto.ecs.models import Cluster, TaskDefinition, ecs_backends
from moto.iam.models import ManagedPolicy, iam_backends
from moto.s3.exceptions import BucketNotEmpty
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

from localaws import template_dependencies

log = logging.getLogger("localaws.cloudformation")


class DeletionFailed(Exception):
    def __init__(self, reasons: dict[str, str]):
        super().__init__(", ".join(reasons))
        self.reasons = reasons  # logical id -> why it could not be deleted


def delete_in_order(self: ResourceMap, stack: Stack) -> None:
    """Delete dependents first; a failure keeps what it depends on, and the rest goes on."""
    resources = self._resource_json_map
    needs = template_dependencies.dependencies(self._template)
    remaining = {logical_id for logical_id, resource in resources.items()
                 if resource.get("DeletionPolicy") != "Retain" and logical_id in self._parsed_resources}
    failed: dict[str, str] = {}
    progress = True
    while progress:
        progress = False
        for logical_id in sorted(remaining):
            if any(logical_id in needs[other] for other in remaining | set(failed) if other != logical_id):
                continue  # something that depends on it is still there
            parsed = self._parsed_resources.get(logical_id)
            try:
                if parsed is not None and not isinstance(parsed, str):
                    self._delete_resource(parsed, resources[logical_id])
            except Exception as error:  # noqa: BLE001 - AWS reports any failure as the resource's reason
                reason = getattr(error, "message", None) or str(error) or type(error).__name__
                failed[logical_id] = reason
                _resource_event(stack, logical_id, parsed, resources[logical_id], "DELETE_FAILED", reason)
            else:
                self._parsed_resources.pop(logical_id, None)
                _resource_event(stack, logical_id, parsed, resources[logical_id], "DELETE_COMPLETE", None)
            remaining.discard(logical_id)
            progress = True
    # What a failed resource depends on is not tried (and not listed): it stays with the stack.
    if failed:
        raise DeletionFailed(failed)


def _resource_event(stack: Stack, logical_id: str, parsed: Any, resource: dict[str, Any], status: str,
                    reason: str | None) -> None:
    physical = getattr(parsed, "physical_resource_id", None) or (parsed if isinstance(parsed, str) else "")
    stack.events.append(Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                              physical_resource_id=str(physical), resource_type=resource["Type"],
                              resource_status=status, resource_status_reason=reason, resource_properties=None))


def stack_delete(self: Stack) -> None:
    self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    try:
        delete_in_order(self.resource_map, self)
    except DeletionFailed as failed:
        self.status = "DELETE_FAILED"
        self._add_stack_event("DELETE_FAILED", resource_status_reason=(
            f"The following resource(s) failed to delete: [{', '.join(sorted(failed.reasons))}]. "))
        raise
    self._add_stack_event("DELETE_COMPLETE")
    self.status = "DELETE_COMPLETE"


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    """Deleting a stack that is not there succeeds; one that fails stays, DELETE_FAILED."""
    stack = self.stacks.get(name_or_stack_id) or next(
        (stack for stack in self.stacks.values() if stack.name == name_or_stack_id), None)
    if stack is None:
        return
    try:
        stack.delete()
    except DeletionFailed as failed:
        log.warning("stack %s: DELETE_FAILED: %s", stack.name, failed.reasons)
        return
    self.stacks.pop(stack.stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for export in stack.exports:
        self.exports.pop(export.name, None)


# --- what a stack's EC2 resources do when CloudFormation deletes them (ResourceMap calls .delete)

def _ec2(account_id: str, region: str) -> Any:
    return ec2_backends[account_id][region]


def _delete_vpc_endpoint(self: VPCEndPoint, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_vpc_endpoints([self.id])  # its network interfaces too
    _ec2(account_id, region).vpc_end_points.pop(self.id, None)


def _delete_internet_gateway(self: InternetGateway, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_internet_gateway(self.id)  # DependencyViolation while attached


def _delete_gateway_attachment(self: VPCGatewayAttachment, account_id: str, region: str) -> None:
    if self.gateway_id.startswith("igw-"):
        _ec2(account_id, region).detach_internet_gateway(self.gateway_id, self.vpc_id)


def _delete_route_table(self: RouteTable, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_route_table(self.id)  # DependencyViolation while associated


def _delete_route(self: Route, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_route(self.route_table.id, self.destination_cidr_block,
                                          self.destination_ipv6_cidr_block,
                                          getattr(self.destination_prefix_list, "id", self.destination_prefix_list))


def _delete_association(self: SubnetRouteTableAssociation, account_id: str, region: str) -> None:
    table = _ec2(account_id, region).get_route_table(self.route_table_id)
    for association_id, subnet_id in list(table._associations.items()):
        if subnet_id == self.subnet_id:
            _ec2(account_id, region).disassociate_route_table(association_id)


def _delete_bucket(self: FakeBucket, account_id: str, region: str) -> None:
    backend = s3_backends[account_id][get_partition(region)]
    if backend.get_bucket(self.name).keys:
        raise BucketNotEmpty(self.name)
    backend.delete_bucket(self.name)


def _delete_cluster(self: Cluster, account_id: str, region: str) -> None:
    ecs_backends[account_id][region].delete_cluster(self.arn)


def _delete_task_definition(self: TaskDefinition, account_id: str, region: str) -> None:
    ecs_backends[account_id][region].deregister_task_definition(self.arn)


def _delete_managed_policy(self: ManagedPolicy, account_id: str, region: str) -> None:
    backend = iam_backends[account_id][get_partition(region)]
    for holders, detach in ((backend.roles, backend.detach_role_policy), (backend.users, backend.detach_user_policy),
                            (backend.groups, backend.detach_group_policy)):
        for holder in list(holders.values()):
            if self.arn in holder.managed_policies:
                detach(self.arn, holder.name)
    backend.delete_policy(self.arn)


def _delete_repository(self: Repository, account_id: str, region: str) -> None:
    ecr_backends[account_id][region].delete_repository(self.name, force=getattr(self, "empty_on_delete", False))


_original_create_repository = Repository.create_from_cloudformation_json.__func__


def _create_repository(cls: type, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
    repository = _original_create_repository(cls, resource_name, cloudformation_json, *args, **kwargs)
    empty = (cloudformation_json.get("Properties") or {}).get("EmptyOnDelete")
    repository.empty_on_delete = empty is True or str(empty).lower() == "true"
    return repository


_original_delete_subnet = EC2Backend.delete_subnet
_original_delete_vpc = EC2Backend.delete_vpc


def delete_subnet(self: EC2Backend, subnet_id: str) -> Any:
    if any(eni.subnet.id == subnet_id for eni in list(self.enis.values()) if eni.subnet is not None):
        raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    return _original_delete_subnet(self, subnet_id)


def delete_vpc(self: EC2Backend, vpc_id: str) -> Any:
    if any(gateway.vpc is not None and gateway.vpc.id == vpc_id for gateway in self.internet_gateways.values()):
        raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    return _original_delete_vpc(self, vpc_id)


_original_prep_nics = Instance.prep_nics


def prep_nics(self: Instance, nic_spec: list[dict[str, Any]], *args: Any, **kwargs: Any) -> None:
    """The primary interface a launch creates is deleted when the instance terminates (AWS's
    default DeleteOnTermination for it), unless the request said otherwise."""
    _original_prep_nics(self, nic_spec, *args, **kwargs)
    primary = self.nics.get(0)
    asked = next((nic for nic in nic_spec if int(nic.get("DeviceIndex", -1)) == 0), None)
    if primary is not None and (asked is None or "NetworkInterfaceId" not in asked) and (
            asked is None or asked.get("DeleteOnTermination") is not False):
        primary.delete_on_termination = True


def install() -> None:
    Stack.delete = stack_delete
    CloudFormationBackend.delete_stack = delete_stack
    Instance.prep_nics = prep_nics
    EC2Backend.delete_subnet = delete_subnet
    EC2Backend.delete_vpc = delete_vpc
    Repository.create_from_cloudformation_json = classmethod(_create_repository)
    for model, delete in ((VPCEndPoint, _delete_vpc_endpoint), (InternetGateway, _delete_internet_gateway),
                          (VPCGatewayAttachment, _delete_gateway_attachment), (RouteTable, _delete_route_table),
                          (Route, _delete_route), (SubnetRouteTableAssociation, _delete_association),
                          (Repository, _delete_repository), (FakeBucket, _delete_bucket),
                          (Cluster, _delete_cluster), (TaskDefinition, _delete_task_definition),
                          (ManagedPolicy, _delete_managed_policy)):
        model.delete = delete
