"""The workshop's RDS phase (seed 002), in its order: the old way works, the new way works,
rotation happens, the old way stops working, the new way keeps working.

The same checks run offline and live; only the fixtures know which. Each records its
evidence (suite/report/evidence.py): what it read, and what the workshop says it should find.
"""
from __future__ import annotations

import time

import pymysql
import pytest
from botocore.exceptions import ClientError

from suite.attendee.database import ACCESS_DENIED, BOOKINFO_ROW
from suite.workshop import short, stages_text

BOOKINFO_HEADERS = ["BookId", "BookTitle", "BookAuthor"]
EXPECTED_BOOKINFO = f"the bookinfo table has its one row {BOOKINFO_ROW}"


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def read_bookinfo_as_evidence(workshop, credentials, evidence, how: str) -> list[tuple]:
    """Read bookinfo, and show the rows read and what the workshop expects of them."""
    rows = workshop.read_bookinfo(credentials)
    evidence.table(f"bookinfo rows read {how}", BOOKINFO_HEADERS, rows)
    evidence.expect(f"{how}: {EXPECTED_BOOKINFO}", f"{len(rows)} row(s): {rows}")
    return rows


def labels_as_evidence(evidence, title: str, before: dict, after: dict, token: str | None = None) -> None:
    """The staging-label map before and after a rotation, version ids shortened as the console shows them."""
    versions = [*before, *(version for version in after if version not in before)]
    rows = [[short(version) + (" (new)" if version == token else ""), stages_text(before.get(version)),
             stages_text(after.get(version))] for version in versions]
    evidence.table(title, ["version", "before rotation", "after rotation"], rows)


def denied_as_evidence(evidence, expected: str, attempt) -> pytest.ExceptionInfo[ClientError]:
    """Pessimistic first: if the attempt is not denied, pytest.raises fails and this is what was found."""
    evidence.expect(expected, "not denied")
    with pytest.raises(ClientError) as denied:
        attempt()
    evidence.expect(expected, error_code(denied.value))
    return denied


# 1. mysql.oldway.sh
def test_hardcoded_credentials_read_bookinfo_before_rotation(workshop, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.hardcoded, evidence,
                                     "with mysql.oldway.sh's hard-coded password")
    assert rows == [BOOKINFO_ROW]


# 2. mysql.newway.sh
def test_credentials_from_secret_read_bookinfo(workshop, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.credentials_from_secret(), evidence,
                                     "with mysql.newway.sh's credentials from the secret")
    assert rows == [BOOKINFO_ROW]


# 3. "Rotate immediately", then wait for the rotation to complete
def test_rotation_completes(first_rotation, evidence):
    labels_as_evidence(evidence, "Staging labels", first_rotation.before, first_rotation.after, first_rotation.token)
    evidence.expect("\"Rotate secret immediately\" finishes: a new version holds AWSCURRENT",
                    first_rotation.error or f"version {short(first_rotation.token)} holds "
                    f"{stages_text(first_rotation.after.get(first_rotation.token))}")
    assert first_rotation.error is None, first_rotation.error
    assert first_rotation.token not in first_rotation.before, "rotation did not create a new version"


# 4. Staging labels, as the seed's tables show them
def test_new_version_is_current_and_old_version_is_previous(first_rotation, evidence):
    old_current = first_rotation.version_with("AWSCURRENT", first_rotation.before)
    labels_as_evidence(evidence, "Staging labels", first_rotation.before, first_rotation.after, first_rotation.token)
    for version, role, stage in ((first_rotation.token, "the new version", "AWSCURRENT"),
                                 (old_current, "the version that was AWSCURRENT", "AWSPREVIOUS")):
        evidence.expect(f"{role} holds {stage}",
                        f"{short(version or '?')} holds {stages_text(first_rotation.after.get(version))}")
    assert "AWSCURRENT" in first_rotation.after.get(first_rotation.token, []), (
        f"the new version does not hold AWSCURRENT: {first_rotation.after}")
    assert "AWSPREVIOUS" in first_rotation.after.get(old_current, []), (
        f"the version that was AWSCURRENT does not hold AWSPREVIOUS: {first_rotation.after}")
    holders = [version for version, stages in first_rotation.after.items() if "AWSCURRENT" in stages]
    assert holders == [first_rotation.token], f"AWSCURRENT is on {len(holders)} versions"


def test_no_version_is_left_pending(workshop, first_rotation, evidence):
    pending = workshop.pending_versions_once_settled()
    evidence.expect("no version holds AWSPENDING once the rotation has finished",
                    f"AWSPENDING on {', '.join(short(version) for version in pending)}" if pending else "none")
    assert not pending, f"AWSPENDING is still attached after the rotation: {pending}"


def test_second_rotation_moves_previous_off_the_first_version(first_rotation, second_rotation, evidence):
    first_version = first_rotation.version_with("AWSCURRENT", first_rotation.before)
    labels_as_evidence(evidence, "Staging labels, second rotation", second_rotation.before, second_rotation.after,
                       second_rotation.token)
    for version, role, expected in ((first_version, "the original version", "no label (AWSPREVIOUS has moved on)"),
                                    (first_rotation.token, "the first rotation's version", "AWSPREVIOUS")):
        evidence.expect(f"{role} holds {expected}",
                        f"{short(version or '?')} holds {stages_text(second_rotation.after.get(version))}")
    assert second_rotation.error is None, second_rotation.error
    assert "AWSPREVIOUS" not in second_rotation.after.get(first_version, []), (
        "the original version still holds AWSPREVIOUS after a second rotation")
    assert "AWSPREVIOUS" in second_rotation.after.get(first_rotation.token, []), (
        "the first rotation's version did not become AWSPREVIOUS")


# 5. mysql.oldway.sh after rotation
def test_hardcoded_credentials_fail_after_rotation(workshop, first_rotation, evidence):
    expected = f"mysql.oldway.sh's hard-coded password is refused after rotation: MySQL error {ACCESS_DENIED}"
    evidence.expect(expected, "not refused")
    with pytest.raises(pymysql.err.OperationalError) as refused:
        workshop.read_bookinfo(workshop.hardcoded)
    evidence.expect(expected, f"MySQL error {refused.value.args[0]}: {refused.value.args[-1]}")
    assert refused.value.args[0] == ACCESS_DENIED, f"expected MySQL error 1045, got {refused.value.args[0]}"


# 6. mysql.newway.sh after rotation
def test_credentials_from_secret_still_read_bookinfo(workshop, first_rotation, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.credentials_from_secret(), evidence,
                                     "after rotation, with mysql.newway.sh's credentials from the secret")
    assert rows == [BOOKINFO_ROW]


# 7. Only a principal allowed on this secret's ARN reads it (lab C's scoped policy)
def test_principal_without_allowance_is_denied(workshop, principal_without_allowance, evidence):
    reader = principal_without_allowance.client("secretsmanager")
    denied = denied_as_evidence(evidence, "GetSecretValue by an identity no policy allows: AccessDeniedException",
                                lambda: reader.get_secret_value(SecretId=workshop.secret_arn))
    assert error_code(denied.value) == "AccessDeniedException"


def test_scoped_policy_reads_this_secret_and_no_other(workshop, principal_without_allowance, other_secret, evidence):
    principal_without_allowance.attach(workshop.outputs["SecretReadOnlyPolicyArn"])
    reader = principal_without_allowance.client("secretsmanager")
    expected_own = "with the workshop's read-only policy, GetSecretValue on the workshop's secret succeeds"
    evidence.expect(expected_own, "not read")
    own_arn = workshop.once_iam_allows(lambda: reader.get_secret_value(SecretId=workshop.secret_arn))["ARN"]
    evidence.expect(expected_own, "read" if own_arn == workshop.secret_arn else f"read another ARN: {own_arn}")
    assert own_arn == workshop.secret_arn
    others = {"a secret whose name starts with the workshop secret's": other_secret,
              "the stack's container user secret": workshop.outputs["ContainerUserSecretArn"]}
    for what, arn in others.items():
        denied = denied_as_evidence(evidence, f"with the same policy, GetSecretValue on {what}: "
                                    "AccessDeniedException", lambda: reader.get_secret_value(SecretId=arn))
        assert error_code(denied.value) == "AccessDeniedException", f"the workshop's policy opens {what} too"


# 8. A rotation that cannot reach the database fails without moving AWSCURRENT
def test_rotation_without_database_leaves_current_in_place(workshop, second_rotation, stopped_database, evidence):
    current_before = workshop.current_version()
    expected = f"a rotation that cannot reach the stopped database leaves AWSCURRENT on {short(current_before)}"
    evidence.expect(expected, "not reached: the rotation did not report an error")
    started = time.time()
    token = workshop.start_rotation()
    evidence.text("The rotation function's error", workshop.wait_for_rotation_error(since=started - 1))
    labels = workshop.labels()
    holders = [short(version) for version, stages in labels.items() if "AWSCURRENT" in stages]
    evidence.expect(expected, f"AWSCURRENT on {', '.join(holders) or 'no version'}")
    assert "AWSCURRENT" in labels.get(current_before, []), f"a failed rotation moved AWSCURRENT: {workshop.labels_shown()}"
    assert "AWSCURRENT" not in labels.get(token, [])


def test_credentials_from_secret_work_once_the_database_is_back(workshop, second_rotation, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.credentials_from_secret(), evidence,
                                     "once the database is back, with the credentials from the secret")
    assert rows == [BOOKINFO_ROW]
