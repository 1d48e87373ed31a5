"""The RDS phase's shared steps: each rotation happens once and is awaited (seed 002)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest

from suite.principals import Principal
from suite.workshop import RotationDidNotFinish, Workshop


@dataclass
class Rotation:
    token: str
    before: dict[str, list[str]]
    after: dict[str, list[str]]
    error: str | None = None

    def version_with(self, stage: str, labels: dict[str, list[str]]) -> str | None:
        return next((version for version, stages in labels.items() if stage in stages), None)


def _rotate(workshop: Workshop) -> Rotation:
    before = workshop.labels()
    token = workshop.start_rotation()
    try:
        after = workshop.wait_for_current(token)
        return Rotation(token, before, after)
    except RotationDidNotFinish as unfinished:
        return Rotation(token, before, workshop.labels(), error=str(unfinished))


@pytest.fixture(scope="session")
def first_rotation(workshop: Workshop) -> Rotation:
    """Step 4 of the RDS phase: rotate immediately, and await the new AWSCURRENT."""
    return _rotate(workshop)


@pytest.fixture(scope="session")
def second_rotation(workshop: Workshop, first_rotation: Rotation) -> Rotation:
    return _rotate(workshop)


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
    """A second secret in the same account, which the scoped policy must not open."""
    sm = workshop.secrets_manager()
    arn = sm.create_secret(Name=f"smdemo-other-{workshop.aws.run_id}", SecretString='{"note": "not smdemo"}',
                           Tags=[{"Key": "Project", "Value": "smproj"}])["ARN"]
    try:
        yield arn
    finally:
        sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
