"""The workshop's single-user MySQL rotation function, packaged (`build_rotation_zip`) and deployed
as a Lambda of the local AWS, against a real database: Secrets Manager's RotateSecret invokes it,
or the tests invoke it step by step. (Called in this process, step by step against moto:
test_rotation_function_moto.py.) Each test rotates its own database user, so rotations never
disturb one another.
"""
from __future__ import annotations

import json
import secrets
import string
import time
from pathlib import Path
from typing import Any

import pytest

from suite.deploy.packaging import build_rotation_zip
from tests.support.workshop_code import rotation_function
from localaws.database.server import MySQLServer
from localaws.service import LocalAWS
from suite.attendee.database import ACCESS_DENIED
from tests.support.rotation_db import db_user, login_error, rds_document
from tests.support.aws_helpers import (BASIC_EXECUTION, LAMBDA_TRUST, RUNTIME, allow_secrets_manager, lambda_zip,
                                       log_messages,
                                    secret_arn_pattern, unique, wait_for)
from tests.support.any_aws import offline_aws

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_PREFIX = "rotfn/"
FORBIDDEN = set("/@\"'\\` ")
NOOP_HANDLER = """
def handler(event, context):
    print("NOOP", event["Step"], event["SecretId"], event["ClientRequestToken"], flush=True)
"""


# --- the environment: local AWS, database, functions ---------------------------------------

@pytest.fixture(scope="module")
def role_arn(local_aws: LocalAWS) -> str:
    """The rotation function's execution role: what the workshop grants, on the test secrets only."""
    iam = local_aws.client("iam")
    name = unique("rotation-fn-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="rotate", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow",
                       "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                  "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
                       "Resource": secret_arn_pattern(offline_aws(local_aws), SECRET_PREFIX + "*")}, BASIC_EXECUTION],
    }))
    return arn


@pytest.fixture(scope="module")
def rotation_lambda(local_aws: LocalAWS, role_arn: str) -> dict[str, str]:
    """The real package, deployed as the workshop deploys it."""
    name = unique("smdemo-rotation")
    arn = local_aws.client("lambda").create_function(
        FunctionName=name, Runtime=RUNTIME, Role=role_arn, Handler="rotation_function.lambda_handler",
        Code={"ZipFile": build_rotation_zip(PROJECT_ROOT / "workshop" / "rotation")}, Timeout=30,
    )["FunctionArn"]
    allow_secrets_manager(offline_aws(local_aws), name)
    return {"name": name, "arn": arn}


@pytest.fixture(scope="module")
def noop_lambda(local_aws: LocalAWS, role_arn: str) -> dict[str, str]:
    """A rotation function that does nothing: RotateSecret with it leaves exactly what Secrets Manager
    itself creates (rotation enabled, an empty AWSPENDING version), for driving the steps by hand."""
    name = unique("noop-rotation")
    arn = local_aws.client("lambda").create_function(
        FunctionName=name, Runtime=RUNTIME, Role=role_arn, Handler="index.handler",
        Code={"ZipFile": lambda_zip(NOOP_HANDLER)}, Timeout=30,
    )["FunctionArn"]
    allow_secrets_manager(offline_aws(local_aws), name)
    return {"name": name, "arn": arn}


# --- helpers -------------------------------------------------------------------------------

def _secret(aws: LocalAWS, document: dict[str, Any]) -> str:
    return aws.client("secretsmanager").create_secret(Name=unique(SECRET_PREFIX + "db"),
                                                      SecretString=json.dumps(document))["ARN"]


def _stages(aws: LocalAWS, arn: str) -> dict[str, list[str]]:
    return aws.client("secretsmanager").describe_secret(SecretId=arn)["VersionIdsToStages"]


def _holder(stages: dict[str, list[str]], label: str) -> str | None:
    return next((version for version, labels in stages.items() if label in labels), None)


def _value(aws: LocalAWS, arn: str, **selector: str) -> dict[str, Any]:
    return json.loads(aws.client("secretsmanager").get_secret_value(SecretId=arn, **selector)["SecretString"])


def _errors_for(aws: LocalAWS, function_name: str, arn: str) -> list[str]:
    return [line for line in log_messages(offline_aws(aws), function_name) if line.startswith("[ERROR]")
            and arn in line]


def _enable_rotation(aws: LocalAWS, arn: str, function_arn: str) -> None:
    """Turn rotation on without rotating (Secrets Manager then only runs testSecret)."""
    aws.client("secretsmanager").rotate_secret(SecretId=arn, RotationLambdaARN=function_arn,
                                               RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)


def _pending_version(aws: LocalAWS, arn: str, noop: dict[str, str]) -> str:
    """Start a rotation whose function does nothing: what remains is Secrets Manager's own part of a
    rotation in progress -- rotation enabled and an empty AWSPENDING version with the token."""
    token = aws.client("secretsmanager").rotate_secret(SecretId=arn, RotationLambdaARN=noop["arn"])["VersionId"]
    wait_for(lambda: f"NOOP finishSecret {arn} {token}" in log_messages(offline_aws(aws), noop["name"]), timeout=30,
             what="the no-op rotation to finish")
    time.sleep(0.2)  # Secrets Manager's bookkeeping after the last step
    assert _stages(aws, arn)[token] == ["AWSPENDING"]
    return token


def _invoke(aws: LocalAWS, function_name: str, arn: str, token: str, step: str) -> dict[str, Any]:
    response = aws.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(
        {"SecretId": arn, "ClientRequestToken": token, "Step": step}).encode())
    payload = json.loads(response["Payload"].read())
    return {"error": response.get("FunctionError"), "payload": payload}


def _rotate_and_wait(aws: LocalAWS, arn: str, function: dict[str, str]) -> str:
    sm = aws.client("secretsmanager")
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function["arn"],
                             RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]

    def finished() -> bool:
        if _errors_for(aws, function["name"], arn):
            raise AssertionError(f"the rotation failed: {_errors_for(aws, function['name'], arn)}")
        return _stages(aws, arn).get(token) == ["AWSCURRENT"]

    wait_for(finished, timeout=60, interval=0.2, what="the rotation to finish")
    return token


def _rotate_and_wait_for_failure(aws: LocalAWS, arn: str, function: dict[str, str]) -> tuple[str, list[str]]:
    token = aws.client("secretsmanager").rotate_secret(SecretId=arn, RotationLambdaARN=function["arn"])["VersionId"]
    errors = wait_for(lambda: _errors_for(aws, function["name"], arn), timeout=60, interval=0.2,
                      what="the rotation function's error")
    time.sleep(0.3)  # Secrets Manager's side of the failed step
    return token, errors


# --- rotations through Secrets Manager -----------------------------------------------------

@pytest.fixture(scope="module")
def completed_rotation(local_aws, database, rotation_lambda) -> dict[str, Any]:
    username, password = db_user(database)
    arn = _secret(local_aws, rds_document(database, username, password))
    before = _stages(local_aws, arn)
    token = _rotate_and_wait(local_aws, arn, rotation_lambda)
    return {"arn": arn, "username": username, "old_password": password, "token": token, "before": before,
            "after": _stages(local_aws, arn), "new": _value(local_aws, arn)}


def test_full_rotation_changes_the_database_password(database, completed_rotation):
    """RotateSecret with the packaged function: the new AWSCURRENT password logs in, the old one gets 1045,
    and the labels end as Secrets Manager leaves them (AWSCURRENT on the new version, AWSPREVIOUS on the old)."""
    rotation = completed_rotation
    new = rotation["new"]
    assert new["password"] != rotation["old_password"]
    unchanged = {k: v for k, v in rds_document(database, rotation["username"], "-").items() if k != "password"}
    assert {k: v for k, v in new.items() if k != "password"} == unchanged
    assert login_error(database, rotation["username"], new["password"]) is None
    assert login_error(database, rotation["username"], rotation["old_password"]) == ACCESS_DENIED
    (old_version,) = [v for v, labels in rotation["before"].items() if "AWSCURRENT" in labels]
    assert rotation["after"][rotation["token"]] == ["AWSCURRENT"]
    assert rotation["after"][old_version] == ["AWSPREVIOUS"]


def test_a_second_rotation_starts_from_the_first_ones_result(local_aws, database, rotation_lambda, completed_rotation):
    """After a successful rotation nothing is left pending, so the next RotateSecret is accepted and rotates
    again from the then-current password (AWSPREVIOUS follows)."""
    arn = completed_rotation["arn"]
    token = _rotate_and_wait(local_aws, arn, rotation_lambda)
    newest = _value(local_aws, arn)["password"]
    assert login_error(database, completed_rotation["username"], newest) is None
    assert login_error(database, completed_rotation["username"],
                        completed_rotation["new"]["password"]) == ACCESS_DENIED
    stages = _stages(local_aws, arn)
    assert _holder(stages, "AWSCURRENT") == token
    assert _holder(stages, "AWSPREVIOUS") == completed_rotation["token"]


@pytest.fixture(scope="module")
def unreachable_rotation(local_aws, tmp_path_factory, rotation_lambda) -> dict[str, Any]:
    """A rotation whose database is down: its server stopped after the secret was written."""
    server = MySQLServer(tmp_path_factory.mktemp("downdb"), "master", "Master-" + secrets.token_hex(8))
    server.start()
    try:
        username, password = db_user(server)
        arn = _secret(local_aws, rds_document(server, username, password))
        before = _stages(local_aws, arn)
        server.stop()
        token, errors = _rotate_and_wait_for_failure(local_aws, arn, rotation_lambda)
        pending = _value(local_aws, arn, VersionId=token, VersionStage="AWSPENDING")["password"]
        return {"arn": arn, "token": token, "errors": errors, "before": before, "after": _stages(local_aws, arn),
                "passwords": [password, pending]}
    finally:
        server.remove()


def test_unreachable_database_fails_set_secret_and_leaves_the_labels(unreachable_rotation):
    """setSecret cannot log in with the pending, current or previous credentials: it fails, and AWSCURRENT
    stays on the old version (the new one keeps only AWSPENDING)."""
    rotation = unreachable_rotation
    assert any("setSecret" in line and "unable to log into database" in line for line in rotation["errors"])
    old = _holder(rotation["before"], "AWSCURRENT")
    assert _holder(rotation["after"], "AWSCURRENT") == old
    assert rotation["after"][rotation["token"]] == ["AWSPENDING"]
    assert {v: s for v, s in rotation["after"].items() if v != rotation["token"]} == rotation["before"]


@pytest.mark.parametrize("change, named", [
    ({"host": None}, "required key 'host'"),
    ({"username": None}, "required key 'username'"),
    ({"password": None}, "required key 'password'"),
    ({"engine": None}, "required key 'engine'"),
    ({"engine": "postgres"}, "engine 'postgres' is not mysql"),
], ids=["no-host", "no-username", "no-password", "no-engine", "postgres"])
def test_unusable_secret_json_fails_the_rotation_naming_the_key(local_aws, database, rotation_lambda, change, named):
    """The function validates the secret's JSON (host, username, password, engine = mysql) before using it:
    the rotation fails, and the error in /aws/lambda/<function> names what is wrong."""
    username, password = db_user(database)
    arn = _secret(local_aws, rds_document(database, username, password, **change))
    before = _stages(local_aws, arn)
    token, errors = _rotate_and_wait_for_failure(local_aws, arn, rotation_lambda)
    assert any(named in line for line in errors), errors
    assert _holder(_stages(local_aws, arn), "AWSCURRENT") == _holder(before, "AWSCURRENT")
    assert _stages(local_aws, arn)[token] == ["AWSPENDING"]
    assert login_error(database, username, password) is None


def test_no_secret_value_reaches_the_function_log(local_aws, rotation_lambda, completed_rotation, unreachable_rotation):
    """The function's log group (/aws/lambda/<function>) holds no password: neither of a successful
    rotation (old and new) nor of a failed one (current and pending)."""
    lines = log_messages(offline_aws(local_aws), rotation_lambda["name"])
    assert any(completed_rotation["arn"] in line for line in lines)
    assert any(unreachable_rotation["arn"] in line for line in lines)
    passwords = [completed_rotation["old_password"], completed_rotation["new"]["password"],
                 *unreachable_rotation["passwords"]]
    leaked = [line for line in lines for password in passwords if password in line]
    assert leaked == []


def test_generated_password_has_32_safe_characters(completed_rotation):
    """The new password is 32 characters long and avoids / @ " ' \\ ` and space (characters MySQL clients
    and the workshop's shell scripts mishandle); so does every password the generator makes."""
    password = completed_rotation["new"]["password"]
    assert len(password) == 32
    assert not set(password) & FORBIDDEN
    samples = [rotation_function.new_password() for _ in range(500)]
    assert all(len(sample) == 32 for sample in samples)
    used = set("".join(samples))
    assert not used & FORBIDDEN
    assert used <= set(string.printable)


# --- the steps, one by one ------------------------------------------------------------------

def test_each_step_is_idempotent_when_invoked_twice(local_aws, database, rotation_lambda, noop_lambda):
    """Secrets Manager may invoke a step more than once with the same token: each step run twice leaves
    the same result as once (one pending value; the database on the pending password; labels moved once)."""
    username, password = db_user(database)
    arn = _secret(local_aws, rds_document(database, username, password))
    token = _pending_version(local_aws, arn, noop_lambda)
    old_version = _holder(_stages(local_aws, arn), "AWSCURRENT")
    fn = rotation_lambda["name"]

    for _ in range(2):
        assert _invoke(local_aws, fn, arn, token, "createSecret")["error"] is None
    pending = _value(local_aws, arn, VersionId=token, VersionStage="AWSPENDING")
    assert pending["password"] != password
    sm = local_aws.client("secretsmanager")
    assert len(sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]) == 2

    for _ in range(2):
        assert _invoke(local_aws, fn, arn, token, "setSecret")["error"] is None
        assert login_error(database, username, pending["password"]) is None
    assert login_error(database, username, password) == ACCESS_DENIED

    for _ in range(2):
        assert _invoke(local_aws, fn, arn, token, "testSecret")["error"] is None

    for _ in range(2):
        assert _invoke(local_aws, fn, arn, token, "finishSecret")["error"] is None
        stages = _stages(local_aws, arn)
        assert _holder(stages, "AWSCURRENT") == token
        assert stages[old_version] == ["AWSPREVIOUS"]
    assert _value(local_aws, arn, VersionId=token, VersionStage="AWSPENDING") == pending
    assert _value(local_aws, arn) == pending
