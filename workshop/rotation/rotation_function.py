"""Single-user rotation for an RDS MySQL secret (the workshop's `smdemo`).

Secrets Manager calls this function four times per rotation with
{"SecretId", "ClientRequestToken", "Step"}: createSecret, setSecret, testSecret,
finishSecret. Every step is idempotent, and no secret value is ever logged or put into an
exception message: messages name the secret's ARN, the version and JSON keys only.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import ssl
import string
import sys
from typing import Any

import boto3
import pymysql

logger = logging.getLogger()
logger.setLevel(logging.INFO)
if not logger.handlers:  # the Lambda runtime installs its own handler; elsewhere log to stdout
    logger.addHandler(logging.StreamHandler(sys.stdout))

REQUIRED_KEYS = ("host", "username", "password", "engine")
ENGINES = ("mysql", "aurora-mysql")
DEFAULT_EXCLUDED = "/@\"'\\"
ALWAYS_EXCLUDED = "/@\"'\\` "  # break MySQL client quoting or the workshop's shell scripts, whatever the env says
CONNECT_TIMEOUT = 5
CA_BUNDLE = "/etc/pki/tls/cert.pem"  # Amazon Linux's bundle in the Lambda runtime, RDS CAs included
SSL_CONNECTION_ERROR = 2026


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    client = boto3.client("secretsmanager")
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    # RotateSecret creates the new version (AWSPENDING, no value yet) before it invokes createSecret,
    # so the token is a version for every step, createSecret included; anything else is not a
    # rotation Secrets Manager started.
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}")
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s", token, arn)
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of secret {arn}")
    # Looked up at call time, so a step function redefined later in this module is the one used.
    steps = {"createSecret": create_secret, "setSecret": set_secret,
             "testSecret": test_secret, "finishSecret": finish_secret}
    if step not in steps:
        raise ValueError(f"Invalid step parameter {step!r} for secret {arn}")
    logger.info("%s: secret %s, version %s", step, arn, token)
    steps[step](client, arn, token)


# --- the four steps -------------------------------------------------------------------

def create_secret(client: Any, arn: str, token: str) -> None:
    try:
        client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: version %s of %s already has a value", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass  # the version Secrets Manager made is still empty
    current = get_secret_dict(client, arn, "AWSCURRENT")
    current["password"] = new_password()
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current),
                            VersionStages=["AWSPENDING"])
    logger.info("createSecret: put a new password into version %s of %s", token, arn)


def set_secret(client: Any, arn: str, token: str) -> None:
    pending = get_secret_dict(client, arn, "AWSPENDING", token)
    connection = try_connect(pending, "AWSPENDING")
    if connection:
        connection.close()
        logger.info("setSecret: the AWSPENDING password already works for %s", arn)
        return
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            known = get_secret_dict(client, arn, stage)
        except client.exceptions.ResourceNotFoundException:
            continue  # no AWSPREVIOUS before the first rotation
        for key in ("username", "host"):
            if known[key] != pending[key]:
                raise ValueError(f"setSecret: the {stage} and AWSPENDING versions of {arn} differ in {key!r}")
        connection = try_connect(known, stage)
        if connection:
            break
    if connection is None:
        raise ValueError(f"setSecret: unable to log into database with current or previous credentials for secret "
                         f"{arn}")
    try:
        with connection.cursor() as cursor:
            cursor.execute(password_statement(connection.get_server_info()), (pending["password"],))
        connection.commit()
    finally:
        connection.close()
    logger.info("setSecret: database password changed for %s (login as %s)", arn, stage)


def test_secret(client: Any, arn: str, token: str) -> None:
    connection = try_connect(get_secret_dict(client, arn, "AWSPENDING", token), "AWSPENDING")
    if connection is None:
        raise ValueError(f"testSecret: unable to log into database with pending secret of secret {arn}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT NOW()")
            cursor.fetchone()
    finally:
        connection.close()
    logger.info("testSecret: the AWSPENDING credentials of %s log in", arn)


def finish_secret(client: Any, arn: str, token: str) -> None:
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current == token:
        logger.info("finishSecret: version %s already AWSCURRENT for %s", token, arn)
        return
    move = {"RemoveFromVersionId": current} if current else {}
    # AWSPENDING stays on the new version: Secrets Manager removes it once the rotation succeeded.
    client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, **move)
    logger.info("finishSecret: AWSCURRENT moved to version %s of %s", token, arn)


# --- helpers --------------------------------------------------------------------------

def get_secret_dict(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    """The secret's JSON at a stage (and version), validated: a bad key is named, never its value."""
    request = {"SecretId": arn, "VersionStage": stage}  # always explicit: never the "default" version
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
        engine = document["engine"] if isinstance(document["engine"], str) else type(document["engine"]).__name__
        raise ValueError(f"secret engine {engine!r} is not mysql ({stage} version of {arn})")
    return document


def new_password() -> str:
    """Made here, not with GetRandomPassword: that call would need an IAM grant on "*"."""
    length = int(os.environ.get("PASSWORD_LENGTH", "32"))
    if length < 4:
        raise ValueError(f"PASSWORD_LENGTH {length} is too short for one character of each class")
    excluded = set(os.environ.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDED)) | set(ALWAYS_EXCLUDED)
    alphabet = [c for c in string.ascii_letters + string.digits + string.punctuation if c not in excluded]
    classes = [chars for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
               if any(c in alphabet for c in chars)]
    while True:  # each class the alphabet keeps, as GetRandomPassword's RequireEachIncludedType
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in chars for c in password) for chars in classes):
            return password


def password_statement(server_version: str) -> str:
    """SQL that sets the connected user's own password (one %s parameter)."""
    if "mariadb" in server_version.lower() or server_version.startswith("5."):
        # MariaDB refuses ALTER USER on oneself without the CREATE USER privilege; 5.7 accepts both.
        return "SET PASSWORD = PASSWORD(%s)"
    return "ALTER USER CURRENT_USER() IDENTIFIED BY %s"  # MySQL 8 has no PASSWORD() function


def tls_context() -> ssl.SSLContext:
    """Verified against the runtime's CA bundle when there is one; encrypted at least."""
    return _tls_context(os.environ.get("DB_CA_BUNDLE") or (CA_BUNDLE if os.path.exists(CA_BUNDLE) else None))


@functools.lru_cache(maxsize=4)
def _tls_context(ca: str | None) -> ssl.SSLContext:
    # Made once per execution environment, as Lambda advises for what a handler reuses: reading the CA bundle
    # costs about 50 ms of CPU, and a rotation logs in three times.
    if ca:
        return ssl.create_default_context(cafile=ca)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def try_connect(secret: dict[str, Any], stage: str) -> pymysql.connections.Connection | None:
    """A connection with these credentials, or None; TLS as the secret's `ssl` key says
    (true: required, false: plain, absent: TLS, and plain only if TLS itself failed)."""
    options = {"host": secret["host"], "port": int(secret.get("port", 3306)), "user": secret["username"],
               "password": secret["password"], "database": secret.get("dbname"), "connect_timeout": CONNECT_TIMEOUT}
    use_ssl = secret.get("ssl")
    if isinstance(use_ssl, str):  # "true"/"false" as typed into the console
        use_ssl = use_ssl.strip().lower() == "true"
    attempts = [True] if use_ssl is True else [False] if use_ssl is False else [True, False]
    for tls in attempts:
        try:
            if tls:
                return pymysql.connect(**options, ssl=tls_context())
            return pymysql.connect(**options, ssl_disabled=True)
        except pymysql.err.OperationalError as error:
            tls_failed = error.args[0] == SSL_CONNECTION_ERROR or isinstance(
                getattr(error, "original_exception", None), ssl.SSLError)
            # The error number only: the server's message names the user and host.
            logger.info("login with the %s credentials (tls=%s) failed: MySQL error %s%s", stage, tls,
                        error.args[0], " (TLS)" if tls_failed else "")
            if not tls_failed:
                return None  # refused or unreachable: plain text would fare no better
    return None
