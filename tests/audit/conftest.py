"""The audit phase's fixtures: the run's CloudTrail window, who the operator is, and the
denied read (the RDS phase's step "an identity no policy allows is refused")."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from suite.account_changes import CREATES_IAM_USER, changes_account
from suite.cloudtrail import TrailEvent, about_secret, await_events, lookup
from suite.principals import Principal
from suite.workshop import Workshop


@dataclass
class Audit:
    """Event history questions scoped to this run's window and the stack's secret."""

    workshop: Workshop

    @property
    def cloudtrail(self) -> Any:
        return self.workshop.aws.client("cloudtrail")

    @property
    def since_the_stack_was_made(self) -> float:
        """When the stack came to be: its CloudFormation CreationTime if it was given (--stack), else this run's
        start (the run deployed it)."""
        created = getattr(self.workshop.stack, "created_at", None)
        return min(created, self.workshop.aws.started_at) if created else self.workshop.aws.started_at

    def events(self, event_name: str, matches: Callable[[TrailEvent], bool] = lambda _: True,
               until: Callable[[list[TrailEvent]], bool] = bool, since: float | None = None) -> list[TrailEvent]:
        """Events named `event_name` on the stack's secret since the run began (or `since`), awaited (bounded)."""
        timing = self.workshop.aws.timing
        about = about_secret(self.workshop.secret_arn)
        return await_events(self.cloudtrail, start=since or self.workshop.aws.started_at,
                            attribute={"EventName": event_name},
                            matches=lambda event: about(event) and matches(event), until=until,
                            timeout=timing.events_timeout, interval=timing.events_interval,
                            request_interval=timing.lookup_interval)

    def events_from(self, service: str) -> list[TrailEvent]:
        """Every event of one service (`secretsmanager`, `ecs` ...) since the run began, as it is now."""
        return lookup(self.cloudtrail, self.workshop.aws.started_at, EventSource=f"{service}.amazonaws.com",
                      request_interval=self.workshop.aws.timing.lookup_interval)


@dataclass
class DeniedRead:
    principal_arn: str
    error_code: str
    at: float


@pytest.fixture(scope="session")
def audit(workshop: Workshop) -> Audit:
    return Audit(workshop)


@pytest.fixture(scope="session")
def operator_arn(workshop: Workshop) -> str:
    """The identity the suite acts as (the RDS-phase checks read the secret as it)."""
    return workshop.aws.client("sts").get_caller_identity()["Arn"]


@pytest.fixture(scope="session")
@changes_account(CREATES_IAM_USER)
def denied_read(workshop: Workshop) -> DeniedRead:
    principal = Principal(workshop.aws, f"smdemo-audited-{workshop.aws.run_id}")
    try:
        try:
            principal.client("secretsmanager").get_secret_value(SecretId=workshop.secret_arn)
            code = "allowed"
        except ClientError as error:
            code = error.response["Error"]["Code"]
        return DeniedRead(principal.arn, code, time.time())
    finally:
        principal.delete()

