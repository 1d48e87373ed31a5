"""The RDS phase's own fixtures (the rotations are shared: suite/rotations.py)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterator

import pytest

from suite.account_changes import CREATES_IAM_USER, CREATES_SECRET, STOPS_DATABASE, changes_account
from suite.beside import await_all
from suite.rotations import Rotation
from suite.controls.deployed import sibling_secret_name
from suite.principals import Principal
from suite.workshop import Workshop


@pytest.fixture()
@changes_account(CREATES_IAM_USER)
def principal_without_allowance(workshop: Workshop) -> Iterator[Principal]:
    """An IAM identity that no policy allows anything yet."""
    principal = Principal(workshop.aws, f"smdemo-reader-{workshop.aws.run_id}")
    try:
        yield principal
    finally:
        principal.delete()


@pytest.fixture()
@changes_account(CREATES_SECRET)
def other_secret(workshop: Workshop) -> Iterator[str]:
    """A second secret in the same account whose name starts with the workshop secret's name
    (a policy on `<secret>*` would open it): the scoped policy must not."""
    sm = workshop.secrets_manager()
    arn = sm.create_secret(Name=sibling_secret_name(workshop.aws.secret_name), SecretString='{"note": "not smdemo"}',
                           Tags=workshop.aws.tags)["ARN"]
    try:
        yield arn
    finally:
        sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@dataclass
class InterruptedRotation:
    """A rotation started while the database was stopped: createSecret made the AWSPENDING version,
    setSecret could not log in, AWSCURRENT stayed where it was."""

    token: str
    current_before: str | None
    error: str  # the function's error line in its log
    labels: dict[str, list[str]]  # the staging labels right after the failure


@pytest.fixture(scope="module")
@changes_account(STOPS_DATABASE)
def rotation_interrupted_by_outage(workshop: Workshop, second_rotation: Rotation,
                                   request: pytest.FixtureRequest) -> Iterator[InterruptedRotation]:
    """Stop the DB instance (StopDBInstance, awaited), rotate, await the function's error, start the
    DB again. The AWSPENDING version is left for the checks that resume it; afterwards it is cleared
    if still there, as AWS documents for a failed rotation. Work started beside the phases (the App lab's
    lesson uses the database too) has ended first."""
    await_all(request.config)
    current_before = workshop.current_version()
    workshop.stop_database()
    try:
        started = time.time()
        token = workshop.start_rotation()
        error = workshop.wait_for_rotation_error(since=started - 1)
        labels = workshop.labels()
    finally:
        workshop.start_database()
    try:
        yield InterruptedRotation(token, current_before, error, labels)
    finally:
        workshop.clear_pending()


@dataclass
class RotationFunction:
    """The deployed rotation function, invoked through Lambda's Invoke API as Secrets Manager does."""

    workshop: Workshop

    def invoke(self, step: str, token: str) -> tuple[str | None, dict]:
        """(the FunctionError or None, the payload) of one step on the workshop's secret."""
        response = self.workshop.aws.client("lambda").invoke(
            FunctionName=self.workshop.outputs["RotationFunctionName"],
            Payload=json.dumps({"SecretId": self.workshop.secret_arn, "ClientRequestToken": token, "Step": step}))
        payload = json.loads(response["Payload"].read() or b"null")
        return response.get("FunctionError"), payload if isinstance(payload, dict) else {}


@pytest.fixture()
def rotation_function(workshop: Workshop) -> RotationFunction:
    return RotationFunction(workshop)
