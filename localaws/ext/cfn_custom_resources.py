"""Lambda-backed custom resources (AWS::CloudFormation::CustomResource, Custom::Name), with the
cfn-response protocol, as CloudFormation runs them.

AWS (CloudFormation user guide, "Create custom provisioning logic with custom resources", "Custom
resource request objects", "Custom resource response objects"; template reference,
AWS::CloudFormation::CustomResource):
- CloudFormation invokes the ServiceToken's function (asynchronously: a function error is retried
  twice, one and two minutes later, as Lambda retries any asynchronous invocation) with a request:
  RequestType (Create, Update, Delete), RequestId, ResponseURL (a presigned S3 URL), ResourceType,
  LogicalResourceId, StackId, ServiceToken, ResourceProperties (the template's Properties, ServiceToken
  included, scalars as strings), and on Update and Delete the PhysicalResourceId (on Update also
  OldResourceProperties).
- The provider PUTs its response (Status SUCCESS or FAILED, Reason, PhysicalResourceId, StackId,
  RequestId, LogicalResourceId, NoEcho, Data) to that URL; the body may not exceed 4096 bytes.
  SUCCESS: the resource is CREATE_COMPLETE, Ref gives the PhysicalResourceId and Fn::GetAtt the Data's
  keys (a key Data lacks fails the resource that asks for it: "CustomResource attribute error: Vendor
  response doesn't contain KEY attribute in object STACKID|LOGICALID|REQUESTID"). FAILED: the resource
  is CREATE_FAILED, "Received response status [FAILED] from custom resource. Message returned: REASON
  (RequestId: ID)", and on rollback it is sent a Delete with the PhysicalResourceId it gave.
- No response within ServiceTimeout (1 to 3600 seconds; default 3600, one hour) fails the operation:
  "CloudFormation did not receive a response from your Custom Resource. Please check your logs for
  requestId [ID]. If you are using the Python cfn-response module, you may need to update your Lambda
  function code so that CloudFormation can attach the updated version."
- Deleting the stack sends Delete; a FAILED answer or none leaves the resource DELETE_FAILED.
- An inline function (AWS::Lambda::Function Code.ZipFile) gets AWS's cfn-response module beside its
  code (moto adds it: awslambda/resources/cfnresponse.py.txt).
moto 5.2.5 invokes the function in a thread and creates the rest of the stack at once, so Fn::GetAtt
on the resource is None ("'NoneType' object has no attribute 'split'" in a Fn::Split), a FAILED
answer or no answer leaves the stack CREATE_IN_PROGRESS, its ResponseURL is no URL (no scheme) and
names the moto server, no Delete or Update is ever sent, AWS::CloudFormation::CustomResource is
unknown to it.

Here the ResponseURL names AWS's bucket (cloudformation-custom-resource-response-<region>) at S3's
endpoint, which every Lambda sandbox resolves to the local AWS where the network model lets it reach
S3 (localaws/functions/network.py): a VPC function without a way to S3 cannot answer, as in AWS. Its
signature is an HMAC with a key made when the server starts; it expires after two hours. The stack's
operation waits for the answer (the local AWS creates stacks inline); LOCALAWS_CUSTOM_RESOURCE_TIMEOUT
(seconds) caps every ServiceTimeout, for tests and for the suite's client, which does not wait an hour.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from typing import Any

from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation import parsing
from moto.cloudformation.models import Stack
from moto.core.common_models import CloudFormationModel

from localaws.ext import cfn_response_bucket
from localaws.ext.cfn_response_bucket import Pending, awaiting, response_url

log = logging.getLogger("localaws.cloudformation")

AWS_TIMEOUT = 3600  # seconds: ServiceTimeout's default and its maximum
MAX_RESPONSE = 4096  # bytes: "The total size of the response body can't exceed 4096 bytes."
RETRY_DELAYS = (60, 120)  # seconds before Lambda's two retries of a failed asynchronous invocation


class CustomResourceFailed(Exception):
    """A custom resource's operation failed: its reason is CloudFormation's own words, shown as they are."""

    def __init__(self, reason: str, physical_resource_id: str | None = None):
        super().__init__(reason)
        self.message = reason
        self.cfn_status_reason = reason  # localaws/ext/cfn_create_failures.py: no "Resource handler ..." around it
        self.physical_resource_id = physical_resource_id  # the one a FAILED answer gave
        self.update: tuple[Any, dict[str, Any]] | None = None  # a failed Update: (the resource, its new properties)


def service_timeout(properties: dict[str, Any]) -> float:
    asked = properties.get("ServiceTimeout")
    try:
        seconds = int(str(asked)) if asked is not None else AWS_TIMEOUT
    except ValueError:
        seconds = AWS_TIMEOUT
    seconds = min(max(seconds, 1), AWS_TIMEOUT)
    cap = os.environ.get("LOCALAWS_CUSTOM_RESOURCE_TIMEOUT")
    return min(seconds, float(cap)) if cap else float(seconds)


def as_strings(value: Any) -> Any:
    """The properties as the provider receives them: CloudFormation sends numbers and booleans as
    strings (the AWS CDK's CustomResource documentation: "the values are always strings")."""
    if isinstance(value, dict):
        return {key: as_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_strings(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _invoke(function: Any, event: dict[str, Any], pending: Pending, deadline: float) -> None:
    """Lambda's asynchronous invocation: a function error is retried twice while no answer has come."""
    for delay in (0, *RETRY_DELAYS):
        if delay and (pending.answered.wait(min(delay, max(0.0, deadline - time.monotonic())))
                      or time.monotonic() >= deadline):
            return
        try:
            _, errored, _ = function._invoke_lambda(event=event)
        except Exception as error:  # noqa: BLE001 - the invocation's own failure: said in the log, retried
            log.warning("custom resource %s: invoking %s failed: %s", event["LogicalResourceId"],
                        function.function_name, error)
            errored = True
        if not errored:
            return


def send(stack_id: str, logical_id: str, resource_type: str, properties: dict[str, Any], request_type: str,
         region: str, account_id: str, physical_id: str | None = None,
         old_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one request and wait for its answer: the response's document on SUCCESS, else CustomResourceFailed."""
    service_token = str(properties.get("ServiceToken") or "")
    if ":lambda:" not in service_token:
        raise CustomResourceFailed(f"not supported offline: {resource_type} with ServiceToken {service_token!r} "
                                   "(only Lambda-backed custom resources are)")
    function = get_lambda_backend(account_id, region).get_function(service_token)
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": request_type, "ServiceToken": service_token,
        "ResponseURL": response_url(region, stack_id, logical_id, request_id), "StackId": stack_id,
        "RequestId": request_id, "LogicalResourceId": logical_id, "ResourceType": resource_type,
        "ResourceProperties": as_strings(properties)}
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = as_strings(old_properties)
    deadline = time.monotonic() + service_timeout(properties)
    with awaiting(f"{stack_id}|{logical_id}|{request_id}") as pending:
        threading.Thread(target=_invoke, args=(function, event, pending, deadline), daemon=True,
                         name=f"custom-resource-{logical_id}").start()
        answered = pending.answered.wait(max(0.0, deadline - time.monotonic()))
    if not answered:
        raise CustomResourceFailed(
            f"CloudFormation did not receive a response from your Custom Resource. Please check your logs for "
            f"requestId [{request_id}]. If you are using the Python cfn-response module, you may need to update "
            "your Lambda function code so that CloudFormation can attach the updated version.")
    if len(pending.body) > MAX_RESPONSE:
        raise CustomResourceFailed("Response object is too long.")
    try:
        response = json.loads(pending.body)
    except ValueError:
        raise CustomResourceFailed("Response object is not valid JSON.") from None
    response["RequestId"] = request_id
    if response.get("Status") == "SUCCESS":
        return response
    raise CustomResourceFailed(f"Received response status [{response.get('Status')}] from custom resource. "
                               f"Message returned: {response.get('Reason')} (RequestId: {request_id})",
                               response.get("PhysicalResourceId"))


class LambdaCustomResource(CloudFormationModel):
    """One custom resource, as its provider last answered it."""

    def __init__(self, stack_id: str, logical_id: str, resource_type: str, region: str, account_id: str,
                 properties: dict[str, Any], response: dict[str, Any]):
        self.stack_id, self.logical_id, self.resource_type = stack_id, logical_id, resource_type
        self.region, self.account_id, self.properties = region, account_id, properties
        self.physical_id = str(response.get("PhysicalResourceId") or "")
        self.data = dict(response.get("Data") or {})
        self.request_id = response["RequestId"]

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::CustomResource"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # the provider decides

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.data:
            return self.data[attribute_name]
        raise CustomResourceFailed(
            f"CustomResource attribute error: Vendor response doesn't contain {attribute_name} attribute in object "
            f"{self.stack_id}|{self.logical_id}|{self.request_id}")

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "LambdaCustomResource":
        properties = cloudformation_json.get("Properties") or {}
        stack_id, logical_id, resource_type = kwargs["StackId"], kwargs["LogicalId"], kwargs["ResourceType"]
        try:
            response = send(stack_id, logical_id, resource_type, properties, "Create", region_name, account_id)
        except CustomResourceFailed as failed:
            physical = failed.physical_resource_id
            if physical:  # a rollback sends it a Delete (cfn_failed_deletes below)
                _FAILED_CREATES.setdefault(stack_id, []).append(
                    (logical_id, resource_type, properties, physical, region_name, account_id))
            raise
        return cls(stack_id, logical_id, resource_type, region_name, account_id, properties, response)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: "LambdaCustomResource", new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str
    ) -> "LambdaCustomResource":
        properties = cloudformation_json.get("Properties") or {}
        old = original_resource
        # moto retries a failed update of a resource (up to 5 passes): the provider is asked once.
        attempt = (old.stack_id, old.logical_id, json.dumps(properties, sort_keys=True, default=str))
        if attempt in _FAILED_UPDATES:
            raise _FAILED_UPDATES[attempt]
        try:
            response = send(old.stack_id, old.logical_id, old.resource_type, properties, "Update", region_name,
                            account_id, physical_id=old.physical_id, old_properties=old.properties)
        except CustomResourceFailed as failed:
            failed.update = (old, properties)  # what the rollback sends back (update below)
            _FAILED_UPDATES[attempt] = failed
            raise
        updated = cls(old.stack_id, old.logical_id, old.resource_type, region_name, account_id, properties, response)
        if updated.physical_id != old.physical_id:  # a replacement: the old one is deleted at cleanup
            old.delete(account_id, region_name)
        return updated

    def delete(self, account_id: str, region_name: str) -> None:
        send(self.stack_id, self.logical_id, self.resource_type, self.properties, "Delete", region_name, account_id,
             physical_id=self.physical_id)


_FAILED_UPDATES: dict[tuple[str, str, str], CustomResourceFailed] = {}  # (stack, logical id, properties)
_original_update: Any = None


def update(self: Stack, *args: Any, **kwargs: Any) -> None:
    """A new UpdateStack asks the providers again; an Update answered FAILED fails the resource, and the stack
    rolls back: the provider is sent an Update back to the old properties, the stack keeps its old template
    and ends UPDATE_ROLLBACK_COMPLETE (UpdateStack itself has answered; the stack_update_complete waiter fails).
    Other resources the update already changed are not changed back: moto's UpdateStack has no rollback."""
    from localaws.ext.cfn_stack_deletion import _resource_event

    for attempt in [attempt for attempt in _FAILED_UPDATES if attempt[0] == self.stack_id]:
        _FAILED_UPDATES.pop(attempt, None)
    template, template_dict = self.template, self.template_dict
    try:
        _original_update(self, *args, **kwargs)
        return
    except CustomResourceFailed as error:
        if error.update is None:
            raise
        failed, (resource, new_properties) = error, error.update
    self.template, self.template_dict = template, template_dict
    self.resource_map._template, self.resource_map._resource_json_map = template_dict, template_dict["Resources"]
    kind = {"Type": resource.resource_type}
    _resource_event(self, resource.logical_id, resource, kind, "UPDATE_FAILED", failed.message)
    self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    self._add_stack_event(self.status, resource_status_reason=(
        f"The following resource(s) failed to update: [{resource.logical_id}]. "))
    _resource_event(self, resource.logical_id, resource, kind, "UPDATE_IN_PROGRESS", None)
    try:
        send(resource.stack_id, resource.logical_id, resource.resource_type, resource.properties, "Update",
             resource.region, resource.account_id, physical_id=resource.physical_id, old_properties=new_properties)
    except CustomResourceFailed as again:
        _resource_event(self, resource.logical_id, resource, kind, "UPDATE_FAILED", again.message)
        self.status = "UPDATE_ROLLBACK_FAILED"
    else:
        _resource_event(self, resource.logical_id, resource, kind, "UPDATE_COMPLETE", None)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
    self._add_stack_event(self.status)


# --- a rollback sends a Delete to a custom resource whose Create answered FAILED

_FAILED_CREATES: dict[str, list[tuple[str, str, dict[str, Any], str, str, str]]] = {}
_original_create_resources: Any = None  # at install: what cfn_create_failures made of it


def create_resources(self: Stack) -> None:
    from localaws.ext.cfn_stack_deletion import _resource_event

    _FAILED_CREATES.pop(self.stack_id, None)
    try:
        _original_create_resources(self)
    finally:
        failed = _FAILED_CREATES.pop(self.stack_id, [])
    if self.status not in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_COMPLETE", "DELETE_FAILED"):
        return  # no rollback (DO_NOTHING): the failed resource stays as it is
    final = self.events.pop()  # the stack's last event comes after the failed resource's Delete
    for logical_id, resource_type, properties, physical, region, account in failed:
        resource = {"Type": resource_type}
        try:
            send(self.stack_id, logical_id, resource_type, properties, "Delete", region, account, physical_id=physical)
        except CustomResourceFailed as error:
            _resource_event(self, logical_id, physical, resource, "DELETE_FAILED", error.message)
        else:
            _resource_event(self, logical_id, physical, resource, "DELETE_COMPLETE", None)
    self.events.append(final)


_original_class_from_type: Any = None  # at install: what cfn_resource_types made of it


def resource_class_from_type(resource_type: str) -> Any:
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return LambdaCustomResource
    return _original_class_from_type(resource_type)


def install() -> None:
    global _original_class_from_type, _original_create_resources, _original_update
    cfn_response_bucket.install()
    _original_class_from_type = parsing.resource_class_from_type
    parsing.resource_class_from_type = resource_class_from_type
    _original_create_resources = Stack.create_resources
    Stack.create_resources = create_resources
    _original_update = Stack.update
    Stack.update = update
