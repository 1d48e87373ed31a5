"""Who made a resource, and when, where AWS answers it: a task definition's registeredAt and
registeredBy (and deregisteredAt), a stack's Capabilities.

AWS (ECS API reference, TaskDefinition: "registeredAt — The Unix timestamp for the time when
the task definition was registered", "registeredBy — The principal that registered the task
definition", "deregisteredAt"; CloudFormation API reference, Stack: "Capabilities — The
capabilities allowed in the stack", as CreateStack was given them). A resource CloudFormation
makes is made with the credentials of the caller of CreateStack, so that caller registered it.
moto 5.2.5 answers neither registeredAt nor registeredBy, and no Capabilities.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from moto.cloudformation.models import Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import BaseResponse
from moto.core.utils import utcnow
from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.utilities.utils import get_partition

from localaws.ext.cloudtrail_events.identity import find_caller

_request = threading.local()  # the principal of the request being served on this thread


def _principal(response: BaseResponse) -> str:
    caller = find_caller(response.current_account, get_partition(response.region), response.get_access_key())
    return caller.user_identity["arn"] if caller else f"arn:aws:iam::{response.current_account}:root"


def _as_caller(method: Callable[..., Any]) -> Callable[..., Any]:
    """The response method, with its caller known to what it creates."""
    def serve(self: BaseResponse) -> Any:
        _request.principal = _principal(self)
        try:
            return method(self)
        finally:
            _request.principal = None
    return serve


_original_task_definition_init = TaskDefinition.__init__


def task_definition_init(self: TaskDefinition, *args: Any, **kwargs: Any) -> None:
    _original_task_definition_init(self, *args, **kwargs)
    self.registered_at = utcnow()
    account = self.arn.split(":")[4]
    self.registered_by = getattr(_request, "principal", None) or f"arn:aws:iam::{account}:root"


_original_deregister = EC2ContainerServiceBackend.deregister_task_definition


def deregister_task_definition(self: EC2ContainerServiceBackend, task_definition_str: str) -> TaskDefinition:
    definition = _original_deregister(self, task_definition_str)
    definition.deregistered_at = utcnow()
    return definition


_original_create_stack: Callable[..., Any] = CloudFormationResponse.create_stack  # at install: what others made of it


def create_stack(self: CloudFormationResponse) -> Any:
    answer = _as_caller(_original_create_stack)(self)
    backend, name = self.cloudformation_backend, self._get_param("StackName")
    # The stack just made: by name, or (deleted at once by OnFailure DELETE) the last of that name.
    stack = next((stack for stack in backend.stacks.values() if stack.name == name), None) or [
        stack for stack in backend.deleted_stacks.values() if stack.name == name][-1]
    stack.capabilities = list(self._get_param("Capabilities") or [])
    return answer


def install() -> None:
    TaskDefinition.__init__ = task_definition_init
    EC2ContainerServiceBackend.deregister_task_definition = deregister_task_definition
    EC2ContainerServiceResponse.register_task_definition = _as_caller(
        EC2ContainerServiceResponse.register_task_definition)
    global _original_create_stack
    _original_create_stack = CloudFormationResponse.create_stack
    CloudFormationResponse.create_stack = create_stack
    Stack.capabilities = []  # a stack made before: none given
