"""The single-user rotation function in this process: moto's Secrets Manager (mock_aws), a real database.

The tests play Secrets Manager's part of RotateSecret themselves: rotation enabled, and a new
version with the token and AWSPENDING but no value yet (what AWS makes before it invokes
createSecret); then they call `lambda_handler` for each step. moto never invokes anything here.
"""
from __future__ import annotations

import json
import secrets
import socket
import string
import time
import uuid
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from localaws.database.server import MySQLServer
from suite.attendee.database import ACCESS_DENIED
from tests.support.workshop_code import rotation_function
from tests.support.rotation_db import db_user, login_error, rds_document

lambda_handler = rotation_function.lambda_handler

REGION = "us-east-1"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
FORBIDDEN = set("/@\"'\\` ")


# --- fixtures and helpers ------------------------------------------------------------------

@pytest.fixture()
def sm(monkeypatch: pytest.MonkeyPatch):
    """moto's Secrets Manager; lambda_handler's own boto3.client("secretsmanager") reaches it too."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE", "AWS_SESSION_TOKEN",
                 "PASSWORD_LENGTH", "EXCLUDE_CHARACTERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def new_secret(sm, value: dict[str, Any]) -> str:
    return sm.create_secret(Name=f"rotfn/{uuid.uuid4().hex[:8]}", SecretString=json.dumps(value))["ARN"]


def begin_rotation(arn: str) -> str:
    """Secrets Manager's side of RotateSecret: rotation enabled, an empty AWSPENDING version."""
    secret = enable_rotation(arn)
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    token = str(uuid.uuid4())
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    return token


def enable_rotation(arn: str) -> Any:
    """What RotateSecret records on the secret (moto's own would relabel the versions at once)."""
    secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION].secrets[arn]
    secret.rotation_requested = secret.rotation_enabled = True
    secret.rotation_lambda_arn = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:smdemo-rotation"
    secret.auto_rotate_after_days = 30
    return secret


def step(arn: str, token: str, name: str) -> None:
    lambda_handler({"SecretId": arn, "ClientRequestToken": token, "Step": name}, None)


def stages(sm, arn: str) -> dict[str, list[str]]:
    return sm.describe_secret(SecretId=arn)["VersionIdsToStages"]


def holder(sm, arn: str, label: str) -> str | None:
    return next((v for v, labels in stages(sm, arn).items() if label in labels), None)


def value(sm, arn: str, **selector: str) -> dict[str, Any]:
    return json.loads(sm.get_secret_value(SecretId=arn, **selector)["SecretString"])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- a whole rotation ------------------------------------------------------------------------

def test_four_steps_change_the_password_and_move_the_labels(sm, database):
    username, old_password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, old_password))
    old_version = holder(sm, arn, "AWSCURRENT")
    token = begin_rotation(arn)

    step(arn, token, "createSecret")
    pending = value(sm, arn, VersionId=token, VersionStage="AWSPENDING")
    assert pending["password"] != old_password
    assert {k: v for k, v in pending.items() if k != "password"} == {
        k: v for k, v in rds_document(database, username, old_password).items() if k != "password"}
    assert login_error(database, username, old_password) is None  # nothing changed in the database yet

    step(arn, token, "setSecret")
    assert login_error(database, username, pending["password"]) is None
    assert login_error(database, username, old_password) == ACCESS_DENIED

    step(arn, token, "testSecret")
    step(arn, token, "finishSecret")
    after = stages(sm, arn)
    assert "AWSCURRENT" in after[token]  # Secrets Manager itself then drops AWSPENDING from it
    assert after[old_version] == ["AWSPREVIOUS"]
    assert value(sm, arn, VersionStage="AWSCURRENT") == pending
    # Once the token is AWSCURRENT every step is a no-op.
    for name in STEPS:
        step(arn, token, name)
    assert stages(sm, arn) == after


def test_each_step_twice_gives_the_same_result(sm, database):
    username, old_password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, old_password))
    old_version = holder(sm, arn, "AWSCURRENT")
    token = begin_rotation(arn)

    step(arn, token, "createSecret")
    pending = value(sm, arn, VersionId=token, VersionStage="AWSPENDING")
    step(arn, token, "createSecret")
    assert value(sm, arn, VersionId=token, VersionStage="AWSPENDING") == pending
    assert len(sm.list_secret_version_ids(SecretId=arn)["Versions"]) == 2

    for name in ("setSecret", "testSecret"):
        for _ in range(2):
            step(arn, token, name)
            assert login_error(database, username, pending["password"]) is None
            assert login_error(database, username, old_password) == ACCESS_DENIED

    for _ in range(2):
        step(arn, token, "finishSecret")
        assert holder(sm, arn, "AWSCURRENT") == token
        assert stages(sm, arn)[old_version] == ["AWSPREVIOUS"]
    # finish_secret itself (past the handler's "already AWSCURRENT" return) moves nothing twice.
    client = boto3.client("secretsmanager")
    rotation_function.finish_secret(client, arn, token)
    assert holder(sm, arn, "AWSCURRENT") == token and stages(sm, arn)[old_version] == ["AWSPREVIOUS"]


def test_second_rotation_starts_from_the_first(sm, database):
    username, first_password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, first_password))
    first = begin_rotation(arn)
    for name in STEPS:
        step(arn, first, name)
    second_password = value(sm, arn, VersionStage="AWSCURRENT")["password"]
    second = begin_rotation(arn)
    for name in STEPS:
        step(arn, second, name)
    newest = value(sm, arn, VersionStage="AWSCURRENT")["password"]
    assert len({first_password, second_password, newest}) == 3
    assert login_error(database, username, newest) is None
    assert login_error(database, username, second_password) == ACCESS_DENIED
    assert holder(sm, arn, "AWSCURRENT") == second and holder(sm, arn, "AWSPREVIOUS") == first


def test_set_secret_falls_back_to_the_previous_credentials(sm, database):
    """Current credentials refused, previous ones accepted (the database was reset to them): setSecret
    logs in with AWSPREVIOUS and sets the pending password."""
    username, first_password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, first_password))
    first = begin_rotation(arn)
    for name in STEPS:
        step(arn, first, name)
    with database.admin_connect() as connection, connection.cursor() as cursor:
        cursor.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (username, first_password))
    token = begin_rotation(arn)
    step(arn, token, "createSecret")
    step(arn, token, "setSecret")
    pending = value(sm, arn, VersionId=token, VersionStage="AWSPENDING")["password"]
    assert login_error(database, username, pending) is None
    assert login_error(database, username, first_password) == ACCESS_DENIED


# --- failures --------------------------------------------------------------------------------

@pytest.fixture()
def stopped_database(tmp_path):
    server = MySQLServer(tmp_path / "down", "master", "Master-" + secrets.token_hex(8))
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.mark.parametrize("down", ["closed-port", "stopped-server"])
def test_unreachable_database_fails_set_secret_and_keeps_the_labels(sm, database, request, down):
    if down == "stopped-server":
        server = request.getfixturevalue("stopped_database")
        username, password = db_user(server)
        server.stop()
        secret = rds_document(server, username, password)
    else:
        username, password = db_user(database)
        secret = rds_document(database, username, password, port=closed_port())
    arn = new_secret(sm, secret)
    token = begin_rotation(arn)
    step(arn, token, "createSecret")
    before = stages(sm, arn)
    with pytest.raises(ValueError) as failed:
        step(arn, token, "setSecret")
    assert str(failed.value) == ("setSecret: unable to log into database with current or previous credentials "
                                 f"for secret {arn}")
    assert stages(sm, arn) == before
    assert before[token] == ["AWSPENDING"]
    with pytest.raises(ValueError, match="testSecret: unable to log into database"):
        step(arn, token, "testSecret")
    assert stages(sm, arn) == before


@pytest.mark.parametrize("change, exception, named", [
    ({"host": None}, KeyError, "'host'"),
    ({"username": None}, KeyError, "'username'"),
    ({"password": None}, KeyError, "'password'"),
    ({"engine": None}, KeyError, "'engine'"),
    ({"engine": "postgres"}, ValueError, "engine 'postgres' is not mysql"),
], ids=["no-host", "no-username", "no-password", "no-engine", "postgres"])
def test_unusable_secret_json_is_refused_naming_the_key(sm, database, change, exception, named):
    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password, **change))
    token = begin_rotation(arn)
    before = stages(sm, arn)
    with pytest.raises(exception) as refused:
        step(arn, token, "createSecret")
    assert named in str(refused.value)
    assert stages(sm, arn) == before
    with pytest.raises(sm.exceptions.ResourceNotFoundException):  # no pending value was put
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")


def test_aurora_mysql_engine_is_accepted(sm, database):
    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password, engine="aurora-mysql"))
    token = begin_rotation(arn)
    for name in STEPS:
        step(arn, token, name)
    assert login_error(database, username, value(sm, arn, VersionStage="AWSCURRENT")["password"]) is None


def test_pending_with_another_username_is_refused_naming_the_key(sm, database):
    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password))
    token = begin_rotation(arn)
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, VersionStages=["AWSPENDING"],
                        SecretString=json.dumps(rds_document(database, "someone_else", "Other-passw0rd")))
    with pytest.raises(ValueError, match="differ in 'username'"):
        step(arn, token, "setSecret")
    assert login_error(database, username, password) is None


def test_token_that_is_not_pending_is_refused(sm, database):
    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password))
    enable_rotation(arn)
    staged = sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"note": "staged"}),
                                 VersionStages=["STAGED"])["VersionId"]
    with pytest.raises(ValueError, match=f"Secret version {staged} not set as AWSPENDING for rotation of secret"):
        step(arn, staged, "createSecret")
    unknown = str(uuid.uuid4())
    with pytest.raises(ValueError, match=f"Secret version {unknown} has no stage for rotation of secret {arn}"):
        step(arn, unknown, "createSecret")


def test_unknown_step_is_refused(sm, database):
    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password))
    token = begin_rotation(arn)
    before = stages(sm, arn)
    with pytest.raises(ValueError, match="Invalid step parameter 'deleteSecret'"):
        step(arn, token, "deleteSecret")
    assert stages(sm, arn) == before


def test_rotation_disabled_is_refused(sm, database):
    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password))
    with pytest.raises(ValueError, match="is not enabled for rotation"):
        step(arn, holder(sm, arn, "AWSCURRENT"), "createSecret")
    assert login_error(database, username, password) is None


# --- secrets stay secret ---------------------------------------------------------------------

def test_no_secret_value_in_the_logs_of_a_rotation_or_a_failure(sm, database, caplog, capsys):
    caplog.set_level("INFO")
    username, old_password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, old_password))
    token = begin_rotation(arn)
    for name in STEPS:
        step(arn, token, name)
    new_password = value(sm, arn, VersionStage="AWSCURRENT")["password"]

    broken_user, broken_password = db_user(database)
    broken = new_secret(sm, rds_document(database, broken_user, broken_password, port=closed_port()))
    broken_token = begin_rotation(broken)
    step(broken, broken_token, "createSecret")
    with pytest.raises(ValueError) as failed:
        step(broken, broken_token, "setSecret")
    broken_pending = value(sm, broken, VersionId=broken_token, VersionStage="AWSPENDING")["password"]

    captured = capsys.readouterr()
    text = "\n".join([caplog.text, captured.out, captured.err, str(failed.value)])
    for name in STEPS:
        assert f"{name}: secret {arn}, version {token}" in caplog.text
    for password in (old_password, new_password, broken_password, broken_pending):
        assert password not in text
    assert '"password"' not in text and "SecretString" not in text


def test_generated_passwords_avoid_the_excluded_characters(sm, database, monkeypatch):
    samples = [rotation_function.new_password() for _ in range(300)]
    assert {len(p) for p in samples} == {32}
    assert not set("".join(samples)) & FORBIDDEN
    assert all(any(c.islower() for c in p) and any(c.isupper() for c in p) and any(c.isdigit() for c in p)
               for p in samples)
    assert set("".join(samples)) <= set(string.ascii_letters + string.digits + string.punctuation)

    monkeypatch.setenv("PASSWORD_LENGTH", "20")
    monkeypatch.setenv("EXCLUDE_CHARACTERS", "abcXYZ")
    custom = "".join(rotation_function.new_password() for _ in range(100))
    assert len(rotation_function.new_password()) == 20
    assert not set(custom) & (FORBIDDEN | set("abcXYZ"))  # the fixed exclusions hold whatever the env says

    username, password = db_user(database)
    arn = new_secret(sm, rds_document(database, username, password))
    token = begin_rotation(arn)
    step(arn, token, "createSecret")
    pending = value(sm, arn, VersionId=token, VersionStage="AWSPENDING")["password"]
    assert len(pending) == 20 and not set(pending) & (FORBIDDEN | set("abcXYZ"))
