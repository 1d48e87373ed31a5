"""A resource that fails to create fails its stack, which rolls back, as CloudFormation does.

AWS (CloudFormation user guide, "Stack status codes" and "Troubleshooting"): CreateStack
returns at once; a resource whose service refuses the request gets a CREATE_FAILED event whose
reason carries the service's message ("Resource handler returned message: \"...\""), the stack
goes ROLLBACK_IN_PROGRESS ("The following resource(s) failed to create: [X]. Rollback requested
by user."), the resources already made are deleted, and the stack ends ROLLBACK_COMPLETE (or
ROLLBACK_FAILED when one cannot be deleted). The stack_create_complete waiter then fails; the
rolled-back stack has no outputs and no resources left to list. With OnFailure DO_NOTHING (or
DisableRollback true) there is no rollback: the stack stays CREATE_FAILED ("The following
resource(s) failed to create: [X]. "), DescribeStacks answers DisableRollback true, and the
resources already made stay, listed, until the stack is deleted (CreateStack API reference,
OnFailure and DisableRollback); DescribeStackResources and ListStackResources then list the failed
resource too, CREATE_FAILED with its reason. With OnFailure DELETE, what was made is deleted and so is the stack
(DELETE_COMPLETE: DescribeStacks knows it by its id only).
A resource whose Condition is false is not made, and not listed (CloudFormation user guide,
"Conditions": "resources ... are created only when the condition is true").
moto 5.2.5 lists such a resource as an entry without a logical id or a type; it lets the service's
exception escape CreateStack itself (a JSON error body inside an
XML API, which boto3 cannot even parse) and leaves the stack CREATE_IN_PROGRESS; it ignores
OnFailure and DisableRollback.
"""
from __future__ import annotations

import threading
import uuid
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import Stack
from moto.cloudformation.responses import CloudFormationResponse, StackResourceDTO

from localaws.ext.cfn_stack_deletion import DeletionFailed, _resource_event, delete_in_order

_original_parse = parsing.parse_and_create_resource
_original_create_resources = Stack.create_resources


def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return _original_parse(logical_id, resource_json, *args, **kwargs)
    except Exception as error:
        if not hasattr(error, "cfn_logical_id"):
            error.cfn_logical_id = logical_id  # type: ignore[attr-defined]
            error.cfn_resource_json = resource_json  # type: ignore[attr-defined]
        raise


_request = threading.local()  # the CreateStack being served on this thread: what it does on a failure


def _on_failure(response: CloudFormationResponse) -> str:
    """ROLLBACK (the default), DO_NOTHING (also DisableRollback true) or DELETE."""
    if str(response._get_param("DisableRollback")).lower() == "true":
        return "DO_NOTHING"
    return str(response._get_param("OnFailure") or "ROLLBACK")


_original_create_stack: Any = CloudFormationResponse.create_stack  # at install: what others made of it


def create_stack(self: CloudFormationResponse) -> Any:
    _request.on_failure = _on_failure(self)
    try:
        answer = _original_create_stack(self)
    finally:
        _request.on_failure = "ROLLBACK"
    backend = self.cloudformation_backend
    for stack in [stack for stack in backend.stacks.values() if stack.status == "DELETE_COMPLETE"]:
        backend.stacks.pop(stack.stack_id)  # OnFailure DELETE: known by its id only, as a deleted stack
        backend.deleted_stacks[stack.stack_id] = stack
        for export in stack.exports:
            backend.exports.pop(export.name, None)
    return answer


def create_resources(self: Stack) -> None:
    on_failure = getattr(_request, "on_failure", "ROLLBACK")
    if on_failure == "DO_NOTHING":
        self.disable_rollback = True
    try:
        _original_create_resources(self)
        return
    except Exception as error:  # noqa: BLE001 - any service refusal fails the resource, as in AWS
        failure = error
    logical_id = getattr(failure, "cfn_logical_id", None)
    if logical_id is None:
        raise failure  # not a resource's failure (a template error): CreateStack's own answer
    message = getattr(failure, "message", None) or str(failure) or type(failure).__name__
    # A reason CloudFormation words itself (a custom resource's answer: cfn_custom_resources; a property
    # its schema refuses before any handler runs: cfn_property_validation) is shown as it is.
    reason = getattr(failure, "cfn_status_reason", None) or (
        f'Resource handler returned message: "{message}" (RequestToken: {uuid.uuid4()}, '
        "HandlerErrorCode: InvalidRequest)")
    _resource_event(self, logical_id, None, getattr(failure, "cfn_resource_json"), "CREATE_FAILED", reason)
    if self.disable_rollback:
        self.status = "CREATE_FAILED"
        self._add_stack_event("CREATE_FAILED", resource_status_reason=(
            f"The following resource(s) failed to create: [{logical_id}]. "))
        return
    going = "DELETE" if on_failure == "DELETE" else "ROLLBACK"
    self.status = f"{going}_IN_PROGRESS"
    self._add_stack_event(self.status, resource_status_reason=(
        f"The following resource(s) failed to create: [{logical_id}]. {going.title()} requested by user."))
    try:
        delete_in_order(self.resource_map, self)
    except DeletionFailed:
        self.status = f"{going}_FAILED"
        self._add_stack_event(self.status)
        return
    self.status = f"{going}_COMPLETE"
    self._add_stack_event(self.status)


ROLLED_BACK = ("ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
FAILED = (*ROLLED_BACK, "CREATE_FAILED", "DELETE_COMPLETE")  # no outputs: they would be made again
_original_outputs = Stack.outputs
_original_resources = Stack.stack_resources


def outputs(self: Stack) -> Any:
    # moto resolves outputs lazily, which would create the failed resource again.
    return [] if self.status in FAILED else _original_outputs.fget(self)


class FailedResource:
    """A resource CloudFormation could not create: listed, CREATE_FAILED, with no physical id."""

    def __init__(self, logical_id: str, resource_type: str):
        self.logical_resource_id, self.cf_resource_type = logical_id, resource_type
        self.physical_resource_id = None


def stack_resources(self: Stack) -> Any:
    if self.status in FAILED:
        made = [resource for resource in self.resource_map._parsed_resources.values()
                if getattr(resource, "logical_resource_id", None)]  # the resources, not the parameters
        if self.status == "CREATE_FAILED":  # without a rollback the failed one is listed too
            made += [FailedResource(event.logical_resource_id, event.resource_type) for event in self.events
                     if event.resource_status == "CREATE_FAILED" and event.logical_resource_id != self.name]
        return made
    return [resource for resource in _original_resources.fget(self) if resource is not None]  # a false Condition


_original_resource_dto = StackResourceDTO.__init__


def resource_dto(self: StackResourceDTO, stack: Stack, resource: Any) -> None:
    """A resource's own status (moto answers the stack's): its last event's, else CREATE_COMPLETE, with
    that event's reason; the stack's creation time (moto answers 2010-07-27) and DriftInformation
    NOT_CHECKED, as DescribeStackResources answers them (CloudFormation API reference, StackResource)."""
    _original_resource_dto(self, stack, resource)
    self.timestamp = stack.creation_time
    self.drift_information = {"StackResourceDriftStatus": "NOT_CHECKED"}
    if stack.status in FAILED or stack.status == "DELETE_FAILED":
        events = [event for event in stack.events
                  if event.logical_resource_id == self.logical_resource_id
                  and event.stack_name != event.logical_resource_id]
        self.resource_status = events[-1].resource_status if events else "CREATE_COMPLETE"
        if events and events[-1].resource_status_reason:
            self.resource_status_reason = events[-1].resource_status_reason


def list_stack_resources(self: CloudFormationResponse) -> Any:
    """ListStackResources' summaries with each resource's own status and reason, as DescribeStackResources."""
    from moto.core.responses import ActionResult

    stack, resources = self.cloudformation_backend.list_stack_resources(self._get_param("StackName"))
    summaries = []
    for resource in resources:
        described = StackResourceDTO(stack, resource)
        summary = {"LogicalResourceId": described.logical_resource_id, "ResourceType": described.resource_type,
                   "LastUpdatedTimestamp": described.timestamp,
                   "ResourceStatus": described.resource_status if stack.status in (*FAILED, "DELETE_FAILED")
                   else "CREATE_COMPLETE",
                   "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"}}
        if described.physical_resource_id:
            summary["PhysicalResourceId"] = described.physical_resource_id
        if getattr(described, "resource_status_reason", None):
            summary["ResourceStatusReason"] = described.resource_status_reason
        summaries.append(summary)
    return ActionResult({"StackResourceSummaries": summaries})


def install() -> None:
    StackResourceDTO.__init__ = resource_dto
    CloudFormationResponse.list_stack_resources = list_stack_resources
    parsing.parse_and_create_resource = parse_and_create_resource
    Stack.create_resources = create_resources
    global _original_create_stack
    _original_create_stack = CloudFormationResponse.create_stack
    CloudFormationResponse.create_stack = create_stack
    Stack.outputs = property(outputs)
    Stack.stack_resources = property(stack_resources)
