"""The workshop's RDS phase (seed 002), in its order: the old way works, the new way works,
rotation happens, the old way stops working, the new way keeps working.

The same checks run offline and live; only the fixtures know which. Each records its
evidence (suite/report/evidence.py): what it read, and what the workshop says it should find.
"""
from __future__ import annotations

import uuid

import pymysql
import pytest
from botocore.exceptions import ClientError

from suite.account_changes import (CREATES_IAM_USER, CREATES_SECRET, ROTATES_SECRET, STOPS_DATABASE,
                                    WRITES_OLDWAY_CNF)
from suite.attendee import mysql_scripts
from suite.attendee.database import ACCESS_DENIED, BOOKINFO_ROW, BOOKINFO_TEXT, batch_rows
from suite.attendee.mysql_scripts import OLDWAY, newway
from suite.controls.passwords import Declared, describe, password_findings
from suite.workshop import error_code, short, stages_text

BOOKINFO_HEADERS = ["BookId", "BookTitle", "BookAuthor"]
# What the guide's commands need in ec2-user's home on the bastion (docker/ of the workshop).
BASTION_FILES = ("Dockerfile", "dockerbuild.sh", "dockertagandpush.sh", "mysql.oldway.sh", "mysql.newway.sh",
                 "startprocesses.sh", "image-setup.sh")
GUIDE_TOOLS = ("mysql", "jq", "aws")
EXPECTED_BOOKINFO = f"the bookinfo table has its one row {BOOKINFO_ROW}"


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


def bookinfo_on_the_bastion(attendee_shell, evidence, script: tuple[str, ...], how: str):
    """The guide's command typed on the bastion (Session Manager, as ec2-user); its transcript and rows."""
    result = mysql_scripts.read_bookinfo(attendee_shell, script)
    evidence.text("on smdemo-host, as ec2-user (Session Manager)", result.shown())
    rows = batch_rows(result.stdout)
    evidence.expect(f"{how}: {EXPECTED_BOOKINFO}", f"exit {result.exit_status}, {len(rows)} row(s): {rows}")
    return result, rows


# Session Manager on smdemo-host, `sudo su - ec2-user`: the guide's files and tools are there
@pytest.mark.read_only
@pytest.mark.guide_step("RDS 0")
def test_bastion_has_the_guides_files_and_tools(bastion_shell, evidence):
    files = bastion_shell.files(*BASTION_FILES)
    ran, tools = bastion_shell.programs_that_run(*GUIDE_TOOLS)
    evidence.text("on smdemo-host, as ec2-user (Session Manager)",
                  "\n".join(done.shown() for done in bastion_shell.transcript[-2:]))
    wrong = [str(file) for file in files if file.owner != "ec2-user"
             or (file.path.endswith(".sh") and not file.executable_by_owner)]
    evidence.expect("ec2-user's home holds the Dockerfile and the scripts (its own, executable); mysql, jq and "
                    "aws are installed", f"wrong: {wrong or 'nothing'}; {'; '.join(f'{tool} runs' for tool in tools)}")
    assert not wrong, f"the bastion's ec2-user home is not as the guide needs it: {wrong}"
    assert ran.exit_status == 0 and tools == list(GUIDE_TOOLS), (
        f"a tool the guide uses is missing on the bastion: {ran.stderr.strip() or tools}")


# mysql.oldway.sh
@pytest.mark.changes_account(WRITES_OLDWAY_CNF)
@pytest.mark.guide_step("RDS 1")
def test_oldway_script_on_the_bastion_reads_bookinfo_before_rotation(seeded_bookinfo, attendee_shell, evidence):
    result, rows = bookinfo_on_the_bastion(attendee_shell, evidence, OLDWAY, "./mysql.oldway.sh")
    assert result.exit_status == 0 and rows == [BOOKINFO_TEXT], result.stderr[-500:]


@pytest.mark.read_only
@pytest.mark.guide_step("RDS 3")
def test_newway_script_on_the_bastion_reads_bookinfo(seeded_bookinfo, workshop, bastion_shell, evidence):
    result, rows = bookinfo_on_the_bastion(bastion_shell, evidence, newway(workshop.aws.secret_name),
                                           "./mysql.newway.sh with the secret's name")
    assert result.exit_status == 0 and rows == [BOOKINFO_TEXT], result.stderr[-500:]


@pytest.mark.read_only
@pytest.mark.guide_step("RDS 1")
def test_hardcoded_credentials_read_bookinfo_before_rotation(workshop, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.hardcoded, evidence,
                                     "with mysql.oldway.sh's hard-coded password")
    assert rows == [BOOKINFO_ROW]


# mysql.newway.sh
@pytest.mark.read_only
@pytest.mark.guide_step("RDS 3")
def test_credentials_from_secret_read_bookinfo(workshop, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.credentials_from_secret(), evidence,
                                     "with mysql.newway.sh's credentials from the secret")
    assert rows == [BOOKINFO_ROW]


# "Rotate immediately", then wait for the rotation to complete
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
def test_rotation_completes(first_rotation, evidence):
    labels_as_evidence(evidence, "Staging labels", first_rotation.before, first_rotation.after, first_rotation.token)
    evidence.expect("\"Rotate secret immediately\" finishes: a new version holds AWSCURRENT",
                    first_rotation.error or f"version {short(first_rotation.token)} holds "
                    f"{stages_text(first_rotation.after.get(first_rotation.token))}")
    assert first_rotation.error is None, first_rotation.error
    assert first_rotation.token not in first_rotation.before, "rotation did not create a new version"


# Staging labels, as the seed's tables show them
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
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


@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
def test_no_version_is_left_pending(workshop, first_rotation, evidence):
    pending = workshop.pending_versions_once_settled()
    evidence.expect("no version holds AWSPENDING once the rotation has finished",
                    f"AWSPENDING on {', '.join(short(version) for version in pending)}" if pending else "none")
    assert not pending, f"AWSPENDING is still attached after the rotation: {pending}"


@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
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


# mysql.oldway.sh after rotation
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
def test_hardcoded_credentials_fail_after_rotation(workshop, first_rotation, evidence):
    expected = f"mysql.oldway.sh's hard-coded password is refused after rotation: MySQL error {ACCESS_DENIED}"
    evidence.expect(expected, "not refused")
    with pytest.raises(pymysql.err.OperationalError) as refused:
        workshop.read_bookinfo(workshop.hardcoded)
    evidence.expect(expected, f"MySQL error {refused.value.args[0]}: {refused.value.args[-1]}")
    assert refused.value.args[0] == ACCESS_DENIED, f"expected MySQL error 1045, got {refused.value.args[0]}"


@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
def test_oldway_script_on_the_bastion_is_refused_after_rotation(attendee_shell, first_rotation, evidence):
    result = mysql_scripts.select_one(attendee_shell, OLDWAY)
    evidence.text("on smdemo-host, as ec2-user (Session Manager)", result.shown())
    evidence.expect(f"after rotation, ./mysql.oldway.sh is refused: ERROR {ACCESS_DENIED} (Access denied)",
                    f"exit {result.exit_status}: {result.stderr.strip()[-200:] or result.stdout.strip()[-200:]}")
    assert result.exit_status != 0 and f"ERROR {ACCESS_DENIED}" in result.stderr, (
        f"./mysql.oldway.sh was not refused with {ACCESS_DENIED} after rotation (exit {result.exit_status})")


@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
def test_newway_script_on_the_bastion_still_reads_bookinfo_after_rotation(seeded_bookinfo, workshop, attendee_shell,
                                                                           first_rotation, evidence):
    result, rows = bookinfo_on_the_bastion(attendee_shell, evidence, newway(workshop.aws.secret_name),
                                           "after rotation, ./mysql.newway.sh with the secret's name")
    assert result.exit_status == 0 and rows == [BOOKINFO_TEXT], result.stderr[-500:]


# mysql.newway.sh after rotation
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("RDS 4")
def test_credentials_from_secret_still_read_bookinfo(workshop, first_rotation, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.credentials_from_secret(), evidence,
                                     "after rotation, with mysql.newway.sh's credentials from the secret")
    assert rows == [BOOKINFO_ROW]


# Only a principal allowed on this secret's ARN reads it (lab C's scoped policy)
@pytest.mark.changes_account(CREATES_IAM_USER)
@pytest.mark.guide_step("Beyond the guide 1")
def test_principal_without_allowance_is_denied(workshop, principal_without_allowance, evidence):
    reader = principal_without_allowance.client("secretsmanager")
    denied = denied_as_evidence(evidence, "GetSecretValue by an identity no policy allows: AccessDeniedException",
                                lambda: reader.get_secret_value(SecretId=workshop.secret_arn))
    assert error_code(denied.value) == "AccessDeniedException"


@pytest.mark.changes_account(CREATES_IAM_USER + "; " + CREATES_SECRET)
@pytest.mark.guide_step("Beyond the guide 1")
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
    if "AppUserSecretArn" in workshop.outputs:  # lab B's own secret, where the workshop gives its app one
        others["the lab app's secret"] = workshop.outputs["AppUserSecretArn"]
    for what, arn in others.items():
        denied = denied_as_evidence(evidence, f"with the same policy, GetSecretValue on {what}: "
                                    "AccessDeniedException", lambda: reader.get_secret_value(SecretId=arn))
        assert error_code(denied.value) == "AccessDeniedException", f"the workshop's policy opens {what} too"


# Every password a rotation makes is one RDS accepts and the workshop declares (many rotations)
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("Beyond the guide 2")
def test_rotated_passwords_meet_the_policy(workshop, many_rotations, evidence):
    declared = Declared.from_function(workshop.aws.client("lambda"), workshop.outputs["RotationFunctionName"])
    rows, failing = [], []
    for number, rotation in enumerate(many_rotations, start=1):
        assert rotation.error is None, f"rotation {number} did not finish: {rotation.error}"
        password = workshop.secret_document(VersionId=rotation.token)["password"]
        findings = password_findings(password, declared)
        rows.append([number, short(rotation.token), describe(password), "; ".join(findings) or "meets the policy"])
        failing += [f"rotation {number}: {finding}" for finding in findings]
    evidence.table("Passwords made by the rotations (their shape only)", ["rotation", "version", "password",
                                                                        "verdict"], rows)
    evidence.expect(f"{len(many_rotations)} rotated passwords: at least {max(declared.length, 16)} characters, "
                    "each class, none of / @ \" or space", f"{len(failing)} findings")
    assert len(many_rotations) >= workshop.aws.timing.policy_rotations
    assert not failing, "; ".join(failing[:5])
    rows_read = workshop.read_bookinfo(workshop.credentials_from_secret())
    assert rows_read == [BOOKINFO_ROW], "after the rotations the credentials from the secret no longer read bookinfo"


# A rotation that cannot reach the database fails without moving AWSCURRENT
@pytest.mark.changes_account(f"{STOPS_DATABASE}; leaves an AWSPENDING version (cleared at the end)")
@pytest.mark.guide_step("Beyond the guide 2")
def test_rotation_without_database_leaves_current_in_place(rotation_interrupted_by_outage, evidence):
    interrupted = rotation_interrupted_by_outage
    before = interrupted.current_before or "no version"
    evidence.text("The rotation function's error", interrupted.error)
    holders = [short(version) for version, stages in interrupted.labels.items() if "AWSCURRENT" in stages]
    evidence.expect(f"a rotation that cannot reach the stopped database leaves AWSCURRENT on {short(before)}",
                    f"AWSCURRENT on {', '.join(holders) or 'no version'}")
    assert "AWSCURRENT" in interrupted.labels.get(before, []), f"a failed rotation moved AWSCURRENT: {holders}"
    assert "AWSCURRENT" not in interrupted.labels.get(interrupted.token, [])


@pytest.mark.changes_account(STOPS_DATABASE)
@pytest.mark.guide_step("Beyond the guide 2")
def test_credentials_from_secret_work_once_the_database_is_back(workshop, rotation_interrupted_by_outage, evidence):
    rows = read_bookinfo_as_evidence(workshop, workshop.credentials_from_secret(), evidence,
                                     "once the database is back, with the credentials from the secret")
    assert rows == [BOOKINFO_ROW]


# The rotation function, driven through Lambda Invoke as Secrets Manager drives it
@pytest.mark.changes_account("invokes the rotation function with requests Secrets Manager never sends "
                              "(refused: nothing changes)")
@pytest.mark.guide_step("Beyond the guide 2")
def test_rotation_function_refuses_what_is_not_its_rotation(workshop, rotation_interrupted_by_outage,
                                                            rotation_function, evidence):
    pending = rotation_interrupted_by_outage.token
    previous = next((version for version, stages in workshop.labels().items() if "AWSPREVIOUS" in stages), None)
    labels_before = workshop.labels()
    attempts = {"createSecret with a token that is no version of the secret": ("createSecret", str(uuid.uuid4())),
                "setSecret with the AWSPREVIOUS version (not AWSPENDING)": ("setSecret", previous or str(uuid.uuid4())),
                "an unknown step with the AWSPENDING version": ("deleteSecret", pending)}
    rows, accepted = [], []
    for what, (step, token) in attempts.items():
        error, payload = rotation_function.invoke(step, token)
        rows.append([what, f"{error}: {payload.get('errorType')}: {payload.get('errorMessage')}" if error
                     else "accepted"])
        if not error:
            accepted.append(what)
    evidence.table("Invoke with what Secrets Manager would never send", ["request", "answer"], rows)
    evidence.expect("each request is refused and nothing changes", f"{len(accepted)} accepted; labels "
                    f"{'unchanged' if workshop.labels() == labels_before else 'changed'}")
    assert not accepted, f"the rotation function accepted: {accepted}"
    assert workshop.labels() == labels_before, "a refused request changed the staging labels"


@pytest.mark.changes_account("finishes the interrupted rotation: its version becomes AWSCURRENT (not undone)")
@pytest.mark.guide_step("Beyond the guide 2")
def test_interrupted_rotation_resumes_and_every_step_can_repeat(workshop, rotation_interrupted_by_outage,
                                                                rotation_function, evidence):
    """Each step may be called more than once (AWS: rotation functions must be idempotent); the
    second call changes nothing, and finishSecret on a version already current is a no-op."""
    token = rotation_interrupted_by_outage.token
    made = workshop.secret_string(VersionId=token, VersionStage="AWSPENDING")
    rows, problems = [], []
    for step in ("createSecret", "createSecret", "setSecret", "setSecret", "testSecret", "testSecret",
                 "finishSecret", "finishSecret"):
        error, payload = rotation_function.invoke(step, token)
        value = workshop.secret_string(VersionId=token)
        rows.append([step, f"{error}: {payload.get('errorMessage')}" if error else "ok",
                     stages_text(workshop.labels().get(token)), "unchanged" if value == made else "CHANGED"])
        if error:
            problems.append(f"{step}: {payload.get('errorType')}: {payload.get('errorMessage')}")
        if value != made:
            problems.append(f"{step} changed the AWSPENDING version's value")
    evidence.table("Each step invoked twice with the same token", ["step", "answer", "labels of the version",
                                                                   "its value"], rows)
    # Secrets Manager takes AWSPENDING off once finishSecret succeeded.
    workshop.secrets_manager().update_secret_version_stage(SecretId=workshop.secret_arn, VersionStage="AWSPENDING",
                                                           RemoveFromVersionId=token)
    evidence.expect("every step succeeds twice, the value is made once, the version ends AWSCURRENT",
                    "; ".join(problems) or f"as expected; labels {stages_text(workshop.labels().get(token))}")
    assert not problems, "; ".join(problems)
    assert "AWSCURRENT" in workshop.labels()[token]
    assert workshop.read_bookinfo(workshop.credentials_from_secret()) == [BOOKINFO_ROW]
