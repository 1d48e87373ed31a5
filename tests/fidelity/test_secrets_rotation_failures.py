"""localaws.ext.secrets_rotation and secrets_staging_labels: what a failed rotation leaves, and what the next
RotateSecret does, as Secrets Manager documents them.

AWS (Secrets Manager user guide, "How rotation works"/"Rotation by Lambda function"; API reference,
RotateSecret, GetSecretValue, DescribeSecret, CancelRotateSecret; CloudTrail user guide, RotationAbandoned).
The rotation function here fails on purpose at a chosen step (FAIL_STEP).
"""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import (ROTATION_HANDLER, create_function, create_lambda_role, log_messages,
                                    rotatable_secret, unique, wait_for)
from tests.support.aws_helpers import label_holders as _holder
from tests.support.aws_helpers import steps_logged as _steps_logged
from tests.support.aws_helpers import version_stages as _stages
from tests.fidelity.validation import NOT_YET_VALIDATED

UNFINISHED = "A previous rotation isn't complete. That rotation will be reattempted."
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


@pytest.fixture(scope="module")
def rotation_role(aws):
    name = unique("rotation-role")
    create_lambda_role(aws, name)
    return name


def _failing_function(aws, role_name: str, step: str) -> tuple[str, str]:
    arn = aws.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    name = unique(f"rotation-fails-{step[:-6].lower()}")
    return name, create_function(aws, name, ROTATION_HANDLER, arn, environment={"FAIL_STEP": step})


def _failed_rotation(aws, role_name: str, step: str) -> dict:
    """A rotation whose function fails at `step`, once Secrets Manager has seen the failure."""
    sm = aws.client("secretsmanager")
    name, function_arn = _failing_function(aws, role_name, step)
    arn = rotatable_secret(aws, role_name, "kept")
    before = _stages(sm, arn)
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn,
                             RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]
    wait_for(lambda: any(f"failing at {step} on purpose" in line for line in log_messages(aws, name)),
             timeout=30, what=f"the {step} failure in the function's log")
    time.sleep(0.5)  # Secrets Manager's side of the failed step
    return {"arn": arn, "function": name, "function_arn": function_arn, "token": token, "before": before,
            "after": _stages(sm, arn)}


@pytest.fixture(scope="module", params=STEPS)
def failed(request, aws, rotation_role):
    return {"step": request.param, **_failed_rotation(aws, rotation_role, request.param)}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_failed_step_ends_the_rotation_and_awscurrent_stays(aws, failed):
    """A failed step ends the rotation: the later steps are not invoked, nothing moves AWSCURRENT (it moves
    only in finishSecret, "How rotation works"), and GetSecretValue without VersionId or VersionStage
    answers the AWSCURRENT version ("If you don't specify either a VersionStage or VersionId, Secrets
    Manager returns the AWSCURRENT version"): the old value, not the new version's."""
    sm = aws.client("secretsmanager")
    (old,) = _holder(failed["before"], "AWSCURRENT")
    steps = [step for step, token in _steps_logged(aws, failed["function"], failed["arn"])
             if token == failed["token"]]
    assert steps == STEPS[:STEPS.index(failed["step"]) + 1]
    assert _holder(failed["after"], "AWSCURRENT") == [old]
    plain = sm.get_secret_value(SecretId=failed["arn"])
    assert (plain["SecretString"], plain["VersionId"]) == ("kept", old)
    assert sorted(plain["VersionStages"]) == ["AWSCURRENT"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_new_version_keeps_awspending_empty_if_create_secret_failed(aws, failed):
    """RotateSecret: "When rotation is unsuccessful, the AWSPENDING staging label might be attached to an
    empty secret version": the version RotateSecret made holds AWSPENDING only, without a value when
    createSecret failed (GetSecretValue: ResourceNotFoundException), with the function's value after it."""
    sm = aws.client("secretsmanager")
    assert failed["after"][failed["token"]] == ["AWSPENDING"]
    if failed["step"] == "createSecret":
        with pytest.raises(ClientError) as empty:
            sm.get_secret_value(SecretId=failed["arn"], VersionStage="AWSPENDING")
        assert empty.value.response["Error"]["Code"] == "ResourceNotFoundException"
    else:
        pending = sm.get_secret_value(SecretId=failed["arn"], VersionStage="AWSPENDING")
        assert (pending["VersionId"], pending["SecretString"]) == (failed["token"], "kept+rotated")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_describe_secret_shows_rotation_on_and_never_rotated(aws, failed):
    """DescribeSecret: RotationEnabled stays true; LastRotatedDate, "The last date and time that Secrets
    Manager rotated the secret", is absent: it never rotated."""
    described = aws.client("secretsmanager").describe_secret(SecretId=failed["arn"])
    assert described["RotationEnabled"] is True
    assert "LastRotatedDate" not in described
    assert described["VersionIdsToStages"] == failed["after"]


@pytest.mark.parametrize("immediately", [True, False], ids=["rotate-immediately", "test-only"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_next_rotate_secret_is_refused(aws, failed, immediately):
    """RotateSecret: "If the AWSPENDING staging label is present but not attached to the same version as
    AWSCURRENT, then any later invocation of RotateSecret assumes that a previous rotation request is still
    in progress and returns an error": InvalidRequestException, "A previous rotation isn't complete. That
    rotation will be reattempted." No new version is made; AWSCURRENT stays."""
    sm = aws.client("secretsmanager")
    with pytest.raises(ClientError) as refused:
        sm.rotate_secret(SecretId=failed["arn"], RotateImmediately=immediately)
    assert refused.value.response["Error"] == {"Code": "InvalidRequestException", "Message": UNFINISHED}
    time.sleep(0.5)
    after = _stages(sm, failed["arn"])
    assert set(after) == set(failed["after"])
    assert _holder(after, "AWSCURRENT") == _holder(failed["after"], "AWSCURRENT")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_refused_rotation_is_reattempted_with_its_own_version(aws, rotation_role):
    """"That rotation will be reattempted": once the cause is gone, the refused RotateSecret has Secrets
    Manager run the unfinished rotation again, all four steps ("If any rotation step fails, Secrets Manager
    retries the entire rotation process"), with the same ClientRequestToken ("prevent the accidental creation
    of duplicate versions if there are failures and retries during a rotation"): that version becomes
    AWSCURRENT, no other is made, and LastRotatedDate is set."""
    sm, lam = aws.client("secretsmanager"), aws.client("lambda")
    failed = _failed_rotation(aws, rotation_role, "testSecret")
    lam.update_function_configuration(FunctionName=failed["function"], Environment={"Variables": {}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=failed["function"])

    with pytest.raises(ClientError) as refused:
        sm.rotate_secret(SecretId=failed["arn"])

    assert refused.value.response["Error"]["Message"] == UNFINISHED
    wait_for(lambda: _stages(sm, failed["arn"]).get(failed["token"]) == ["AWSCURRENT"], timeout=30,
             what="the reattempted rotation to finish")
    after = _stages(sm, failed["arn"])
    assert set(after) == set(failed["before"]) | {failed["token"]}
    steps = [step for step, token in _steps_logged(aws, failed["function"], failed["arn"])]
    assert steps == STEPS[:3] + STEPS
    assert {token for _, token in _steps_logged(aws, failed["function"], failed["arn"])} == {failed["token"]}
    assert sm.get_secret_value(SecretId=failed["arn"])["SecretString"] == "kept+rotated"
    assert "LastRotatedDate" in sm.describe_secret(SecretId=failed["arn"])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_new_version_abandons_the_unfinished_rotation(aws, rotation_role):
    """CloudTrail user guide, RotationAbandoned: "Secrets Manager abandons rotation when you create a new
    version of a secret during rotation" and "removes the AWSPENDING label from an existing version"; the
    new value is AWSCURRENT, the old one AWSPREVIOUS, and the next RotateSecret starts a new rotation."""
    sm = aws.client("secretsmanager")
    failed = _failed_rotation(aws, rotation_role, "setSecret")
    (old,) = _holder(failed["before"], "AWSCURRENT")

    put = sm.put_secret_value(SecretId=failed["arn"], SecretString="set by hand")["VersionId"]

    stages = _stages(sm, failed["arn"])
    assert _holder(stages, "AWSPENDING") == []
    assert stages[put] == ["AWSCURRENT"] and stages[old] == ["AWSPREVIOUS"]
    assert failed["token"] not in stages, "the abandoned version still has a label"
    assert sm.rotate_secret(SecretId=failed["arn"])["VersionId"] not in (failed["token"], put)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_removing_awspending_by_hand_lets_the_next_rotation_start(aws, rotation_role):
    """CancelRotateSecret's and the troubleshooting guide's remedy: remove AWSPENDING from the unfinished
    version (UpdateSecretVersionStage with RemoveFromVersionId only); RotateSecret then starts a rotation
    with a new version."""
    sm = aws.client("secretsmanager")
    failed = _failed_rotation(aws, rotation_role, "createSecret")
    sm.update_secret_version_stage(SecretId=failed["arn"], VersionStage="AWSPENDING",
                                   RemoveFromVersionId=failed["token"])
    token = sm.rotate_secret(SecretId=failed["arn"])["VersionId"]
    assert token != failed["token"]
    assert _stages(sm, failed["arn"])[token] == ["AWSPENDING"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cancel_rotate_secret_answers_the_unfinished_version_and_leaves_its_label(aws, rotation_role):
    """CancelRotateSecret turns rotation off and answers "The unique identifier of the version of the secret
    created during the rotation"; the labels stay as they are ("Failing to clean up a cancelled rotation can
    block you from starting future rotations"): RotateSecret is still refused."""
    sm = aws.client("secretsmanager")
    failed = _failed_rotation(aws, rotation_role, "setSecret")
    answer = sm.cancel_rotate_secret(SecretId=failed["arn"])
    assert answer["VersionId"] == failed["token"]
    assert sm.describe_secret(SecretId=failed["arn"])["RotationEnabled"] is False
    assert _stages(sm, failed["arn"]) == failed["after"]
    with pytest.raises(ClientError) as refused:
        sm.rotate_secret(SecretId=failed["arn"])
    assert refused.value.response["Error"]["Message"] == UNFINISHED
