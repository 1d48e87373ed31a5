"""Lab B's fixtures (seed 003): the lesson's stages (suite/app_lesson.py), each awaited when it runs beside the
other phases, else run here: the web app's three variants started on the bastion, watched while the secret
rotates, and while the secret is changed without the database."""
from __future__ import annotations

import pytest

from suite.account_changes import ROTATES_APP_SECRET, STARTS_APP, changes_account
from suite.app_lesson import LabApp, WatchedDesync, WatchedRotations
from suite.beside import Beside


@pytest.fixture(scope="session")
@changes_account(STARTS_APP)
def lab_app(app_lesson: Beside) -> LabApp:
    """`./app/start.sh VARIANT PORT SECRET` for each variant, on the bastion as ec2-user; stopped at the end."""
    return app_lesson.result("lab_app")


@pytest.fixture(scope="session")
@changes_account(ROTATES_APP_SECRET)
def app_through_two_rotations(app_lesson: Beside) -> WatchedRotations:
    """Each variant's `/`, asked many times a second, before, during and after two rotations."""
    return app_lesson.result("two_rotations")


@pytest.fixture(scope="session")
@changes_account(ROTATES_APP_SECRET)
def app_through_a_secret_changed_alone(app_lesson: Beside) -> WatchedDesync:
    """PutSecretValue of a new password (the database keeps the old one), then a rotation that repairs it."""
    return app_lesson.result("secret_changed_alone")
