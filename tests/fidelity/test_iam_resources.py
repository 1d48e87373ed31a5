"""localaws.ext.iam_enforcement: ECR repository actions are authorised against the repository's ARN, and
GetRolePolicy returns a CloudFormation-made inline role policy as a JSON document."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from suite.credentials import Credentials
from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED

POLICY_NAME = "pull-from-one-repository"


def _template(allowed: str, other: str, caller: str) -> str:
    return json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Allowed": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": allowed}},
            "Other": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": other}},
            "PullRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Principal": {"AWS": caller}}],
                    },
                    "Policies": [{
                        "PolicyName": POLICY_NAME,
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                                {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"],
                                 "Resource": {"Fn::GetAtt": ["Allowed", "Arn"]}},
                            ],
                        },
                    }],
                },
            },
        },
        "Outputs": {
            "RoleName": {"Value": {"Ref": "PullRole"}},
            "RoleArn": {"Value": {"Fn::GetAtt": ["PullRole", "Arn"]}},
            "AllowedArn": {"Value": {"Fn::GetAtt": ["Allowed", "Arn"]}},
            "OtherArn": {"Value": {"Fn::GetAtt": ["Other", "Arn"]}},
        },
    })


@pytest.fixture(scope="module")
def stack(aws):
    """Two repositories and a role (CloudFormation, inline policy) allowed to pull from the first only."""
    cfn = aws.client("cloudformation")
    names = {"stack": unique("fid-ecr-iam"), "allowed": unique("fid-allowed"), "other": unique("fid-other")}
    template = _template(names["allowed"], names["other"], aws.caller_principal)
    cfn.create_stack(StackName=names["stack"], TemplateBody=template, Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName=names["stack"], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=names["stack"])["Stacks"][0]["Outputs"]}
    yield {**names, **outputs}
    cfn.delete_stack(StackName=names["stack"])


@pytest.fixture(scope="module")
def role_ecr(aws, stack):
    """An ECR client acting as the assumed role."""
    assumed = aws.client("sts").assume_role(RoleArn=stack["RoleArn"], RoleSessionName="fidelity-pull")
    c = assumed["Credentials"]
    return aws.client("ecr", Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_get_role_policy_returns_a_cloudformation_inline_policy_as_a_document(aws, stack):
    """GetRolePolicy returns the inline policy's PolicyDocument as a URL-encoded JSON document (the SDK gives
    it back decoded), whether the policy was made by PutRolePolicy or by CloudFormation's Policies."""
    iam = aws.client("iam")
    assert iam.list_role_policies(RoleName=stack["RoleName"])["PolicyNames"] == [POLICY_NAME]
    document = iam.get_role_policy(RoleName=stack["RoleName"], PolicyName=POLICY_NAME)["PolicyDocument"]
    assert isinstance(document, dict)
    assert document["Version"] == "2012-10-17"
    assert document["Statement"][1]["Resource"] == stack["AllowedArn"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_repository_arn_allow_opens_that_repository_only(role_ecr, stack):
    """ECR authorises BatchGetImage against the repository's ARN ("arn:${Partition}:ecr:${Region}:${Account}:
    repository/${RepositoryName}"): allowed on the named repository, AccessDeniedException on another one,
    naming that repository's ARN."""
    found = role_ecr.batch_get_image(repositoryName=stack["allowed"], imageIds=[{"imageTag": "latest"}])
    assert found["images"] == [] and found["failures"][0]["failureCode"] == "ImageNotFound"
    with pytest.raises(ClientError) as denied:
        role_ecr.batch_get_image(repositoryName=stack["other"], imageIds=[{"imageTag": "latest"}])
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"ecr:BatchGetImage on resource: {stack['OtherArn']}" in error["Message"]

