"""Lab C (seed 004): a TLS-only second user with least privilege, and taking its access away.

As the lab goes: demouser reads its secret through its application role and runs the lab's test
over TLS verified against the RDS CA bundle; without TLS, or on the workshop's own database, it is
refused; without its policy its role cannot read the secret, with it again it can; its secret
rotates and the test still works; the secret's cleanup is the recoverable delete AWS documents.
"""
from __future__ import annotations

import datetime
import time

import pymysql
import pytest
from botocore.exceptions import ClientError

from suite.account_changes import CREATES_DEMOUSER
from suite.attendee.database import ACCESS_DENIED
from suite.attendee.demouser import DATABASE_ACCESS_DENIED, LAB_ROWS, TABLE_ACCESS_DENIED, run_lab_test, tls_in_use
from suite.workshop import error_code, short, stages_text


def lab_test_as_evidence(lab_c, credentials, evidence, how: str) -> tuple[list[tuple], str]:
    with lab_c.connect(credentials) as connection:
        tls = tls_in_use(connection)
        rows = run_lab_test(connection)
    evidence.table(f"rows the lab's test read back {how}", ["id", "label"], rows)
    evidence.expect(f"{how}: over TLS, three rows inserted, read and the table dropped",
                    f"TLS {tls or 'not in use'}; {len(rows)} row(s)")
    return rows, tls


def login_refused(lab_c, credentials, tls: bool) -> int | None:
    """The MySQL error code the login gets, or None when it succeeds."""
    try:
        with lab_c.connect(credentials, tls=tls):
            return None
    except pymysql.err.OperationalError as error:
        return error.args[0]


# db_access_test.py -s <demouser's secret>: the secret through the role, TLS verified against the CA bundle
@pytest.mark.changes_account(CREATES_DEMOUSER)
@pytest.mark.guide_step("TLS user 4")
def test_demouser_runs_the_lab_test_over_verified_tls(lab_c, evidence):
    rows, tls = lab_test_as_evidence(lab_c, lab_c.read_as_application(), evidence, "as demouser")
    assert tls, "the session is not encrypted"
    assert rows == LAB_ROWS


# REQUIRE SSL: the same credentials without TLS are refused
@pytest.mark.changes_account(CREATES_DEMOUSER)
@pytest.mark.guide_step("TLS user 1")
def test_demouser_without_tls_is_refused(lab_c, evidence):
    code = login_refused(lab_c, lab_c.read_as_application(), tls=False)
    evidence.expect("demouser's login without TLS is refused: MySQL error 1045 (access denied)",
                    "logged in" if code is None else f"MySQL error {code}")
    assert code == ACCESS_DENIED


# Least privilege in the database: CREATE, INSERT, SELECT, DROP on its own database only
@pytest.mark.changes_account(CREATES_DEMOUSER)
@pytest.mark.guide_step("TLS user 1")
def test_demouser_cannot_touch_the_workshop_database(lab_c, evidence):
    database = lab_c.workshop.outputs["DBName"]
    refused = {}
    with lab_c.connect(lab_c.read_as_application()) as connection, connection.cursor() as cursor:
        for statement in (f"SELECT * FROM `{database}`.bookinfo", f"CREATE TABLE `{database}`.lab_intruder (id INT)",
                          f"DROP TABLE `{database}`.bookinfo"):
            try:
                cursor.execute(statement)
                refused[statement] = "allowed"
            except pymysql.err.OperationalError as error:
                refused[statement] = f"MySQL error {error.args[0]}"
    evidence.table(f"demouser on the workshop's database `{database}`", ["statement", "answer"],
                   [[statement, answer] for statement, answer in refused.items()])
    evidence.expect("every statement refused (1142 table access denied, or 1044 database access denied)",
                    ", ".join(sorted(set(refused.values()))))
    assert set(refused.values()) <= {f"MySQL error {TABLE_ACCESS_DENIED}", f"MySQL error {DATABASE_ACCESS_DENIED}"}


# Take the policy away: AccessDeniedException naming the action and the secret; give it back: it reads again
@pytest.mark.changes_account("detaches the lab role's policy and attaches it again")
@pytest.mark.guide_step("TLS user 3")
def test_detached_policy_denies_the_read_and_reattached_allows(lab_c, evidence):
    iam = lab_c.workshop.aws.client("iam")
    role = lab_c.role_arn.rsplit("/", 1)[-1]
    reader = lab_c.workshop.secrets_manager(lab_c.role_credentials())
    iam.detach_role_policy(RoleName=role, PolicyArn=lab_c.policy_arn)
    try:
        denial = lab_c.workshop.once_iam_denies(lambda: reader.get_secret_value(SecretId=lab_c.secret_arn))
    finally:
        iam.attach_role_policy(RoleName=role, PolicyArn=lab_c.policy_arn)
    message = denial.response["Error"]["Message"] if denial is not None else ""
    evidence.expect("policy detached: GetSecretValue fails with AccessDeniedException naming "
                    "secretsmanager:GetSecretValue and the secret", message or "still read the secret")
    assert denial is not None, "the role still reads demouser's secret with its only policy detached"
    assert "secretsmanager:GetSecretValue" in message, message
    named = lab_c.secret_arn.rsplit(":", 1)[-1].rsplit("-", 1)[0]  # AWS names the secret as the call did
    assert lab_c.secret_arn in message or named in message, message
    read_again = lab_c.read_as_application()  # waits while the re-attached grant propagates
    evidence.expect("policy attached again: the role reads the secret",
                    f"read the credentials of {read_again.username}")


# Turn rotation on (the stack's function, 30 days) and rotate immediately: the lab's test still works,
#   the old password does not
@pytest.mark.changes_account("turns rotation on for demouser's secret and rotates it (not undone)")
@pytest.mark.guide_step("TLS user 5")
def test_demouser_secret_rotates_and_the_lab_test_still_works(lab_c, evidence):
    before = lab_c.read_as_application()
    labels_before = lab_c.workshop.labels()
    token = lab_c.turn_on_rotation()
    labels_after = lab_c.workshop.wait_for_current(token)
    described = lab_c.workshop.secrets_manager().describe_secret(SecretId=lab_c.secret_arn)
    evidence.expect("rotation on, every 30 days, with the stack's rotation function",
                    f"RotationEnabled {described.get('RotationEnabled')}, "
                    f"{described.get('RotationRules', {}).get('AutomaticallyAfterDays')} days")
    assert described.get("RotationEnabled") and described["RotationRules"]["AutomaticallyAfterDays"] == 30
    evidence.table("demouser's secret", ["version", "before rotation", "after rotation"],
                   [[short(version), stages_text(labels_before.get(version)), stages_text(labels_after.get(version))]
                    for version in dict.fromkeys([*labels_before, *labels_after])])
    after = lab_c.read_as_application()
    assert "AWSCURRENT" in labels_after.get(token, [])
    assert after.password != before.password, "the rotation did not change demouser's password"
    rows, tls = lab_test_as_evidence(lab_c, after, evidence, "after the rotation")
    assert tls and rows == LAB_ROWS
    old = login_refused(lab_c, before, tls=True)
    evidence.expect("the password before the rotation is refused (1045)", "logged in" if old is None
                    else f"MySQL error {old}")
    assert old == ACCESS_DENIED


# Cleanup as the lab teaches: delete with a 7-day recovery window, restore; the unrecoverable delete
@pytest.mark.changes_account("schedules demouser's secret for deletion and restores it; "
                              "creates and deletes a probe secret")
@pytest.mark.guide_step("TLS user 7")
def test_lab_cleanup_deletes_recoverably_and_restores(lab_c, evidence):
    sm = lab_c.workshop.secrets_manager()
    arn = lab_c.secret_arn
    versions = lab_c.workshop.labels()
    asked = datetime.datetime.now(datetime.timezone.utc)
    deleted = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    try:
        described = sm.describe_secret(SecretId=arn)
        unreadable = _refusal(lambda: sm.get_secret_value(SecretId=arn))
        taken = _refusal(lambda: sm.create_secret(Name=described["Name"], SecretString="{}",
                                                  Tags=lab_c.workshop.aws.tags))
    finally:
        sm.restore_secret(SecretId=arn)
    window = (deleted["DeletionDate"] - asked).total_seconds() / 86400
    restored = sm.describe_secret(SecretId=arn)
    probe = _force_deleted_probe(lab_c)
    evidence.table("the lab's cleanup", ["step", "answer"], [
        ["DeleteSecret, RecoveryWindowInDays=7", f"DeletionDate {window:.1f} days later; DescribeSecret "
                                                 f"{'has' if 'DeletedDate' in described else 'lacks'} DeletedDate"],
        ["GetSecretValue while scheduled for deletion", unreadable],
        ["CreateSecret with the same name", taken],
        ["RestoreSecret", f"DeletedDate {'gone' if 'DeletedDate' not in restored else 'still set'}, "
                          f"{len(restored.get('VersionIdsToStages', {}))} version(s)"],
        ["DeleteSecret, ForceDeleteWithoutRecovery (a probe secret)", f"then DescribeSecret: {probe}"]])
    evidence.expect("marked for 7 days, unreadable, its name taken; restored with its versions; a forced delete "
                    "is gone at once", f"{window:.0f} days, {unreadable}, {taken}, {probe}")
    assert round(window) == 7 and "DeletedDate" in described
    assert unreadable == "InvalidRequestException"
    assert taken == "InvalidRequestException", "the name of a secret scheduled for deletion was free"
    assert "DeletedDate" not in restored
    assert {v: sorted(s) for v, s in restored["VersionIdsToStages"].items()} == versions
    assert lab_c.read_as_application().username
    assert probe == "ResourceNotFoundException"


def _refusal(call) -> str:
    try:
        call()
    except ClientError as error:
        return error_code(error)
    return "succeeded"


def _force_deleted_probe(lab_c) -> str:
    """A probe secret deleted without recovery: what DescribeSecret answers then (AWS deletes it
    asynchronously: awaited a little)."""
    sm = lab_c.workshop.secrets_manager()
    aws = lab_c.workshop.aws
    arn = sm.create_secret(Name=f"{aws.secret_name}-cleanup-probe", SecretString='{"note": "lab C cleanup"}',
                           Tags=aws.tags)["ARN"]
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    deadline = time.monotonic() + aws.timing.iam_propagation
    while (answer := _refusal(lambda: sm.describe_secret(SecretId=arn))) == "succeeded" and time.monotonic() < deadline:
        time.sleep(lab_c.workshop.poll_interval)
    return answer
