"""localaws.ext.lambda_execution_role (and localaws.service_roles): Lambda takes an execution role only
when its trust policy admits lambda.amazonaws.com and, for a function in a VPC, when the role may manage
the function's network interfaces.

AWS: Lambda developer guide, "Defining Lambda function permissions with an execution role" (the role's
trust policy must allow lambda.amazonaws.com sts:AssumeRole; otherwise CreateFunction and
UpdateFunctionConfiguration fail with InvalidParameterValueException "The role defined for the function
cannot be assumed by Lambda."), and "Giving Lambda functions access to resources in an Amazon VPC"
(the execution role needs ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces and
ec2:DeleteNetworkInterface, as AWSLambdaVPCAccessExecutionRole grants; otherwise: "The provided
execution role does not have permissions to call CreateNetworkInterface on EC2"). Through CloudFormation,
the function's CREATE_FAILED carries the message and the stack rolls back.
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.support.aws_helpers import LAMBDA_TRUST, RUNTIME, THIS_ACCOUNT, VPC_ACCESS, in_account, lambda_zip, unique
from tests.fidelity.validation import NOT_YET_VALIDATED

NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
SOURCE = "def handler(event, context):\n    return 'ran'\n"


def _role(aws, trust: dict, *statements: dict) -> str:
    iam = aws.client("iam")
    name = unique("fid-exec")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    return arn


def _trust(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _create(aws, role: str, **extra) -> dict:
    return aws.client("lambda").create_function(
        FunctionName=unique("fid-role-fn"), Runtime=RUNTIME, Role=role, Handler="index.handler",
        Code={"ZipFile": lambda_zip(SOURCE)}, **extra)


def _refused(aws, role: str, **extra) -> str:
    with pytest.raises(ClientError) as refused:
        _create(aws, role, **extra)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    return refused.value.response["Error"]["Message"]


ALLOW_LAMBDA = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize(("trust", "accepted"), [
    (LAMBDA_TRUST, True),
    (_trust({**ALLOW_LAMBDA, "Principal": {"Service": "ec2.amazonaws.com"}}), False),
    (_trust({**ALLOW_LAMBDA, "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}}), True),
    (_trust(ALLOW_LAMBDA, {**ALLOW_LAMBDA, "Effect": "Deny"}), False),
    (_trust({**ALLOW_LAMBDA, "Condition": {"StringEquals": {"aws:SourceAccount": THIS_ACCOUNT}}}), True),
    (_trust({**ALLOW_LAMBDA, "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321"}}}), False),
], ids=["lambda", "ec2-only", "ec2-and-lambda", "explicit-deny", "own-account-condition", "other-account-condition"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_create_function_needs_a_role_lambda_may_assume(aws, trust, accepted):
    role = _role(aws, in_account(aws, trust))
    if accepted:
        assert _create(aws, role)["Role"] == role
    else:
        assert _refused(aws, role) == NOT_ASSUMABLE


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_update_function_configuration_refuses_a_role_lambda_may_not_assume(aws):
    lam = aws.client("lambda")
    name = _create(aws, _role(aws, LAMBDA_TRUST))["FunctionName"]
    ec2_role = _role(aws, _trust({**ALLOW_LAMBDA, "Principal": {"Service": "ec2.amazonaws.com"}}))
    with pytest.raises(ClientError) as refused:
        lam.update_function_configuration(FunctionName=name, Role=ec2_role)
    assert refused.value.response["Error"]["Message"] == NOT_ASSUMABLE
    assert lam.get_function_configuration(FunctionName=name)["Role"] != ec2_role


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_invoke_runs_as_the_role_and_fails_once_lambda_may_not_assume_it(aws):
    """A cold start assumes the role again: a trust policy changed since creation fails the invocation."""
    lam, iam = aws.client("lambda"), aws.client("iam")
    role = _role(aws, LAMBDA_TRUST)
    name = _create(aws, role, Environment={"Variables": {"RUN": "1"}})["FunctionName"]
    assert json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()) == "ran"
    iam.update_assume_role_policy(RoleName=role.rsplit("/", 1)[-1], PolicyDocument=json.dumps(
        _trust({**ALLOW_LAMBDA, "Principal": {"Service": "ec2.amazonaws.com"}})))
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"RUN": "2"}})  # a new environment
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert refused.value.response["Error"]["Message"] == NOT_ASSUMABLE


@pytest.mark.parametrize(("actions", "missing"), [
    ((), "CreateNetworkInterface"),
    (("ec2:CreateNetworkInterface",), "DescribeNetworkInterfaces"),
    (("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces"), "DeleteNetworkInterface"),
    (tuple(VPC_ACCESS["Action"]), None),
], ids=["none", "create-only", "no-delete", "vpc-access"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_function_in_a_vpc_needs_a_role_that_manages_its_network_interfaces(aws, private_network,
                                                                            actions, missing):
    statements = [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}] if actions else []
    role = _role(aws, LAMBDA_TRUST, *statements)
    vpc = {"SubnetIds": private_network["subnets"], "SecurityGroupIds": [private_network["function"]]}
    if missing is None:
        assert _create(aws, role, VpcConfig=vpc)["VpcConfig"]["SubnetIds"]
    else:
        assert _refused(aws, role, VpcConfig=vpc) == (
            f"The provided execution role does not have permissions to call {missing} on EC2")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_attaching_a_function_to_a_vpc_needs_the_network_interface_permissions(aws, private_network):
    lam = aws.client("lambda")
    name = _create(aws, _role(aws, LAMBDA_TRUST))["FunctionName"]  # outside a VPC: no ENI needed
    with pytest.raises(ClientError) as refused:
        lam.update_function_configuration(FunctionName=name, VpcConfig={
            "SubnetIds": private_network["subnets"], "SecurityGroupIds": [private_network["function"]]})
    assert refused.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call CreateNetworkInterface on EC2")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_function_whose_role_trusts_ec2_rolls_its_stack_back(aws):
    cloudformation = aws.client("cloudformation")
    name = unique("fid-role-trust")
    ec2_trust = _trust({**ALLOW_LAMBDA, "Principal": {"Service": "ec2.amazonaws.com"}})
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ec2_trust}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": RUNTIME, "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": SOURCE}}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    with pytest.raises(WaiterError):
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name,
                                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Function"
    assert failed["ResourceStatusReason"].startswith(f'Resource handler returned message: "{NOT_ASSUMABLE}"')
    cloudformation.delete_stack(StackName=name)


@pytest.mark.parametrize("allowed", [True, False], ids=["basic-execution", "no-log-permissions"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_function_logs_as_its_role(aws, allowed):
    """"Sending Lambda function logs to CloudWatch Logs": Lambda writes the function's log group and
    streams with the execution role's permissions (AWSLambdaBasicExecutionRole: logs:CreateLogGroup,
    CreateLogStream, PutLogEvents); a role without them runs the function, and no group is made."""
    statements = [{"Effect": "Allow", "Resource": "*",
                   "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}] if allowed else []
    name = _create(aws, _role(aws, LAMBDA_TRUST, *statements))["FunctionName"]
    assert json.loads(aws.client("lambda").invoke(FunctionName=name, Payload=b"{}")["Payload"].read()) == "ran"
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert bool(groups) is allowed
