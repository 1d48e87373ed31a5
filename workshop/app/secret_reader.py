"""Reading the database's credentials from Secrets Manager, for the lab's web app.

Every error it cannot handle is raised, never swallowed: the lab's original reader returned None
for AccessDenied and the codes it did not list, and the app then failed far from the cause.
Only botocore is needed (the caching client's one dependency), with the instance's credentials
and the region of the secret's ARN.
"""
from __future__ import annotations

import json

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError


class SecretReadError(Exception):
    """The secret could not be read or is not the credentials document the app needs."""


def region_of(secret_id: str) -> str | None:
    """arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME -> REGION (a bare name: the default)."""
    parts = secret_id.split(":")
    return parts[3] if secret_id.startswith("arn:") and len(parts) > 3 else None


def client_for(secret_id: str):
    return botocore.session.get_session().create_client("secretsmanager", region_name=region_of(secret_id))


def credentials_from(secret_string: str, secret_id: str) -> dict:
    """The SecretString's JSON, with what a MySQL login needs."""
    try:
        document = json.loads(secret_string)
    except ValueError:
        raise SecretReadError(f"secret {secret_id}: SecretString is not JSON") from None
    missing = [key for key in ("host", "port", "username", "password") if key not in document]
    if missing:
        raise SecretReadError(f"secret {secret_id}: SecretString has no {', '.join(missing)}")
    return document


def get_secret(secret_id: str, client=None) -> dict:
    """The AWSCURRENT credentials, read now (one GetSecretValue per call)."""
    try:
        answer = (client or client_for(secret_id)).get_secret_value(SecretId=secret_id)
    except ClientError as error:
        details = error.response.get("Error", {})
        raise SecretReadError(f"secret {secret_id}: {details.get('Code')}: {details.get('Message')}") from None
    except BotoCoreError as error:
        raise SecretReadError(f"secret {secret_id}: {error}") from None
    return credentials_from(answer["SecretString"], secret_id)
