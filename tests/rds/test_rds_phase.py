"""The workshop's RDS phase (seed 002), in its order: the old way works, the new way works,
rotation happens, the old way stops working, the new way keeps working.

The same checks run offline and live; only the fixtures know which.
"""
from __future__ import annotations

import time

import pymysql
import pytest
from botocore.exceptions import ClientError
from tenacity import RetryError, retry, retry_if_result, stop_after_delay, wait_fixed

from infra.database import ACCESS_DENIED, BOOKINFO_ROW


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


# 1. mysql.oldway.sh
def test_hardcoded_credentials_read_bookinfo_before_rotation(workshop):
    assert workshop.read_bookinfo(workshop.hardcoded) == [BOOKINFO_ROW]


# 2. mysql.newway.sh
def test_credentials_from_secret_read_bookinfo(workshop):
    assert workshop.read_bookinfo(workshop.credentials_from_secret()) == [BOOKINFO_ROW]


# 3. "Rotate immediately", then wait for the rotation to complete
def test_rotation_completes(first_rotation):
    assert first_rotation.error is None, first_rotation.error
    assert first_rotation.token not in first_rotation.before, "rotation did not create a new version"


# 4. Staging labels, as the seed's tables show them
def test_new_version_is_current_and_old_version_is_previous(first_rotation):
    old_current = first_rotation.version_with("AWSCURRENT", first_rotation.before)
    assert "AWSCURRENT" in first_rotation.after.get(first_rotation.token, []), (
        f"the new version does not hold AWSCURRENT: {first_rotation.after}")
    assert "AWSPREVIOUS" in first_rotation.after.get(old_current, []), (
        f"the version that was AWSCURRENT does not hold AWSPREVIOUS: {first_rotation.after}")
    holders = [version for version, stages in first_rotation.after.items() if "AWSCURRENT" in stages]
    assert holders == [first_rotation.token], f"AWSCURRENT is on {len(holders)} versions"


def test_no_version_is_left_pending(workshop, first_rotation):
    # AWS documents that AWSPENDING leaves the new version when rotation completes; some
    # reference functions leave it for a while, so it only has to go eventually.
    @retry(stop=stop_after_delay(workshop.rotation_timeout), wait=wait_fixed(1), retry=retry_if_result(bool))
    def pending_versions():
        return {version: stages for version, stages in workshop.labels().items() if "AWSPENDING" in stages}

    try:
        pending = pending_versions()
    except RetryError:
        pending = {v: s for v, s in workshop.labels_shown().items() if "AWSPENDING" in s}
    assert not pending, f"AWSPENDING is still attached after the rotation: {pending}"


def test_second_rotation_moves_previous_off_the_first_version(first_rotation, second_rotation):
    assert second_rotation.error is None, second_rotation.error
    first_version = first_rotation.version_with("AWSCURRENT", first_rotation.before)
    assert "AWSPREVIOUS" not in second_rotation.after.get(first_version, []), (
        "the original version still holds AWSPREVIOUS after a second rotation")
    assert "AWSPREVIOUS" in second_rotation.after.get(first_rotation.token, []), (
        "the first rotation's version did not become AWSPREVIOUS")


# 5. mysql.oldway.sh after rotation
def test_hardcoded_credentials_fail_after_rotation(workshop, first_rotation):
    with pytest.raises(pymysql.err.OperationalError) as refused:
        workshop.read_bookinfo(workshop.hardcoded)
    assert refused.value.args[0] == ACCESS_DENIED, f"expected MySQL error 1045, got {refused.value.args[0]}"


# 6. mysql.newway.sh after rotation
def test_credentials_from_secret_still_read_bookinfo(workshop, first_rotation):
    assert workshop.read_bookinfo(workshop.credentials_from_secret()) == [BOOKINFO_ROW]


# 7. Only a principal allowed on this secret's ARN reads it (lab C's scoped policy)
def test_principal_without_allowance_is_denied(workshop, principal_without_allowance):
    with pytest.raises(ClientError) as denied:
        principal_without_allowance.client("secretsmanager").get_secret_value(SecretId=workshop.secret_arn)
    assert error_code(denied.value) == "AccessDeniedException"


def test_scoped_policy_reads_this_secret_and_no_other(workshop, principal_without_allowance, other_secret):
    principal_without_allowance.attach(workshop.outputs["SecretReadOnlyPolicyArn"])
    reader = principal_without_allowance.client("secretsmanager")

    @retry(stop=stop_after_delay(60 if workshop.aws.mode == "live" else 5), wait=wait_fixed(2), reraise=True)
    def read_own():  # IAM policy changes take seconds to reach AWS's endpoints
        return reader.get_secret_value(SecretId=workshop.secret_arn)

    assert read_own()["ARN"] == workshop.secret_arn
    with pytest.raises(ClientError) as denied:
        reader.get_secret_value(SecretId=other_secret)
    assert error_code(denied.value) == "AccessDeniedException", "the workshop's policy opens other secrets too"


# 8. A rotation that cannot reach the database fails without moving AWSCURRENT
def test_rotation_without_database_leaves_current_in_place(workshop, second_rotation):
    current_before = next(v for v, s in workshop.labels().items() if "AWSCURRENT" in s)
    workshop.stop_database()
    token = None
    try:
        started = time.time()
        token = workshop.start_rotation()
        workshop.wait_for_rotation_error(since=started - 1)
        labels = workshop.labels()
        assert "AWSCURRENT" in labels.get(current_before, []), (
            f"a failed rotation moved AWSCURRENT: {workshop.labels_shown()}")
        assert "AWSCURRENT" not in labels.get(token, [])
    finally:
        workshop.start_database()
        if token and "AWSPENDING" in workshop.labels().get(token, []):
            # AWS's documented remedy, so later rotations are not refused as "in progress".
            workshop.secrets_manager().update_secret_version_stage(
                SecretId=workshop.secret_arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    assert workshop.read_bookinfo(workshop.credentials_from_secret()) == [BOOKINFO_ROW]
