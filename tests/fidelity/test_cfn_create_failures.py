"""localaws.ext.cfn_create_failures: a resource that fails to create fails the stack, which rolls back."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import WaiterError

from localaws.ext.lambda_runtime_lifecycle import blocked
from tests.support.aws_helpers import await_stack, create_stack, LAMBDA_TRUST, unique
from tests.fidelity.validation import NOT_YET_VALIDATED



@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_refused_resource_rolls_the_stack_back(aws):
    """CREATE_FAILED on the resource with the service's message ("Resource handler returned message"),
    ROLLBACK_IN_PROGRESS naming it, what was made deleted, ROLLBACK_COMPLETE; the create waiter fails
    (CloudFormation user guide, "Stack status codes"). Here Lambda refuses a blocked runtime."""
    cloudformation = aws.client("cloudformation")
    name = unique("fid-rollback")
    runtime = blocked("create-block")[-1]
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST}},
        "Old": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": runtime, "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"}}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    with pytest.raises(WaiterError):
        await_stack(aws, name, "create", timeout=30)
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Old" and failed["ResourceType"] == "AWS::Lambda::Function"
    assert failed["ResourceStatusReason"].startswith(
        f'Resource handler returned message: "The runtime parameter of {runtime} is no longer supported')
    assert any(e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS" and "[Old]" in e.get("ResourceStatusReason", "")
               for e in events)
    assert any(e["LogicalResourceId"] == "Role" and e["ResourceStatus"] == "DELETE_COMPLETE" for e in events)
    role_names = [r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]]
    assert not [role for role in role_names if role.startswith(f"{name}-Role-")]
    cloudformation.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_resource_whose_condition_is_false_is_not_made_nor_listed(aws):
    """ListStackResources and DescribeStackResources list only the resources made."""
    cfn = aws.client("cloudformation")
    template = {"Parameters": {"Make": {"Type": "String", "Default": ""}},
                "Conditions": {"Making": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Make"}, ""]}]}},
                "Resources": {"Always": {"Type": "AWS::SQS::Queue"},
                              "Sometimes": {"Type": "AWS::SQS::Queue", "Condition": "Making"}}}
    name, _ = create_stack(aws, "fid-condition", template)
    try:
        listed = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        described = cfn.describe_stack_resources(StackName=name)["StackResources"]
        assert [item["LogicalResourceId"] for item in listed] == ["Always"]
        assert [item["LogicalResourceId"] for item in described] == ["Always"]
    finally:
        cfn.delete_stack(StackName=name)
