"""localaws.ext.cfn_secretsmanager and secrets_deletion: a secret's name across a teardown, as CloudFormation
and Secrets Manager keep it.

AWS: CloudFormation's AWS::SecretsManager::Secret handler deletes the secret without a recovery window
(ForceDeleteWithoutRecovery: the resource has no RecoveryWindowInDays property and its delete handler calls
DeleteSecret; cloudformation-coverage-roadmap issues #838 and #1999 ask for a window because "the default
deletionpolicy for an AWS::SecretsManager::Secret resource is force-delete-without-recovery"), so a second
deployment after a teardown may take the name again. A name deleted with a recovery window stays taken: CreateSecret
fails with InvalidRequestException "You can't create this secret because a secret with this name is already
scheduled for deletion." (DeleteSecret, CreateSecret API reference), which the stack reports as its resource's
CREATE_FAILED reason before rolling back; ForceDeleteWithoutRecovery of a secret already scheduled for deletion
deletes it ("If you forcibly delete an already deleted or nonexistent secret, the operation does not return
ResourceNotFoundException").
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.support.aws_helpers import await_stack, unique
from tests.fidelity.validation import NOT_YET_VALIDATED

SCHEDULED = "You can't create this secret because a secret with this name is already scheduled for deletion."


def _template(secret_name: str) -> str:
    return json.dumps({"Resources": {"Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": secret_name, "GenerateSecretString": {"PasswordLength": 20}}}}})


def _deploy(aws, stack: str, secret_name: str) -> None:
    aws.client("cloudformation").create_stack(StackName=stack, TemplateBody=_template(secret_name))
    await_stack(aws, stack, "create")


def _tear_down(aws, stack: str) -> None:
    aws.client("cloudformation").delete_stack(StackName=stack)
    await_stack(aws, stack, "delete")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_teardown_deletes_the_secret_without_recovery_and_the_next_deployment_takes_its_name(aws):
    sm = aws.client("secretsmanager")
    stack, secret_name = unique("fid-names"), unique("cfn/names")
    _deploy(aws, stack, secret_name)
    first_arn = sm.describe_secret(SecretId=secret_name)["ARN"]
    _tear_down(aws, stack)
    with pytest.raises(ClientError) as gone:
        sm.describe_secret(SecretId=first_arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException", "the secret is not gone for good"

    _deploy(aws, stack, secret_name)  # the second deployment into the same account

    assert sm.describe_secret(SecretId=secret_name)["ARN"] != first_arn
    _tear_down(aws, stack)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_name_scheduled_for_deletion_fails_the_deployment_with_secrets_managers_reason(aws):
    cfn, sm = aws.client("cloudformation"), aws.client("secretsmanager")
    stack, secret_name = unique("fid-taken"), unique("cfn/taken")
    arn = sm.create_secret(Name=secret_name, SecretString="left by an earlier run")["ARN"]
    sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)

    cfn.create_stack(StackName=stack, TemplateBody=_template(secret_name))
    with pytest.raises(WaiterError):
        await_stack(aws, stack, "create")

    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [event for event in cfn.describe_stack_events(StackName=stack)["StackEvents"]
                if event["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Secret"
    assert SCHEDULED in failed["ResourceStatusReason"]
    assert "DeletedDate" in sm.describe_secret(SecretId=arn), "the scheduled secret was touched"
    cfn.delete_stack(StackName=stack)
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_teardown_after_a_recoverable_delete_frees_the_name(aws):
    """Lab C's cleanup deletes its secret with a 7-day window; deleting the stack afterwards still deletes it
    for good (CloudFormation's forced delete), so the next deployment takes the name."""
    sm = aws.client("secretsmanager")
    stack, secret_name = unique("fid-cleanup"), unique("cfn/cleanup")
    _deploy(aws, stack, secret_name)
    sm.delete_secret(SecretId=secret_name, RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as taken:
        sm.create_secret(Name=secret_name, SecretString="too early")
    assert taken.value.response["Error"]["Message"] == SCHEDULED

    _tear_down(aws, stack)
    _deploy(aws, stack, secret_name)

    assert "DeletedDate" not in sm.describe_secret(SecretId=secret_name)
    _tear_down(aws, stack)
