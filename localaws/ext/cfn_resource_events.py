"""Each resource's own events and times, as CloudFormation reports them.

AWS (CloudFormation user guide, "Monitor stack progress" and "Stack status codes"; API reference,
DescribeStackEvents, StackResource, StackResourceDetail, StackResourceSummary): DescribeStackEvents lists
every resource's progress, not only the stack's: CREATE_IN_PROGRESS (no reason), CREATE_IN_PROGRESS
"Resource creation Initiated" with its physical id, then CREATE_COMPLETE (or CREATE_FAILED with the
reason); a resource starts only once what it depends on is complete. A resource's Timestamp
(DescribeStackResources) and LastUpdatedTimestamp (DescribeStackResource, where it is required, and
ListStackResources) are when its status last changed; DescribeStackResource also answers the template's
Metadata for the resource, as a JSON string.
moto 5.2.5 records the stack's own events only; its DescribeStackResource answers no LastUpdatedTimestamp
(required by AWS's model) and no Metadata.
"""
from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import cloudformation_backends, parsing
from moto.cloudformation.models import Event, Stack
from moto.cloudformation.responses import StackResourceDTO
from moto.core.utils import utcnow

_original_parse: Any = None  # at install: what cfn_create_failures made of it
_original_dto: Any = None


def _stack(resources_map: Any, account_id: str, region_name: str) -> Stack | None:
    return cloudformation_backends[account_id][region_name].stacks.get(resources_map.stack_id)


def _event(stack: Stack, logical_id: str, resource_type: str, status: str, physical: str = "",
           reason: str | None = None, when: Any = None) -> None:
    event = Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                  physical_resource_id=physical, resource_type=resource_type, resource_status=status,
                  resource_status_reason=reason, resource_properties=None)
    if when is not None:
        event.timestamp = when
    stack.events.append(event)


def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str,
                              region_name: str) -> Any:
    stack = _stack(resources_map, account_id, region_name)
    resource_type = str(resource_json.get("Type"))
    started = utcnow()
    try:
        resource = _original_parse(logical_id, resource_json, resources_map, account_id, region_name)
    except Exception as error:
        # The resource that failed began (what it needed failed first otherwise); cfn_create_failures says why.
        if stack is not None and getattr(error, "cfn_logical_id", logical_id) == logical_id:
            _event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS", when=started)
        raise
    if stack is not None and resource is not None:
        physical = str(getattr(resource, "physical_resource_id", "") or "")
        _event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS", when=started)
        _event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS", physical, "Resource creation Initiated")
        _event(stack, logical_id, resource_type, "CREATE_COMPLETE", physical)
    return resource


def resource_dto(self: StackResourceDTO, stack: Stack, resource: Any) -> None:
    _original_dto(self, stack, resource)
    logical_id = self.logical_resource_id
    changed = [event.timestamp for event in stack.events
               if event.logical_resource_id == logical_id and event.logical_resource_id != stack.name]
    self.timestamp = changed[-1] if changed else stack.creation_time
    self.last_updated_timestamp = self.timestamp
    metadata = ((stack.template_dict or {}).get("Resources") or {}).get(logical_id, {}).get("Metadata")
    if metadata is not None:
        self.metadata = json.dumps(metadata)


def install() -> None:
    global _original_parse, _original_dto
    _original_parse = parsing.parse_and_create_resource
    parsing.parse_and_create_resource = parse_and_create_resource
    _original_dto = StackResourceDTO.__init__
    StackResourceDTO.__init__ = resource_dto
