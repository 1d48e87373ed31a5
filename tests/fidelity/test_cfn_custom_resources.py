"""localaws.ext.cfn_custom_resources: Lambda-backed custom resources with the cfn-response protocol.

AWS: CloudFormation user guide, "Create custom provisioning logic with custom resources", "Custom resource
request objects", "Custom resource response objects", "cfn-response module"; template reference,
AWS::CloudFormation::CustomResource (ServiceToken, ServiceTimeout: 1 to 3600 seconds, default 3600).
The provider below is our own, written in the cfn-response style the user guide shows.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import WaiterError

from tests.support.aws_helpers import (BASIC_EXECUTION, LAMBDA_TRUST, VPC_ACCESS, await_stack, log_messages, unique,
                                      wait_for)
from tests.fidelity.validation import NOT_YET_VALIDATED


# Our provider: what it answers is chosen by the resource's Mode property; it logs each request it gets.
PROVIDER = """\
import json
from urllib.parse import urlparse

import cfnresponse


def handler(event, context):
    props = event["ResourceProperties"]
    print("REQUEST " + json.dumps({"type": event["RequestType"], "logical": event["LogicalResourceId"],
                                   "physical": event.get("PhysicalResourceId"),
                                   "old": event.get("OldResourceProperties")}))
    mode = props.get("Mode", "succeed")
    if event["RequestType"] == "Delete":
        if mode == "refuse-delete":
            cfnresponse.send(event, context, cfnresponse.FAILED, {}, event["PhysicalResourceId"], reason="still in use")
        else:
            cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, event["PhysicalResourceId"])
        return
    if mode == "silent":
        return
    if mode == "fail":
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, "failed-" + event["LogicalResourceId"],
                         reason="the answer is no")
        return
    data = {"Greeting": "hello " + props["Name"], "RequestKeys": ",".join(sorted(event)),
            "PropertyKeys": ",".join(sorted(props)), "Size": props["Size"], "SizeType": type(props["Size"]).__name__,
            "Flag": props["Flag"], "UrlScheme": urlparse(event["ResponseURL"]).scheme,
            "UrlHost": urlparse(event["ResponseURL"]).hostname, "Stack": event["StackId"]}
    cfnresponse.send(event, context, cfnresponse.SUCCESS, data, "phys-" + props["Name"])
"""


@pytest.fixture(scope="module")
def provider(aws) -> tuple[str, str]:
    """A stack holding the provider function, inline (Code.ZipFile: CloudFormation adds cfn-response); its
    ARN and name."""
    cloudformation = aws.client("cloudformation")
    name = unique("fid-provider")
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": LAMBDA_TRUST,
            "Policies": [{"PolicyName": "logs", "PolicyDocument": {"Version": "2012-10-17",
                                                                   "Statement": [BASIC_EXECUTION]}}]}},
        "Provider": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Timeout": 30,
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": PROVIDER}}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Provider", "Arn"]}},
                    "Name": {"Value": {"Ref": "Provider"}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    await_stack(aws, name, "create")
    [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    yield outputs["Arn"], outputs["Name"]
    cloudformation.delete_stack(StackName=name)


def _custom(provider_arn: str, resource_type: str = "Custom::Greeting", **properties) -> dict:
    return {"Type": resource_type, "Properties": {"ServiceToken": provider_arn, **properties}}


def _requests(aws, function_name: str, logical_id: str) -> list[dict]:
    lines = [line for line in log_messages(aws, function_name) if line.startswith("REQUEST ")]
    return [request for request in (json.loads(line[len("REQUEST "):]) for line in lines)
            if request["logical"] == logical_id]


def _at_least(count: int, found: list) -> list | None:
    return found if len(found) >= count else None


def _failed_reason(cloudformation, name: str, logical_id: str, status: str = "CREATE_FAILED") -> str:
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    [failed] = [e for e in events if e["LogicalResourceId"] == logical_id and e["ResourceStatus"] == status]
    return failed["ResourceStatusReason"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_success_answer_makes_the_resource_with_its_data(aws, provider):
    """The function gets AWS's request (RequestType Create, ResponseURL a presigned HTTPS URL of the
    cfn-response bucket at S3, ServiceToken, StackId, RequestId, LogicalResourceId, ResourceType,
    ResourceProperties with ServiceToken and every scalar as a string); its PUT SUCCESS makes the resource
    CREATE_COMPLETE, Ref its PhysicalResourceId, Fn::GetAtt its Data's keys; both resource types work."""
    arn, function = provider
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom")
    template = {"Resources": {
        "Greeting": _custom(arn, Name="world", Size=3, Flag=True),
        "Plain": _custom(arn, "AWS::CloudFormation::CustomResource", Name="plain", Size="1", Flag="no"),
        "Uses": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": {"Fn::GetAtt": ["Greeting", "Greeting"]}}}},
        "Outputs": {key: {"Value": {"Fn::GetAtt": ["Greeting", key]}}
                    for key in ("RequestKeys", "PropertyKeys", "Size", "SizeType", "Flag", "UrlScheme", "UrlHost",
                                "Stack")}
    | {"Ref": {"Value": {"Ref": "Greeting"}}, "Plain": {"Value": {"Fn::GetAtt": ["Plain", "Greeting"]}}}}
    stack_id = cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))["StackId"]
    await_stack(aws, name, "create")
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["RequestKeys"] == ",".join(sorted(["RequestType", "ServiceToken", "ResponseURL", "StackId",
                                                      "RequestId", "LogicalResourceId", "ResourceType",
                                                      "ResourceProperties"]))
    assert outputs["PropertyKeys"] == "Flag,Name,ServiceToken,Size"
    assert (outputs["Size"], outputs["SizeType"], outputs["Flag"]) == ("3", "str", "true")
    assert outputs["UrlScheme"] == "https"
    assert outputs["UrlHost"] == "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
    assert outputs["Stack"] == stack_id
    assert (outputs["Ref"], outputs["Plain"]) == ("phys-world", "hello plain")
    resources = {r["LogicalResourceId"]: r for r in
                 cloudformation.describe_stack_resources(StackName=name)["StackResources"]}
    assert resources["Greeting"]["ResourceType"] == "Custom::Greeting"
    assert resources["Greeting"]["PhysicalResourceId"] == "phys-world"
    assert resources["Plain"]["ResourceType"] == "AWS::CloudFormation::CustomResource"
    parameter = resources["Uses"]["PhysicalResourceId"]
    assert aws.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"] == "hello world"
    [create] = wait_for(lambda: _requests(aws, function, "Greeting"), what="the Create request in the log")
    assert create == {"type": "Create", "logical": "Greeting", "physical": None, "old": None}

    # Update: the PhysicalResourceId and the old properties are sent; a new id is a replacement, whose old
    # resource then gets a Delete.
    template["Resources"]["Greeting"]["Properties"]["Name"] = "again"
    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(template))
    await_stack(aws, name, "update")
    # (each invocation's log lines arrive when it ends, which may be after the answer it sent: wait for them)
    requests = wait_for(lambda: _at_least(3, _requests(aws, function, "Greeting")),
                        what="the Update and Delete requests in the provider's log")
    assert sorted((r["type"], r["physical"]) for r in requests[1:]) == [("Delete", "phys-world"),
                                                                       ("Update", "phys-world")]
    assert next(r for r in requests if r["type"] == "Update")["old"]["Name"] == "world"
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["Ref"] == "phys-again"

    # Deleting the stack sends each custom resource a Delete with its PhysicalResourceId.
    cloudformation.delete_stack(StackName=name)
    await_stack(aws, stack_id, "delete")
    assert wait_for(lambda: {"type": "Delete", "logical": "Greeting", "physical": "phys-again", "old": None}
                    in _requests(aws, function, "Greeting"), what="the Delete request in the provider's log")
    assert wait_for(lambda: sorted(r["type"] for r in _requests(aws, function, "Plain")) == ["Create", "Delete"],
                    what="the other resource's Delete request")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_failed_answer_fails_the_resource_with_its_reason_and_the_rollback_deletes_it(aws, provider):
    """CREATE_FAILED: "Received response status [FAILED] from custom resource. Message returned: REASON
    (RequestId: ID)"; the stack rolls back, sending the resource a Delete with the id its answer gave."""
    arn, function = provider
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom-fail")
    template = {"Resources": {"Refused": _custom(arn, Mode="fail", Name="x", Size="1", Flag="x")}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    with pytest.raises(WaiterError):
        await_stack(aws, name, "create")
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = _failed_reason(cloudformation, name, "Refused")
    assert reason.startswith("Received response status [FAILED] from custom resource. Message returned: "
                             "the answer is no (RequestId: ")
    # (the Delete may come while the Create's invocation is still ending: its lines may be logged first)
    assert wait_for(lambda: sorted((r["type"], r["physical"] or "") for r in _requests(aws, function, "Refused"))
                    == [("Create", ""), ("Delete", "failed-Refused")], what="the Create and the rollback's Delete")
    cloudformation.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_no_answer_times_out_after_the_service_timeout(aws, provider):
    """A provider that never answers fails the resource when ServiceTimeout ends (AWS's default: 3600 s):
    "CloudFormation did not receive a response from your Custom Resource. ..."; with DisableRollback the
    stack stays CREATE_FAILED."""
    arn, _ = provider
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom-silent")
    template = {"Resources": {"Silent": _custom(arn, Mode="silent", ServiceTimeout=3, Name="x", Size="1", Flag="x")}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), DisableRollback=True)
    with pytest.raises(WaiterError):
        await_stack(aws, name, "create")
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_FAILED"
    reason = _failed_reason(cloudformation, name, "Silent")
    assert reason.startswith("CloudFormation did not receive a response from your Custom Resource. Please check "
                             "your logs for requestId [")
    assert reason.endswith("you may need to update your Lambda function code so that CloudFormation can attach "
                           "the updated version.")
    cloudformation.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_missing_data_key_fails_the_resource_that_asks_for_it(aws, provider):
    """Fn::GetAtt of a key the answer's Data lacks: "CustomResource attribute error: Vendor response doesn't
    contain KEY attribute in object STACKID|LOGICALID|REQUESTID", on the resource that asks."""
    arn, _ = provider
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom-attr")
    template = {"Resources": {
        "Greeting": _custom(arn, Name="x", Size="1", Flag="x"),
        "Uses": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": {"Fn::GetAtt": ["Greeting", "Missing"]}}}}}
    stack_id = cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))["StackId"]
    with pytest.raises(WaiterError):
        await_stack(aws, name, "create")
    reason = _failed_reason(cloudformation, name, "Uses")
    assert reason.startswith("CustomResource attribute error: Vendor response doesn't contain Missing attribute in "
                             f"object {stack_id}|Greeting|")
    cloudformation.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_refused_delete_leaves_the_stack_delete_failed(aws, provider):
    """A FAILED answer to Delete: the resource DELETE_FAILED with the provider's reason, the stack stays."""
    arn, _ = provider
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom-keep")
    template = {"Resources": {"Kept": _custom(arn, Mode="refuse-delete", Name="kept", Size="1", Flag="x")}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    await_stack(aws, name, "create")
    cloudformation.delete_stack(StackName=name)
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    assert _failed_reason(cloudformation, name, "Kept", "DELETE_FAILED").startswith(
        "Received response status [FAILED] from custom resource. Message returned: still in use (RequestId: ")


@pytest.mark.local_only("sends a forged response to the local AWS's own endpoint standing in for S3's presigned URL")
def test_an_altered_response_url_is_refused_as_s3_refuses_it(local_aws):
    """The ResponseURL is presigned: a PUT whose signature does not match gets S3's 403 SignatureDoesNotMatch."""
    host = "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
    request = urllib.request.Request(f"{local_aws.endpoint_url}/stack%7CX%7Cid?X-Amz-Date=20991231T000000Z&"
                                     "X-Amz-Expires=7200&X-Amz-Signature=forged", data=b"{}", method="PUT",
                                     headers={"Host": host})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403 and b"SignatureDoesNotMatch" in refused.value.read()


@pytest.mark.parametrize("gateway_endpoint", [False, True], ids=["no-way-to-s3", "s3-gateway-endpoint"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_provider_in_a_vpc_answers_only_where_its_network_reaches_s3(aws, gateway_endpoint):
    """The ResponseURL is S3's: a provider in a private subnet (no NAT, no internet route) cannot PUT its answer, so
    the resource times out, as the user guide warns for VPC providers ("Custom resources" troubleshooting); with
    an S3 gateway endpoint on its route table (VPC user guide, "Gateway endpoints for Amazon S3") it answers."""
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom-vpc")
    vpc = {"Ref": "Vpc"}
    resources = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.82.0.0/16"}},
        "Private": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": vpc, "CidrBlock": "10.82.1.0/24"}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}},
        "Association": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
            "SubnetId": {"Ref": "Private"}, "RouteTableId": {"Ref": "Routes"}}},
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "provider", "VpcId": vpc}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": LAMBDA_TRUST,
            "Policies": [{"PolicyName": "run", "PolicyDocument": {"Version": "2012-10-17",
                                                                  "Statement": [BASIC_EXECUTION, VPC_ACCESS]}}]}},
        "Provider": {"Type": "AWS::Lambda::Function", "DependsOn": "Association", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Timeout": 10, "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": PROVIDER},
            "VpcConfig": {"SubnetIds": [{"Ref": "Private"}], "SecurityGroupIds": [{"Ref": "Group"}]}}},
        "Greeting": {**_custom({"Fn::GetAtt": ["Provider", "Arn"]}, ServiceTimeout=8, Name="vpc", Size="1",
                               Flag="x")}}
    if gateway_endpoint:
        resources["S3Endpoint"] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": vpc, "VpcEndpointType": "Gateway", "ServiceName": f"com.amazonaws.{aws.region}.s3",
            "RouteTableIds": [{"Ref": "Routes"}]}}
        resources["Greeting"]["DependsOn"] = "S3Endpoint"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}),
                                Capabilities=["CAPABILITY_IAM"], DisableRollback=True)
    try:
        await_stack(aws, name, "create")
    except WaiterError:
        pass
    status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    if gateway_endpoint:
        assert status == "CREATE_COMPLETE"
    else:
        assert status == "CREATE_FAILED"
        assert _failed_reason(cloudformation, name, "Greeting").startswith(
            "CloudFormation did not receive a response from your Custom Resource.")
    cloudformation.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_failed_update_rolls_the_stack_back(aws, provider):
    """An Update answered FAILED: the resource UPDATE_FAILED with the provider's reason, the stack
    UPDATE_ROLLBACK_IN_PROGRESS ("The following resource(s) failed to update: [X]. "), the provider sent an Update
    back to the old properties (user guide, "Custom resources": update rollback), the stack UPDATE_ROLLBACK_COMPLETE,
    the resource as it was."""
    arn, function = provider
    cloudformation = aws.client("cloudformation")
    name = unique("fid-custom-update")
    template = {"Resources": {"Changing": _custom(arn, Name="first", Size="1", Flag="x")},
                "Outputs": {"Ref": {"Value": {"Ref": "Changing"}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    await_stack(aws, name, "create")
    template["Resources"]["Changing"]["Properties"]["Mode"] = "fail"
    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(template))
    with pytest.raises(WaiterError):
        await_stack(aws, name, "update")
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert _failed_reason(cloudformation, name, "Changing", "UPDATE_FAILED").startswith(
        "Received response status [FAILED] from custom resource. Message returned: the answer is no (RequestId: ")
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    assert any(e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS" and e["ResourceStatusReason"]
               == "The following resource(s) failed to update: [Changing]. " for e in events)
    requests = wait_for(lambda: _at_least(3, _requests(aws, function, "Changing")), what="the Update requests")
    assert [r["type"] for r in requests] == ["Create", "Update", "Update"]
    assert {r["old"].get("Mode") for r in requests[1:]} == {None, "fail"}  # there, and back
    [resource] = cloudformation.describe_stack_resources(StackName=name, LogicalResourceId="Changing")["StackResources"]
    assert resource["PhysicalResourceId"] == "phys-first"
    cloudformation.delete_stack(StackName=name)
