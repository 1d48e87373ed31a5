"""Secrets Manager staging labels and rotation, as AWS documents them.

moto 5.2.5 keeps its own "default version" pointer beside the labels (so a plain
GetSecretValue still returns the old value after UpdateSecretVersionStage), refuses a
rotation when AWSPENDING sits on the AWSCURRENT version (inverted), runs the rotation
function synchronously, and promotes the new version even when a step failed.

AWS (RotateSecret API reference):
- RotateSecret starts an *asynchronous* rotation and returns at once with the new
  VersionId; the empty AWSPENDING version exists from the start.
- Secrets Manager invokes the function for createSecret, setSecret, testSecret,
  finishSecret, stopping at the first failure; labels then stay where they are.
- On success AWSPENDING is removed from the new (now AWSCURRENT) version.
- If AWSPENDING is attached to a version that is not AWSCURRENT, "any later invocation of RotateSecret
  assumes that a previous rotation request is still in progress and returns an error":
  InvalidRequestException "A previous rotation isn't complete. That rotation will be reattempted." --
  and Secrets Manager reattempts it: the four steps again, with the unfinished version's token ("If any
  rotation step fails, Secrets Manager retries the entire rotation process multiple times", "How rotation
  works"; the token is what keeps a retry from making a second version, ClientRequestToken). When, and how
  often, it retries on its own is not documented: offline it retries when asked (RotateSecret), not later.
- "When rotation is unsuccessful, the AWSPENDING staging label might be attached to an empty secret
  version" (createSecret failed) or to the function's new value; AWSCURRENT, and so what GetSecretValue
  answers without VersionId or VersionStage, stays where it was; LastRotatedDate is not set.
- CancelRotateSecret "cancels the rotation" in progress (no further step is invoked) and answers the
  VersionId "of the version of the secret created during the rotation"; its AWSPENDING stays ("Failing to
  clean up a cancelled rotation can block you from starting future rotations").
- Secrets Manager invokes the function only when the function's policy lets
  secretsmanager.amazonaws.com invoke it (lambda_invoke_permissions.py); otherwise RotateSecret
  fails with AccessDeniedException, before any version is made.
- RotationRules (AutomaticallyAfterDays, or a ScheduleExpression with an optional Duration) are
  answered by DescribeSecret as given; rules Secrets Manager refuses are refused
  (service_rules.py). moto keeps only AutomaticallyAfterDays (a schedule became 0 days).
- RotateImmediately=false only tests the configuration: testSecret runs against a
  temporary AWSPENDING copy of the current value, which is removed afterwards.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from moto.moto_api._internal import mock_random
from moto.secretsmanager.exceptions import (
    InvalidParameterException,
    SecretsManagerClientError,
    InvalidRequestException,
    ResourceNotFoundException,
    SecretNotFoundException,
)
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

from localaws.ext.lambda_invoke_permissions import service_may_invoke
from localaws.ext.secrets_staging_labels import pending_rotation
from localaws.ext.service_rules import rate_interval_seconds, rotation_rules_problem

log = logging.getLogger("localaws.rotation")


class AccessDeniedException(SecretsManagerClientError):
    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
UNFINISHED = "A previous rotation isn't complete. That rotation will be reattempted."


def _current_version_id(secret: FakeSecret) -> str | None:
    """The version holding AWSCURRENT: AWS has no other notion of a default version."""
    for version_id, version in list(secret.versions.items()):  # PutSecretValue may add one meanwhile
        if "AWSCURRENT" in version["version_stages"]:
            return version_id
    return secret.__dict__.get("_default_hint")


def _set_default_hint(secret: FakeSecret, version_id: str | None) -> None:
    # Only used before any version carries AWSCURRENT (moto's constructor).
    secret.__dict__["_default_hint"] = version_id


def _invoke_step(backend: SecretsManagerBackend, function_arn: str, secret: FakeSecret, token: str, step: str) -> None:
    """Invoke one rotation step the way Secrets Manager does; raise on a function error."""
    from moto.awslambda.utils import get_backend

    lambda_backend = get_backend(backend.account_id, backend.region_name)
    response_headers: dict[str, Any] = {}
    payload = lambda_backend.invoke(
        function_arn,
        qualifier=None,
        body=json.dumps({"Step": step, "SecretId": secret.arn, "ClientRequestToken": token}),
        headers={},
        response_headers=response_headers,
    )
    if response_headers.get("x-amz-function-error"):
        try:
            message = json.loads(payload).get("errorMessage", "")
        except (TypeError, ValueError):
            message = ""
        raise RuntimeError(f"rotation step {step} failed: {message}")


def _stopped(secret: FakeSecret, token: str) -> str | None:
    """Why a rotation's next step is not to be invoked: cancelled, or abandoned (AWSPENDING taken off)."""
    if secret.__dict__.get("_rotation_cancelled") == token:
        return "cancelled (CancelRotateSecret)"
    stages = secret.versions.get(token, {}).get("version_stages", [])
    if "AWSPENDING" not in stages and "AWSCURRENT" not in stages:
        return "abandoned (its version no longer holds AWSPENDING)"
    return None


def _run_rotation(backend: SecretsManagerBackend, secret: FakeSecret, function_arn: str, token: str) -> None:
    try:
        for step in STEPS:
            stopped = _stopped(secret, token)
            if stopped:
                log.info("rotation of %s (version %s) %s before %s", secret.name, token, stopped, step)
                secret.__dict__["_last_rotation_error"] = f"rotation {stopped}"
                return
            _invoke_step(backend, function_arn, secret, token, step)
    except Exception as error:  # the function's failure is recorded, labels stay
        log.warning("rotation of %s (version %s) failed: %s", secret.name, token, error)
        secret.__dict__["_last_rotation_error"] = str(error)
        return
    version = secret.versions.get(token)
    if version and "AWSCURRENT" in version["version_stages"]:
        if "AWSPENDING" in version["version_stages"]:
            version["version_stages"].remove("AWSPENDING")
        secret.last_rotation_date = int(time.time())
        secret.__dict__["_last_rotation_error"] = None
    else:
        secret.__dict__["_last_rotation_error"] = "finishSecret did not move AWSCURRENT"
        log.warning("rotation of %s: finishSecret did not move AWSCURRENT to %s", secret.name, token)


def _start_rotation(backend: SecretsManagerBackend, secret: FakeSecret, function_arn: str, token: str) -> None:
    """The four steps for `token`, in the background; a reattempt of a rotation still running is not
    started twice."""
    workers = secret.__dict__.setdefault("_rotation_workers", {})
    running = workers.get(token)
    if running is not None and running.is_alive():
        return
    secret.__dict__["_rotation_cancelled"] = None
    worker = threading.Thread(target=_run_rotation, args=(backend, secret, function_arn, token),
                              name=f"rotate-{secret.name}", daemon=True)
    workers[token] = worker
    worker.start()


def rotate_secret(
    self: SecretsManagerBackend,
    secret_id: str,
    client_request_token: str | None = None,
    rotation_lambda_arn: str | None = None,
    rotation_rules: dict[str, Any] | None = None,
    rotate_immediately: bool = True,
) -> str:
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    if secret.is_deleted():
        raise InvalidRequestException(
            "You tried to perform the operation on a secret that's currently marked deleted."
        )
    days = (rotation_rules or {}).get("AutomaticallyAfterDays")
    if days is not None and not 1 <= int(days) <= 1000:
        raise InvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
    problem = rotation_rules_problem(rotation_rules)
    if problem:
        raise InvalidParameterException(problem)
    function_arn = rotation_lambda_arn or secret.rotation_lambda_arn
    if not function_arn:
        raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(self.account_id, self.region_name).get_function(function_arn)
    except Exception:
        raise ResourceNotFoundException(f"Resource not found for ARN '{function_arn}'.")
    if not service_may_invoke(function, "secretsmanager.amazonaws.com", self.account_id, secret.arn):
        raise AccessDeniedException(
            "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants "
            "access to the principal secretsmanager.amazonaws.com.")
    unfinished = pending_rotation(secret)
    if unfinished:
        if secret.rotation_lambda_arn:
            _start_rotation(self, secret, secret.rotation_lambda_arn, unfinished)
        raise InvalidRequestException(UNFINISHED)

    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = function_arn
    if days is not None:
        secret.auto_rotate_after_days = int(days)
        secret.next_rotation_date = int(time.time()) + int(days) * 86400
    if rotation_rules:
        # AWS answers the rules as given (ScheduleExpression and Duration too; moto keeps only days).
        secret.__dict__["_rotation_rules"] = {key: (int(value) if key == "AutomaticallyAfterDays" else value)
                                              for key, value in rotation_rules.items()
                                              if key in ("AutomaticallyAfterDays", "ScheduleExpression", "Duration")}
        interval = rate_interval_seconds(str(rotation_rules.get("ScheduleExpression") or ""))
        if interval:
            secret.next_rotation_date = int(time.time()) + interval

    token = client_request_token or str(mock_random.uuid4())
    if client_request_token:
        self._client_request_token_validator(client_request_token)
    current_id = _current_version_id(secret)

    if not rotate_immediately:
        # Configuration test only: a temporary pending copy of the current value.
        current = dict(secret.versions[current_id]) if current_id else {}
        secret.versions[token] = {**current, "version_id": token, "createdate": int(time.time()),
                                  "version_stages": ["AWSPENDING"]}
        try:
            _invoke_step(self, function_arn, secret, token, "testSecret")
        finally:
            secret.versions.pop(token, None)
        return json.dumps({"ARN": secret.arn, "Name": secret.name})

    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    _start_rotation(self, secret, function_arn, token)
    return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": token})


_original_cancel = SecretsManagerBackend.cancel_rotate_secret


def cancel_rotate_secret(self: SecretsManagerBackend, secret_id: str) -> str:
    answer = json.loads(_original_cancel(self, secret_id))
    secret = self.secrets[secret_id]
    unfinished = pending_rotation(secret)
    if unfinished:
        secret.__dict__["_rotation_cancelled"] = unfinished
        answer["VersionId"] = unfinished  # "the version of the secret created during the rotation"
    return json.dumps(answer)


def install() -> None:
    FakeSecret.default_version_id = property(_current_version_id, _set_default_hint)
    SecretsManagerBackend.rotate_secret = rotate_secret
    SecretsManagerBackend.cancel_rotate_secret = cancel_rotate_secret
