"""CloudFormation holds each resource's resolved properties to its type's registry schema and fails the
resource with its message: localaws.ext.cfn_property_validation.

AWS (re:Post knowledge center, "How do I resolve Model Validation Failed errors in CloudFormation?":
"CloudFormation uses Type, Allowed, Minimum, Maximum, and Pattern values as the acceptance criteria";
CloudFormation user guide, "Resource type schema"): a resource breaking its schema is CREATE_FAILED with
"Properties validation failed for resource X with message: #/Prop: ..." (answers quoted in public
repositories: "#: required key [IsLogging] not found", "#/Role: expected type: String, found:
JSONArray", "#/SourceArn: failed validation constraint for keyword [pattern]"), and the stack rolls back.
CloudFormation converts values as it reads them ("20" for an integer, 3306 for a string)."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import create_stack, failed_reasons, unique
from tests.fidelity.validation import NOT_YET_VALIDATED



def _deploy(aws, template: dict, parameters: dict | None = None) -> tuple[str, dict]:
    return create_stack(aws, "fid-schema", template, Parameters=[
        {"ParameterKey": key, "ParameterValue": value} for key, value in (parameters or {}).items()])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_value_outside_the_schema_fails_the_resource_and_rolls_back(aws):
    """AWS::Logs::LogGroup RetentionInDays: "Allowed values: 1 | 3 | 5 | 7 | 14 | ..." (template reference);
    13 fails the resource, nothing is left."""
    group = unique("fid-schema-logs")
    name, stack = _deploy(aws, {"Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": group, "RetentionInDays": 13}}}})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert failed_reasons(aws, name)["Logs"] == ("Properties validation failed for resource Logs with message: "
                                                 "#/RetentionInDays: failed validation constraint for keyword [enum]")
    assert not aws.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_value_known_only_at_deploy_time_is_checked_as_resolved(aws):
    """A parameter's value and Fn::Sub are resolved first: a log group name with a colon (LogGroupName
    "Pattern: ^[.\\-_/#A-Za-z0-9]{1,512}\\Z") fails, though the template's text has no colon."""
    name, stack = _deploy(aws, {
        "Parameters": {"Suffix": {"Type": "String"}},
        "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": {"Fn::Sub": "/ecs/${AWS::StackName}${Suffix}"}}}}}, {"Suffix": ":tasks"})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert failed_reasons(aws, name)["Logs"] == ("Properties validation failed for resource Logs with message: "
                                                 "#/LogGroupName: failed validation constraint for keyword [pattern]")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_every_problem_is_listed_in_cloudformation_s_words(aws):
    """Types, lengths, missing and unknown keys, each on its line."""
    name, stack = _deploy(aws, {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": ["a"], "Description": "d" * 1001, "Unknown": 1}}}})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert failed_reasons(aws, name)["Role"] == (
        "Properties validation failed for resource Role with message: "
        "#: extraneous key [Unknown] is not permitted\n"
        "#: required key [AssumeRolePolicyDocument] not found\n"
        "#/Description: expected maxLength: 1000, actual: 1001\n"
        "#/RoleName: expected type: String, found: JSONArray")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_intrinsics_dynamic_references_and_converted_values_pass(aws):
    """What CloudFormation resolves or converts is not a schema violation: Ref, Fn::GetAtt, Fn::Sub,
    a dynamic reference, "7" for an integer, 7 for a string, "true" for a boolean."""
    secrets = aws.client("secretsmanager")
    secret = secrets.create_secret(Name=unique("fid-schema"), SecretString='{"value": "from-the-secret"}')["Name"]
    name, stack = _deploy(aws, {"Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": "7"}},
        "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": f"{{{{resolve:secretsmanager:{secret}:SecretString:value}}}}",
            "Description": {"Fn::Sub": "for ${Logs} (${Logs.Arn})"}, "Tier": "Standard"}},
        "Other": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": 7,
                                                                 "Name": {"Fn::Sub": "/${AWS::StackName}/other"}}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": "true", "KeyPolicy": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}, "Action": "kms:*",
                "Resource": "*"}]}}}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE", failed_reasons(aws, name)
    aws.client("cloudformation").delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_update_breaking_the_schema_is_refused(aws):
    """The same check on UpdateStack's new properties; the local AWS refuses the update (ValidationError,
    CloudFormation's message) where AWS fails the resource and rolls the update back."""
    cloudformation = aws.client("cloudformation")
    good = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}}
    name, stack = _deploy(aws, good)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    bad = json.loads(json.dumps(good))
    bad["Resources"]["Logs"]["Properties"]["RetentionInDays"] = 8
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(bad))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == (
        "Properties validation failed for resource Logs with message: "
        "#/RetentionInDays: failed validation constraint for keyword [enum]")
    cloudformation.delete_stack(StackName=name)
