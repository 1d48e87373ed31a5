"""localaws.ext.secrets_rotation: staging labels and RotateSecret as Secrets Manager documents them."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import (ROTATION_HANDLER, create_function, create_lambda_role, lambda_zip, log_messages,
                                    unique, wait_for)
from tests.support.aws_helpers import THIS_ACCOUNT, in_account, rotatable_secret
from tests.support.aws_helpers import label_holders as _holder
from tests.support.aws_helpers import steps_logged as _steps_logged
from tests.support.aws_helpers import version_stages as _stages
from tests.fidelity.validation import NOT_YET_VALIDATED

SLOW_STEP_SECONDS = 1.5


@pytest.fixture(scope="module")
def rotation_role(aws):
    name = unique("rotation-role")
    create_lambda_role(aws, name)
    return name


@pytest.fixture(scope="module")
def good_function(aws, rotation_role):
    arn = aws.client("iam").get_role(RoleName=rotation_role)["Role"]["Arn"]
    name = unique("rotation-ok")
    return name, create_function(aws, name, ROTATION_HANDLER, arn,
                                 environment={"DELAY_STEP": "createSecret", "DELAY": str(SLOW_STEP_SECONDS)})


@pytest.fixture(scope="module")
def failing_function(aws, rotation_role):
    arn = aws.client("iam").get_role(RoleName=rotation_role)["Role"]["Arn"]
    name = unique("rotation-fail")
    return name, create_function(aws, name, ROTATION_HANDLER, arn, environment={"FAIL_STEP": "setSecret"})


# --- staging labels ----------------------------------------------------------------------

@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_plain_get_follows_awscurrent_after_update_secret_version_stage(aws):
    """GetSecretValue: "If you don't specify either a VersionStage or VersionId, then Secrets
    Manager returns the AWSCURRENT version"; UpdateSecretVersionStage: "Whenever you move AWSCURRENT,
    Secrets Manager automatically moves the label AWSPREVIOUS to the version that AWSCURRENT was
    removed from"."""
    sm = aws.client("secretsmanager")
    created = sm.create_secret(Name=unique("stages/a"), SecretString="one")
    arn, first = created["ARN"], created["VersionId"]
    second = sm.put_secret_value(SecretId=arn, SecretString="two", VersionStages=["STAGED"])["VersionId"]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "one"

    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=second,
                                   RemoveFromVersionId=first)

    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == second
    stages = _stages(sm, arn)
    assert sorted(stages[second]) == ["AWSCURRENT", "STAGED"]
    assert stages[first] == ["AWSPREVIOUS"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_plain_put_after_a_stage_move_leaves_exactly_one_awscurrent(aws):
    """PutSecretValue: "If you don't include VersionStages, then Secrets Manager automatically
    moves the staging label AWSCURRENT to this version" -- from wherever it is, since "Each staging
    label can be attached to only one version at a time" (UpdateSecretVersionStage)."""
    sm = aws.client("secretsmanager")
    created = sm.create_secret(Name=unique("stages/b"), SecretString="one")
    arn, first = created["ARN"], created["VersionId"]
    second = sm.put_secret_value(SecretId=arn, SecretString="two", VersionStages=["STAGED"])["VersionId"]
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=second,
                                   RemoveFromVersionId=first)

    third = sm.put_secret_value(SecretId=arn, SecretString="three")["VersionId"]

    stages = _stages(sm, arn)
    assert _holder(stages, "AWSCURRENT") == [third]
    assert _holder(stages, "AWSPREVIOUS") == [second]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "three"


# --- a successful rotation ---------------------------------------------------------------

@pytest.fixture(scope="module")
def rotation(aws, rotation_role, good_function):
    """One rotation with the working function, observed while it runs and after it ends."""
    sm = aws.client("secretsmanager")
    name, function_arn = good_function
    arn = rotatable_secret(aws, rotation_role, "initial")
    before = _stages(sm, arn)
    started = time.monotonic()
    response = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn,
                                RotationRules={"AutomaticallyAfterDays": 30})
    returned_after = time.monotonic() - started
    during = _stages(sm, arn)
    value_during = sm.get_secret_value(SecretId=arn)["SecretString"]
    token = response["VersionId"]
    wait_for(lambda: "AWSCURRENT" in _stages(sm, arn).get(token, []), timeout=30, what="AWSCURRENT on the new version")
    wait_for(lambda: _stages(sm, arn)[token] == ["AWSCURRENT"], timeout=10, what="AWSPENDING to be removed")
    return {"arn": arn, "function": name, "token": token, "before": before, "during": during,
            "value_during": value_during, "returned_after": returned_after, "after": _stages(sm, arn)}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotate_secret_returns_at_once_with_a_version_id(rotation):
    """RotateSecret: "Configures and starts the asynchronous process of rotating the secret"; the
    call returns without waiting for the function, and its response carries the new version's VersionId."""
    assert rotation["token"]
    assert rotation["returned_after"] < SLOW_STEP_SECONDS, \
        f"RotateSecret waited for the function ({rotation['returned_after']:.1f}s)"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotation_runs_asynchronously_from_an_awspending_version(rotation):
    """While the rotation runs, the new version carries only AWSPENDING (the rotation function
    "creates a new version of the secret"; AWSCURRENT moves only in finishSecret), so clients still
    get the old AWSCURRENT value."""
    current_before = _holder(rotation["before"], "AWSCURRENT")
    assert rotation["during"][rotation["token"]] == ["AWSPENDING"]
    assert _holder(rotation["during"], "AWSCURRENT") == current_before
    assert rotation["value_during"] == "initial"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_successful_rotation_promotes_the_new_version_and_removes_awspending(aws, rotation):
    """The function "marks the new secret with the staging label AWSCURRENT"; when the rotation ends
    AWSPENDING is no longer left on the new version (RotateSecret: rotation must end with AWSPENDING on
    the AWSCURRENT version or on none; AWS removes it, which the suite awaits); the previous version
    holds AWSPREVIOUS; the four steps ran in order."""
    sm = aws.client("secretsmanager")
    (old,) = _holder(rotation["before"], "AWSCURRENT")
    assert rotation["after"][rotation["token"]] == ["AWSCURRENT"]
    assert rotation["after"][old] == ["AWSPREVIOUS"]
    assert _holder(rotation["after"], "AWSPENDING") == []
    assert sm.get_secret_value(SecretId=rotation["arn"])["SecretString"] == "initial+rotated"
    described = sm.describe_secret(SecretId=rotation["arn"])
    assert described["RotationEnabled"] is True and "LastRotatedDate" in described
    steps = [step for step, token in _steps_logged(aws, rotation["function"], rotation["arn"])
             if token == rotation["token"]]
    assert steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]


# --- a failed rotation -------------------------------------------------------------------

@pytest.fixture(scope="module")
def failed_rotation(aws, rotation_role, failing_function):
    sm = aws.client("secretsmanager")
    name, function_arn = failing_function
    arn = rotatable_secret(aws, rotation_role, "kept")
    before = _stages(sm, arn)
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn)["VersionId"]
    wait_for(lambda: any("failing at setSecret on purpose" in line for line in log_messages(aws, name)),
             timeout=30, what="the setSecret failure in the function's log")
    time.sleep(0.5)  # Secrets Manager's side of the failed step
    return {"arn": arn, "function": name, "function_arn": function_arn, "token": token, "before": before,
            "after": _stages(sm, arn)}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_failed_rotation_leaves_awscurrent_and_an_awspending_only_version(aws, failed_rotation):
    """A failing step ends the rotation (later steps are not invoked) and nothing moves AWSCURRENT:
    clients keep the old value, and the new version is left with AWSPENDING only (the state the
    troubleshooting guide describes for "A previous rotation isn't complete")."""
    sm = aws.client("secretsmanager")
    (old,) = _holder(failed_rotation["before"], "AWSCURRENT")
    after = failed_rotation["after"]
    assert _holder(after, "AWSCURRENT") == [old]
    assert after[failed_rotation["token"]] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=failed_rotation["arn"])["SecretString"] == "kept"
    steps = [step for step, _ in _steps_logged(aws, failed_rotation["function"], failed_rotation["arn"])]
    assert steps == ["createSecret", "setSecret"], "steps after the failing one must not run"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotation_is_refused_while_an_awspending_version_is_left(aws, failed_rotation):
    """RotateSecret: "If the AWSPENDING staging label is present but not attached to the same
    version as AWSCURRENT then any later invocation of RotateSecret assumes that a previous
    rotation request is still in progress and returns an error" (InvalidRequestException)."""
    sm = aws.client("secretsmanager")
    with pytest.raises(ClientError) as refused:
        sm.rotate_secret(SecretId=failed_rotation["arn"], RotationLambdaARN=failed_rotation["function_arn"])
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "previous rotation" in refused.value.response["Error"]["Message"]
    assert _stages(sm, failed_rotation["arn"]) == failed_rotation["after"]


# --- configuration test only -------------------------------------------------------------

@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotate_immediately_false_runs_only_test_secret_and_adds_no_version(aws, rotation_role, good_function):
    """RotateImmediately=false: "If you don't immediately rotate the secret, Secrets Manager tests
    the rotation configuration by running the testSecret step of the Lambda rotation function. The
    test creates an AWSPENDING version of the secret and then removes it." Rotation is configured."""
    sm = aws.client("secretsmanager")
    name, function_arn = good_function
    arn = rotatable_secret(aws, rotation_role, "untouched")
    before = _stages(sm, arn)

    sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn, RotationRules={"AutomaticallyAfterDays": 7},
                     RotateImmediately=False)

    steps = wait_for(lambda: _steps_logged(aws, name, arn), timeout=15, what="the testSecret invocation")
    time.sleep(0.5)  # nothing else may follow
    assert [step for step, _ in _steps_logged(aws, name, arn)] == ["testSecret"]
    assert steps[0][1] not in before
    assert _stages(sm, arn) == before
    assert len(sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]) == 1
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "untouched"
    described = sm.describe_secret(SecretId=arn)
    assert described["RotationEnabled"] is True
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 7


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_rotation_sets_the_rotation_dates(aws, rotation):
    """DescribeSecret after a rotation: LastRotatedDate (when it last rotated) and NextRotationDate
    (when the schedule rotates it next, within AutomaticallyAfterDays of it), as the API reference lists them."""
    described = aws.client("secretsmanager").describe_secret(SecretId=rotation["arn"])
    assert described["RotationEnabled"] is True
    rotated, upcoming = described["LastRotatedDate"], described["NextRotationDate"]
    assert abs(time.time() - rotated.timestamp()) < 120
    assert 0 < (upcoming - rotated).total_seconds() <= 30 * 86400 + 86400


# --- the function's resource policy ------------------------------------------------------

@pytest.mark.parametrize(("permission", "allowed"), [
    (None, False),
    ({"Principal": "secretsmanager.amazonaws.com", "SourceAccount": THIS_ACCOUNT}, True),
    ({"Principal": "secretsmanager.amazonaws.com", "SourceAccount": "210987654321"}, False),
    ({"Principal": "secretsmanager.amazonaws.com",
      "SourceArn": f"arn:aws:secretsmanager:us-east-1:{THIS_ACCOUNT}:secret:someone-else-AbCdEf"}, False),
    ({"Principal": "events.amazonaws.com"}, False),
], ids=["no-permission", "source-account", "other-account", "other-secret", "other-service"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotation_needs_the_functions_permission_for_secrets_manager(aws, rotation_role, permission, allowed):
    """"Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy
    grants access to the principal secretsmanager.amazonaws.com" (AccessDeniedException) when the
    function's resource-based policy does not let secretsmanager.amazonaws.com invoke it, its
    SourceAccount/SourceArn conditions included (Secrets Manager user guide, "Permissions for
    rotation"); nothing is rotated then."""
    role_arn = aws.client("iam").get_role(RoleName=rotation_role)["Role"]["Arn"]
    name = unique("rotation-perm")
    lam = aws.client("lambda")
    function_arn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="index.handler",
                                       Code={"ZipFile": lambda_zip(ROTATION_HANDLER)})["FunctionArn"]
    if permission:
        lam.add_permission(FunctionName=name, StatementId="rotation", Action="lambda:InvokeFunction",
                           **in_account(aws, permission))
    sm = aws.client("secretsmanager")
    arn = rotatable_secret(aws, rotation_role, "initial")
    before = _stages(sm, arn)
    if allowed:
        token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn)["VersionId"]
        wait_for(lambda: "AWSCURRENT" in _stages(sm, arn).get(token, []), timeout=30, what="the rotation")
        return
    with pytest.raises(ClientError) as refused:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"] == (
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants "
        "access to the principal secretsmanager.amazonaws.com.")
    assert _stages(sm, arn) == before
