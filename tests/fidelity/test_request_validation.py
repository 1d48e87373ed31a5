"""Every request is held to its operation's input shape in botocore's service model and refused with the
service's error and AWS's message: localaws.ext.request_validation.

AWS: each service's API reference gives each parameter's constraints (Length Constraints, Valid Range,
Pattern, Valid Values) and lists ValidationException ("The input fails to satisfy the constraints
specified by an AWS service") among its common errors (https://docs.aws.amazon.com/secretsmanager/latest/
apireference/CommonErrors.html); the message is "N validation error(s) detected: Value '...' at 'path'
failed to satisfy constraint: Member must ...", the violations joined by "; ", a sensitive member's value
never quoted (answers quoted in the module's SERVICES)."""
from __future__ import annotations

import boto3
import pytest
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.ext.request_validation import SERVICES
from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED


def _refused(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return refused.value.response["Error"]


def _model_pattern(service: str, operation: str, member: str) -> str:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    return shape.members[member].metadata["pattern"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_value_longer_than_the_model_allows_is_refused(aws):
    """CreateSecret Name: "Length Constraints: Minimum length of 1. Maximum length of 512." (Secrets Manager
    API reference, CreateSecret); nothing is created."""
    secrets = aws.client("secretsmanager")
    name = "n" * 513
    error = _refused(secrets.create_secret, Name=name, SecretString="x")
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
                                "Member must have length less than or equal to 512")
    assert not secrets.list_secrets(Filters=[{"Key": "name", "Values": [name[:20]]}])["SecretList"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_nested_member_out_of_range_names_its_path(aws):
    """RotateSecret RotationRules.AutomaticallyAfterDays: "Valid Range: Minimum value of 1. Maximum value of
    1000." (Secrets Manager API reference, RotationRulesType)."""
    secrets = aws.client("secretsmanager")
    arn = secrets.create_secret(Name=unique("fid-valid"), SecretString="x")["ARN"]
    error = _refused(secrets.rotate_secret, SecretId=arn, RotationLambdaARN=arn.replace("secretsmanager", "lambda"),
                     RotationRules={"AutomaticallyAfterDays": 1001})
    assert error["Code"] == "ValidationException"
    assert error["Message"] == ("1 validation error detected: Value '1001' at 'rotationRules.automaticallyAfterDays' "
                                "failed to satisfy constraint: Member must have value less than or equal to 1000")


@pytest.mark.local_only("builds its own client to the local AWS's endpoint, botocore's parameter checks off")
def test_every_violation_is_listed_with_the_service_s_own_code(local_aws):
    """CloudWatch Logs answers InvalidParameterException, pattern before length, "; " between them
    (CreateLogGroup logGroupName: "Length Constraints: Minimum length of 1. Maximum length of 512.
    Pattern: [\\.\\-_/#A-Za-z0-9]+"). The client's own check of the minimum is off here, as another SDK's
    could be."""
    logs = boto3.client("logs", region_name=local_aws.region, endpoint_url=local_aws.endpoint_url,
                        config=Config(parameter_validation=False), **local_aws.admin.as_client_kwargs())
    error = _refused(logs.create_log_group, logGroupName="")
    assert error["Code"] == SERVICES["logs"].code == "InvalidParameterException"
    assert error["Message"] == (
        "2 validation errors detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; Value '' at 'logGroupName' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_query_service_answers_validation_error(aws):
    """IAM CreateRole RoleName: "Maximum length of 64. Pattern: [\\w+=,.@-]+" (IAM API reference, CreateRole);
    CloudFormation CreateStack OnFailure: "Valid Values: DO_NOTHING | ROLLBACK | DELETE"; both answer
    ValidationError, and no stack is made."""
    role = "r" * 65
    error = _refused(aws.client("iam").create_role, RoleName=role, AssumeRolePolicyDocument="{}")
    assert (error["Code"], error["Message"]) == ("ValidationError", (
        f"1 validation error detected: Value '{role}' at 'roleName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"))
    cloudformation, name = aws.client("cloudformation"), unique("fid-valid")
    error = _refused(cloudformation.create_stack, StackName=name, OnFailure="KEEP", TemplateBody=(
        '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'))
    assert (error["Code"], error["Message"]) == ("ValidationError", (
        "1 validation error detected: Value 'KEEP' at 'onFailure' failed to satisfy constraint: Member must "
        "satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]"))
    assert name not in [stack["StackName"] for stack in cloudformation.list_stacks()["StackSummaries"]]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_enum_lists_its_values_and_a_sensitive_value_is_never_quoted(aws):
    """SSM PutParameter Type: "Valid Values: String | StringList | SecureString"; Value is sensitive in the
    model, and AWS leaves such a value out of its message ("Value at 'secretBinary' failed ...")."""
    ssm = aws.client("ssm")
    error = _refused(ssm.put_parameter, Name=unique("fid-valid"), Value="v", Type="Secret")
    assert (error["Code"], error["Message"]) == ("ValidationException", (
        "1 validation error detected: Value 'Secret' at 'type' failed to satisfy constraint: Member must satisfy "
        "enum value set: [String, StringList, SecureString]"))
    secrets = aws.client("secretsmanager")
    value = "s3cret-" + "v" * 65536
    error = _refused(secrets.create_secret, Name=unique("fid-valid"), SecretString=value)
    assert error["Message"] == ("1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
                                "Member must have length less than or equal to 65536")
    assert "s3cret" not in error["Message"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_ecr_words_it_its_own_way(aws):
    """ECR CreateRepository repositoryName: "Length Constraints: Minimum length of 2. Maximum length of 256.
    Pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"; ECR answers
    InvalidParameterException "Invalid parameter at 'repositoryName' failed to satisfy constraint: ..."."""
    error = _refused(aws.client("ecr").create_repository, repositoryName="Workshop")
    assert error["Code"] == "InvalidParameterException"
    pattern = _model_pattern("ecr", "CreateRepository", "repositoryName")  # the model's, newer than the quote's
    assert error["Message"] == ("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
                                f"regular expression '{pattern}''")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_valid_request_is_served(aws):
    secrets = aws.client("secretsmanager")
    arn = secrets.create_secret(Name=unique("fid-valid"), SecretString="x" * 65536)["ARN"]
    assert secrets.describe_secret(SecretId=arn)["ARN"] == arn
