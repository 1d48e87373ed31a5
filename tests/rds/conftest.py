"""The RDS phase's own fixtures (the rotations are shared: suite/rotations.py)."""
from __future__ import annotations

from typing import Iterator

import pytest

from suite.controls.deployed import sibling_secret_name
from suite.principals import Principal
from suite.workshop import Workshop


@pytest.fixture()
def principal_without_allowance(workshop: Workshop) -> Iterator[Principal]:
    """An IAM identity that no policy allows anything yet."""
    principal = Principal(workshop.aws, f"smdemo-reader-{workshop.aws.run_id}")
    try:
        yield principal
    finally:
        principal.delete()


@pytest.fixture()
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


@pytest.fixture()
def stopped_database(workshop: Workshop) -> Iterator[None]:
    """The workshop's DB instance stopped (StopDBInstance, awaited); afterwards started again,
    and AWSPENDING cleared from a rotation that could not finish, as AWS documents."""
    workshop.stop_database()
    try:
        yield
    finally:
        workshop.start_database()
        workshop.clear_pending()
