"""Single-user rotation for an RDS MySQL/MariaDB secret (the workshop's `smdemo`).

Secrets Manager calls this function four times per rotation with
{"SecretId", "ClientRequestToken", "Step"}: createSecret, setSecret, testSecret,
finishSecret. Every step is idempotent, and no secret value is ever logged or put into an
exception message.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import string
from typing import Any

import boto3
import pymysql

logger = logging.getLogger()
logger.setLevel(logging.INFO)

REQUIRED_KEYS = ("host", "username", "password", "engine")
ENGINES = ("mysql", "aurora-mysql", "mariadb")
DEFAULT_EXCLUDED = "/@\"'\\` "


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    client = boto3.client("secretsmanager")
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}")
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s", token, arn)
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of secret {arn}")
    steps = {"createSecret": create_secret, "setSecret": set_secret,
             "testSecret": test_secret, "finishSecret": finish_secret}
    if step not in steps:
        raise ValueError(f"Invalid step parameter {step!r} for secret {arn}")
    logger.info("%s: secret %s, version %s", step, arn, token)
    steps[step](client, arn, token)


# --- the four steps -------------------------------------------------------------------

def create_secret(client: Any, arn: str, token: str) -> None:
    current = get_secret_dict(client, arn, "AWSCURRENT")
    try:
        get_secret_dict(client, arn, "AWSPENDING", token)
        logger.info("createSecret: version %s of %s already has a value", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    current["password"] = new_password()
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current),
                            VersionStages=["AWSPENDING"])
    logger.info("createSecret: put a new password into version %s of %s", token, arn)


def set_secret(client: Any, arn: str, token: str) -> None:
    pending = get_secret_dict(client, arn, "AWSPENDING", token)
    connection = try_connect(pending)
    if connection:
        connection.close()
        logger.info("setSecret: the AWSPENDING password already works for %s", arn)
        return
    connection = None
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            known = get_secret_dict(client, arn, stage)
        except client.exceptions.ResourceNotFoundException:
            continue
        for key in ("username", "host"):
            if known[key] != pending[key]:
                raise ValueError(f"setSecret: the {stage} and AWSPENDING versions of {arn} differ in {key!r}")
        connection = try_connect(known)
        if connection:
            break
    if connection is None:
        raise ValueError(f"setSecret: unable to log into database with current or previous credentials for secret {arn}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            version = cursor.fetchone()[0]
            if "mariadb" in version.lower() or version.startswith("5."):
                # MariaDB accepts ALTER USER CURRENT_USER() but silently leaves the password as it was.
                cursor.execute("SET PASSWORD = PASSWORD(%s)", (pending["password"],))
            else:  # MySQL 8 has no PASSWORD() function
                cursor.execute("ALTER USER CURRENT_USER() IDENTIFIED BY %s", (pending["password"],))
        connection.commit()
    finally:
        connection.close()
    logger.info("setSecret: database password changed for %s", arn)


def test_secret(client: Any, arn: str, token: str) -> None:
    connection = try_connect(get_secret_dict(client, arn, "AWSPENDING", token))
    if connection is None:
        raise ValueError(f"testSecret: unable to log into database with pending secret of secret {arn}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT NOW()")
    finally:
        connection.close()
    logger.info("testSecret: the AWSPENDING credentials of %s log in", arn)


def finish_secret(client: Any, arn: str, token: str) -> None:
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current == token:
        logger.info("finishSecret: version %s already AWSCURRENT for %s", token, arn)
        return
    client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                       RemoveFromVersionId=current)
    logger.info("finishSecret: AWSCURRENT moved to version %s of %s", token, arn)


# --- helpers --------------------------------------------------------------------------

def get_secret_dict(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    """The secret's JSON at a stage (and version), validated: a bad key is named."""
    request = {"SecretId": arn, "VersionStage": stage}
    if token:
        request["VersionId"] = token
    value = client.get_secret_value(**request)["SecretString"]
    try:
        document = json.loads(value)
    except ValueError:
        raise ValueError(f"the {stage} version of secret {arn} is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError(f"the {stage} version of secret {arn} is not a JSON object")
    for key in REQUIRED_KEYS:
        if key not in document:
            raise KeyError(f"secret JSON lacks required key {key!r} ({stage} version of {arn})")
    if document["engine"] not in ENGINES:
        raise ValueError(f"secret engine {document['engine']!r} is not mysql ({stage} version of {arn})")
    return document


def new_password() -> str:
    """Made here, not with GetRandomPassword: that call would need an IAM grant on "*"."""
    length = int(os.environ.get("PASSWORD_LENGTH", "32"))
    excluded = set(os.environ.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDED)) | set("`' ")
    alphabet = [c for c in string.ascii_letters + string.digits + string.punctuation if c not in excluded]
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                and any(c.isdigit() for c in password)):
            return password


def try_connect(secret: dict[str, Any]) -> pymysql.connections.Connection | None:
    """A connection with these credentials, or None; TLS as the secret's `ssl` key says."""
    port = int(secret.get("port", 3306))
    options = {"host": secret["host"], "port": port, "user": secret["username"], "password": secret["password"],
               "database": secret.get("dbname"), "connect_timeout": 5}
    use_ssl = secret.get("ssl")
    attempts = [True] if use_ssl is True else [False] if use_ssl is False else [True, False]
    for tls in attempts:
        try:
            if tls:
                return pymysql.connect(**options, ssl={"check_hostname": False})
            return pymysql.connect(**options)
        except pymysql.err.OperationalError as error:
            logger.info("connect to %s:%s as %s (tls=%s) failed: MySQL error %s",
                        secret["host"], port, secret["username"], tls, error.args[0])
    return None
