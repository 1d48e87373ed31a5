"""localaws.ext.secrets_answers: Secrets Manager's answers as its API reference documents them.

AWS: Secrets Manager API reference, DescribeSecret ("VersionIdsToStages ... A version that does
not have any staging labels attached is considered deprecated", "LastAccessedDate ... rounded
to the date"), ListSecretVersionIds ("IncludeDeprecated ... By default, versions without
staging labels aren't included"), ListSecrets (SecretVersionsToStages), DeleteSecret
(DeletedDate), RotateSecret (LastRotatedDate, NextRotationDate).
"""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED

DAY = 86400


@pytest.fixture()
def secret_with_history(aws):
    """A secret with three versions: AWSCURRENT, AWSPREVIOUS, and one that lost its labels."""
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("fid-answers"), SecretString="v1")["ARN"]
    first = sm.list_secret_version_ids(SecretId=arn)["Versions"][0]["VersionId"]
    sm.put_secret_value(SecretId=arn, SecretString="v2")
    sm.put_secret_value(SecretId=arn, SecretString="v3")  # v1 loses AWSPREVIOUS: deprecated
    return sm, arn, first


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_describe_secret_lists_labelled_versions_and_no_nulls(aws, secret_with_history, snapshot):
    sm, arn, deprecated = secret_with_history
    described = sm.describe_secret(SecretId=arn)
    snapshot.match("secretsmanager_describe_secret", described,
                   ["VersionIdsToStages", "SecretVersionsToStages", "DeletedDate"])
    assert deprecated not in described["VersionIdsToStages"]
    assert sorted(described["VersionIdsToStages"].values()) == [["AWSCURRENT"], ["AWSPREVIOUS"]]
    assert "SecretVersionsToStages" not in described and "DeletedDate" not in described
    listed = next(entry for entry in sm.list_secrets()["SecretList"] if entry["ARN"] == arn)
    snapshot.match("secretsmanager_list_secrets", {"SecretList": [listed]},
                   ["SecretList[].SecretVersionsToStages", "SecretList[].VersionIdsToStages"])
    assert listed["SecretVersionsToStages"] == described["VersionIdsToStages"] and "VersionIdsToStages" not in listed


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_last_accessed_date_is_the_day_of_the_last_read(aws, secret_with_history):
    sm, arn, _ = secret_with_history
    assert "LastAccessedDate" not in sm.describe_secret(SecretId=arn)  # never read yet
    sm.get_secret_value(SecretId=arn)
    accessed = sm.describe_secret(SecretId=arn)["LastAccessedDate"]
    assert accessed.timestamp() % DAY == 0 and time.time() - accessed.timestamp() < DAY
    current = next(v for v in sm.list_secret_version_ids(SecretId=arn)["Versions"]
                   if "AWSCURRENT" in v["VersionStages"])
    assert current["LastAccessedDate"] == accessed


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_list_secret_version_ids_answers_the_arn_fixed_dates_and_deprecated_versions_on_request(
        aws, secret_with_history, snapshot):
    sm, arn, deprecated = secret_with_history
    by_name = sm.list_secret_version_ids(SecretId=arn.split(":secret:")[1][:-7])
    snapshot.match("secretsmanager_list_secret_version_ids", by_name,
                   ["ARN", "NextToken", "Versions[].VersionId", "Versions[].VersionStages", "Versions[].CreatedDate"])
    assert by_name["ARN"] == arn and "NextToken" not in by_name
    assert deprecated not in [v["VersionId"] for v in by_name["Versions"]]
    everything = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
    assert deprecated in [v["VersionId"] for v in everything]
    time.sleep(1.1)
    again = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
    assert [v["CreatedDate"] for v in again] == [v["CreatedDate"] for v in everything]  # not the time of the call
    page = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True, MaxResults=2)
    rest = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True, MaxResults=2, NextToken=page["NextToken"])
    assert len(page["Versions"]) == 2 and len(rest["Versions"]) == 1 and "NextToken" not in rest
    with pytest.raises(sm.exceptions.InvalidNextTokenException):
        sm.list_secret_version_ids(SecretId=arn, NextToken="not-a-token")
    # MaxResults "Valid Range: Minimum value of 1. Maximum value of 100." (API reference), refused as every
    # constraint of the model is (request_validation; a Secrets Manager answer: jenkinsci/aws-secrets-manager-
    # credentials-provider-plugin#235).
    with pytest.raises(ClientError) as refused:
        sm.list_secret_version_ids(SecretId=arn, MaxResults=101)
    assert refused.value.response["Error"] == {"Code": "ValidationException", "Message": (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100")}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_scheduled_deletion_has_a_deleted_date(aws):
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("fid-deleted"), SecretString="x")["ARN"]
    sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    assert "DeletedDate" in sm.describe_secret(SecretId=arn)
    sm.restore_secret(SecretId=arn)
    assert "DeletedDate" not in sm.describe_secret(SecretId=arn)
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
