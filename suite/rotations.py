"""The rotations the phases share: each happens once per session and is awaited (seed 002).

The RDS checks look at the labels they moved; the Fargate checks at what the container
holds afterwards; the audit checks at who made the calls.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from suite.account_changes import ROTATES_SECRET, changes_account
from suite.workshop import RotationDidNotFinish, Workshop, error_code


@dataclass
class Rotation:
    token: str
    before: dict[str, list[str]]
    after: dict[str, list[str]]
    error: str | None = None

    def version_with(self, stage: str, labels: dict[str, list[str]]) -> str | None:
        return next((version for version, stages in labels.items() if stage in stages), None)


def rotate(workshop: Workshop) -> Rotation:
    """A rotation, awaited; one that did not finish, or that Secrets Manager refused to start (a previous
    one left unfinished: "A previous rotation isn't complete"), carries the reason as its error."""
    before = workshop.labels()
    started = time.time()
    try:
        token = workshop.start_rotation()
    except ClientError as refused:
        return Rotation("", before, workshop.labels(), error=f"RotateSecret was refused: {error_code(refused)}: "
                                                            f"{refused.response['Error'].get('Message', '')}")
    try:
        after = workshop.wait_for_current(token, since=started - 1)
        return Rotation(token, before, after)
    except RotationDidNotFinish as unfinished:
        return Rotation(token, before, workshop.labels(), error=str(unfinished))


@pytest.fixture(scope="session")
@changes_account(ROTATES_SECRET)
def first_rotation(workshop: Workshop) -> Rotation:
    """Step 4 of the RDS phase: rotate immediately, and await the new AWSCURRENT."""
    return rotate(workshop)


@pytest.fixture(scope="session")
@changes_account(ROTATES_SECRET)
def second_rotation(workshop: Workshop, first_rotation: Rotation) -> Rotation:
    return rotate(workshop)


@pytest.fixture(scope="session")
@changes_account(ROTATES_SECRET)
def many_rotations(workshop: Workshop, first_rotation: Rotation, second_rotation: Rotation) -> list[Rotation]:
    """Rotations one after another (20 offline): every password the function makes, over many runs."""
    rotations = [first_rotation, second_rotation]
    while len(rotations) < workshop.aws.timing.policy_rotations and rotations[-1].error is None:
        rotations.append(rotate(workshop))
    return rotations
