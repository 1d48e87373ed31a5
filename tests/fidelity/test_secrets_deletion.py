"""localaws.ext.secrets_deletion (with moto's own DeleteSecret and RestoreSecret): a deleted secret is
recoverable for its window, keeps its name, and comes back with its versions.

AWS, Secrets Manager API reference: DeleteSecret ("Secrets Manager doesn't immediately delete the
secret. Instead, Secrets Manager ... marks the secret for deletion ... RecoveryWindowInDays ... from 7
to 30 days"; "At any time before recovery window ends, you can use RestoreSecret to remove the
DeletionDate"; "you can't ... retrieve the secret value" meanwhile: InvalidRequestException;
ForceDeleteWithoutRecovery deletes without a recovery window); CreateSecret (InvalidRequestException
when "a secret with this name is already scheduled for deletion").
"""
from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_delete_with_a_recovery_window_marks_keeps_the_name_and_restores(aws):
    sm = aws.client("secretsmanager")
    name = unique("fid-delete")
    arn = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    sm.put_secret_value(SecretId=arn, SecretString="v2")
    versions = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    asked = datetime.datetime.now(datetime.timezone.utc)
    answer = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    described = sm.describe_secret(SecretId=arn)
    # DeletionDate: "the date and time of the delete request plus the number of days specified in
    # RecoveryWindowInDays"; DescribeSecret's DeletedDate: "the date the secret is scheduled for deletion".
    assert round((answer["DeletionDate"] - asked).total_seconds() / 86400) == 7
    assert "DeletedDate" in described
    with pytest.raises(ClientError) as unreadable:
        sm.get_secret_value(SecretId=arn)
    assert unreadable.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as taken:
        sm.create_secret(Name=name, SecretString="another")
    assert taken.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "already scheduled for deletion" in taken.value.response["Error"]["Message"]
    sm.restore_secret(SecretId=arn)
    restored = sm.describe_secret(SecretId=arn)
    assert "DeletedDate" not in restored and restored["VersionIdsToStages"] == versions
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v2"
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.mark.parametrize("window", [6, 31])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_recovery_window_outside_7_to_30_days_is_refused(aws, window):
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("fid-window"), SecretString="v1")["ARN"]
    with pytest.raises(ClientError) as refused:
        sm.delete_secret(SecretId=arn, RecoveryWindowInDays=window)
    assert refused.value.response["Error"]["Code"] in ("InvalidParameterException", "ValidationException")
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_force_delete_removes_the_secret_and_frees_its_name(aws):
    sm = aws.client("secretsmanager")
    name = unique("fid-force")
    arn = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as gone:
        sm.describe_secret(SecretId=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    again = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    sm.delete_secret(SecretId=again, ForceDeleteWithoutRecovery=True)
