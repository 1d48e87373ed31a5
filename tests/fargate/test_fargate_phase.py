"""The workshop's Fargate phase (seed 001), in its order: a task definition revision that names
the secret, Run Task, ssh into the container from the bastion, TASKDEF_SECRET in the login
shell, ./mysql.newway.sh reads bookinfo; then what ECS does with a secret that changes.

The same checks run offline and live; only the fixtures know which.
"""
from __future__ import annotations

import json

import pytest

from suite.account_changes import PUSHES_IMAGE, ROTATES_SECRET, RUNS_TASKS
from suite.attendee import mysql_scripts
from suite.attendee.database import BOOKINFO_ROW, BOOKINFO_TEXT, batch_rows
from suite.attendee.mysql_scripts import OLDWAY, newway
from suite.attendee.tasks import TaskDidNotStart, container_environment, container_secrets, describe_task
from suite.image_layers import image_files, layer_findings
from suite.redaction import REGISTRY
from suite.rotations import rotate

SHELL_METACHARACTERS = "it's `date` \"$HOME\" \\ $(id) ; a b\ttab\nsecond line"


# On the bastion: ./dockerbuild.sh, docker images, ./dockertagandpush.sh <repository URI>
@pytest.mark.changes_account(PUSHES_IMAGE)
@pytest.mark.guide_step("Fargate 1")
def test_image_is_built_and_pushed_on_the_bastion(workshop, image_from_the_bastion, evidence):
    evidence.text("on smdemo-host, as ec2-user (Session Manager)",
                  "\n".join(done.shown() for done in image_from_the_bastion.transcript))
    listed = [line.split()[:2] for line in image_from_the_bastion.transcript[1].stdout.splitlines()[1:]]
    ecr = workshop.aws.client("ecr")
    pushed = [image
              for image in ecr.describe_images(repositoryName=workshop.outputs["ECRRepositoryName"])["imageDetails"]
              if "latest" in image.get("imageTags", [])]
    evidence.expect("docker images lists smdemo:latest; the repository holds the pushed image as latest",
                    f"docker images: {listed}; ECR latest: {[image['imageDigest'][:19] for image in pushed]}")
    assert ["smdemo", "latest"] in listed, f"docker images does not list smdemo:latest: {listed}"
    assert pushed, "the workshop's ECR repository has no image tagged latest after ./dockertagandpush.sh"
    assert pushed[0]["imageDigest"] in image_from_the_bastion.transcript[2].stdout, (
        "the digest in ECR is not the one the push printed")


# "Create new revision": replace SECRETNAME with the secret's ARN
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 2")
def test_task_definition_revision_names_the_secret(workshop, fargate_phase, task_definition, evidence):
    secrets = container_secrets(fargate_phase.ecs, task_definition)
    environment = container_environment(fargate_phase.ecs, task_definition)
    evidence.table("secrets of the revision", ["name", "valueFrom"], [[k, v] for k, v in secrets.items()])
    evidence.expect(f"TASKDEF_SECRET comes from {workshop.secret_arn}",
                    f"TASKDEF_SECRET comes from {secrets.get('TASKDEF_SECRET', 'nowhere')}")
    assert secrets.get("TASKDEF_SECRET") == workshop.secret_arn, (
        f"TASKDEF_SECRET's valueFrom is {secrets.get('TASKDEF_SECRET')!r}, not the secret's ARN {workshop.secret_arn}")
    assert not any("SECRETNAME" in value for value in secrets.values()), "a valueFrom still says SECRETNAME"
    current = workshop.secret_document()
    leaked = [name for name, value in environment.items()
              if current["password"] in value or value == json.dumps(current)]
    assert not leaked, f"the plain environment holds the secret's password: {leaked}"


# Run Task: PROVISIONING, PENDING, RUNNING
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 3")
def test_task_reaches_running(fargate_phase, running_task, evidence):
    task = describe_task(fargate_phase.ecs, fargate_phase.cluster, running_task.arn)
    evidence.table("the task", ["task", "lastStatus", "private IP"],
                   [[running_task.task_id, task["lastStatus"], running_task.address]])
    evidence.expect("the task is RUNNING", f"the task is {task['lastStatus']}")
    assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")


@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 3")
def test_task_without_secret_access_does_not_start(workshop, fargate_phase, workshop_image, evidence):
    role = fargate_phase.execution_role_like_the_stack(f"smdemo-no-secrets-{workshop.aws.run_id}",
                                                      keep_secret_access=False)
    revision = fargate_phase.register_revision(executionRoleArn=role)
    task = fargate_phase.wait_stopped(fargate_phase.run(revision))
    reason = task.get("stoppedReason", "")
    evidence.expect("a task whose execution role cannot read the secret stops before it starts, and says why",
                    f"lastStatus {task['lastStatus']}: {reason}")
    assert task["lastStatus"] == "STOPPED"
    assert "ResourceInitializationError" in reason and "secretsmanager:GetSecretValue" in reason, reason
    assert all(container.get("exitCode") is None for container in task.get("containers", [])), (
        "a container ran although its secrets could not be resolved")


# On the bastion (Session Manager, ec2-user): ssh <task private IP> with the container user's password
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 4")
def test_attendee_sshes_from_the_bastion_into_the_task(task_from_the_bastion, evidence):
    result = task_from_the_bastion.log_in()
    evidence.text("on smdemo-host, as ec2-user (Session Manager)", result.shown())
    evidence.expect("the bastion's ssh logs in as ec2-user with the password, the task's host key pinned",
                    f"exit {result.exit_status}: {result.stdout.strip()!r} {result.stderr.strip()[-300:]}")
    assert result.exit_status == 0 and result.stdout.split() == ["ec2-user", "ecs.sh", "readable"], (
        f"ssh from the bastion into the task failed (exit {result.exit_status}): {result.stderr.strip()[-500:]}")


@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 5")
def test_newway_script_in_the_task_over_the_bastions_ssh_reads_bookinfo(seeded_bookinfo, task_from_the_bastion,
                                                                        evidence):
    result = mysql_scripts.read_bookinfo(task_from_the_bastion, newway())
    rows = batch_rows(result.stdout)
    evidence.text("on smdemo-host, as ec2-user (Session Manager)", result.shown())
    evidence.expect(f"./mysql.newway.sh in the task reads {BOOKINFO_ROW}", f"exit {result.exit_status}, rows {rows}")
    assert result.exit_status == 0 and rows == [BOOKINFO_TEXT], result.stderr[-500:]


@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 6")
def test_taskdef_secret_seen_over_the_bastions_ssh_is_the_secret(workshop, task_from_the_bastion, evidence):
    result = task_from_the_bastion.compare_on_the_bastion("TASKDEF_SECRET", workshop.secret_arn)
    evidence.text("on smdemo-host, as ec2-user (Session Manager)", result.shown())
    evidence.expect("env | grep TASKDEF_SECRET in the task shows the secret's current value",
                    f"exit {result.exit_status}: {result.stdout.strip() or result.stderr.strip()[-300:]}")
    assert result.exit_status == 0 and "equals the secret's AWSCURRENT" in result.stdout, (
        f"TASKDEF_SECRET over the bastion's ssh: {result.stdout.strip()} {result.stderr.strip()[-300:]}")


# The suite's own SSH client (over Session Manager port forwarding from the bastion) for the byte-for-byte
# checks: env | grep TASKDEF_SECRET
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 6")
def test_login_shell_has_taskdef_secret(workshop, container_shell, fargate_phase, task_definition, evidence):
    secret = container_shell.env("TASKDEF_SECRET")
    profile = container_shell.file("/etc/profile.d/ecs.sh")
    envvar = container_shell.env("TASKDEF_ENVVAR")
    expected_envvar = container_environment(fargate_phase.ecs, task_definition).get("TASKDEF_ENVVAR")
    evidence.text("SSH transcript", "\n".join(e.shown() for e in container_shell.transcript[-3:]))
    evidence.expect("TASKDEF_SECRET is the secret's current JSON, ecs.sh has mode 644, TASKDEF_ENVVAR is set",
                    f"TASKDEF_SECRET {'matches' if secret == workshop.secret_string() else 'does not match'}, "
                    f"{profile}, TASKDEF_ENVVAR={envvar!r}")
    assert secret == workshop.secret_string(), "TASKDEF_SECRET in a login shell is not the secret's current value"
    assert profile.mode == 0o644, f"/etc/profile.d/ecs.sh: {profile}"
    assert envvar == expected_envvar


# ./mysql.newway.sh works; ./mysql.oldway.sh no longer does
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 5")
def test_newway_script_reads_bookinfo(seeded_bookinfo, container_shell, evidence):
    result = mysql_scripts.read_bookinfo(container_shell, newway())
    rows = batch_rows(result.stdout)
    evidence.text("SSH transcript", result.shown())
    evidence.table("bookinfo rows read in the container", ["BookId", "BookTitle", "BookAuthor"], rows)
    evidence.expect(f"./mysql.newway.sh reads {BOOKINFO_ROW}", f"exit {result.exit_status}, rows {rows}")
    assert result.exit_status == 0, result.stderr
    assert rows == [BOOKINFO_TEXT]


@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("Beyond the guide 3")
def test_oldway_script_fails_after_rotation(workshop, container_shell, first_rotation, evidence):
    mysql_scripts.write_oldway_cnf(container_shell, workshop.hardcoded)
    result = mysql_scripts.select_one(container_shell, OLDWAY)
    evidence.text("SSH transcript", result.shown())
    evidence.expect("after rotation, ./mysql.oldway.sh is refused: Access denied (1045)",
                    f"exit {result.exit_status}: {result.stderr.strip() or result.stdout.strip()}")
    assert result.exit_status != 0, "the hard-coded credentials still work after the rotation"
    assert "1045" in result.stderr or "Access denied" in result.stderr, result.stderr


# A value full of shell metacharacters reaches the login shell intact (the original's bug #1)
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 6")
def test_metacharacter_secret_arrives_byte_for_byte(workshop, fargate_phase, workshop_image, evidence):
    value = {"username": "smadmin", "password": SHELL_METACHARACTERS}
    secret_string = json.dumps(value)
    arn = fargate_phase.scratch_secret(f"smdemo-quoting-{workshop.aws.run_id}", secret_string)
    role = fargate_phase.execution_role_like_the_stack(f"smdemo-quoting-{workshop.aws.run_id}",
                                                      keep_secret_access=True, extra_secret=arn)
    definition = fargate_phase.ecs.describe_task_definition(
        taskDefinition=workshop.outputs["TaskDefinitionArn"])["taskDefinition"]
    containers = definition["containerDefinitions"]
    for entry in containers[0]["secrets"]:
        if entry["name"] == "TASKDEF_SECRET":
            entry["valueFrom"] = arn
    containers[0]["secrets"].append({"name": "TASKDEF_PASSWORD", "valueFrom": f"{arn}:password::"})
    revision = fargate_phase.register_revision(executionRoleArn=role, containerDefinitions=containers)
    task = fargate_phase.start(revision)
    shell = fargate_phase.shell(task, revision)
    arrived = shell.env("TASKDEF_SECRET")
    password = shell.env("TASKDEF_PASSWORD")
    evidence.expect("TASKDEF_SECRET and TASKDEF_PASSWORD arrive byte for byte",
                    f"TASKDEF_SECRET {'intact' if arrived == secret_string else 'altered'}, "
                    f"TASKDEF_PASSWORD {'intact' if password == SHELL_METACHARACTERS else 'altered'}")
    assert arrived == secret_string, f"TASKDEF_SECRET arrived as {arrived!r}"
    assert password == SHELL_METACHARACTERS, f"TASKDEF_PASSWORD arrived as {password!r}"


# ECS resolves secrets when a task starts
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("Beyond the guide 3")
def test_running_task_keeps_old_value_and_new_task_gets_new(workshop, fargate_phase, container_shell,
                                                            task_definition, evidence):
    before = container_shell.env("TASKDEF_SECRET")
    rotation = rotate(workshop)
    assert rotation.error is None, rotation.error
    current = workshop.secret_string()
    still = container_shell.env("TASKDEF_SECRET")
    try:
        new_task = fargate_phase.start(task_definition)
    except TaskDidNotStart as failure:
        raise AssertionError(f"a new task did not start after the rotation: {failure}") from None
    fresh = fargate_phase.shell(new_task, task_definition).env("TASKDEF_SECRET")
    evidence.table("TASKDEF_SECRET around a rotation", ["task", "holds"],
                   [["running since before", "the old value" if still == before else "a changed value"],
                    ["started after", "the new value" if fresh == current else "not the new value"]])
    evidence.expect("the running task keeps the old value; a task started after the rotation gets the new one",
                    f"running task {'kept' if still == before else 'changed'} its value; the new task "
                    f"{'has' if fresh == current else 'does not have'} the new one")
    assert before != current, "the rotation did not change the secret"
    assert still == before, "the running task's TASKDEF_SECRET changed without a restart"
    assert fresh == current, "a task started after the rotation does not hold the new secret value"


# Safe to hand out: no secret where `ps` shows it, nothing secret baked into the image
@pytest.mark.changes_account("writes ~/oldway.cnf in the task's home (the task is stopped at the end)")
@pytest.mark.guide_step("Fargate 5")
def test_no_secret_in_the_container_process_list(workshop, container_shell, evidence):
    mysql_scripts.write_oldway_cnf(container_shell, workshop.hardcoded)
    workshop.secret_string()  # the current password is known to the registry
    watched = mysql_scripts.command_lines_while_both_run(container_shell)
    result, lines = watched.result, watched.lines
    leaking = [line for line in lines if REGISTRY.mask(line) != line]
    started = watched.of("mysql")
    evidence.table("command lines seen while mysql.newway.sh and mysql.oldway.sh ran (masked)", ["command line"],
                   [[REGISTRY.mask(line)] for line in started[:20]])
    evidence.expect("no process's command line holds a password", f"{len(leaking)} of {len(lines)} do")
    assert result.exit_status == 0 and started, f"the process list was not read: {result.stderr}"
    assert not leaking, f"{len(leaking)} command lines hold a secret value: {[REGISTRY.mask(x) for x in leaking[:3]]}"


@pytest.mark.changes_account(PUSHES_IMAGE)
@pytest.mark.guide_step("Fargate 1")
def test_no_secret_or_key_in_any_image_layer(workshop, workshop_image, container_shell, evidence):
    workshop.known_secret_values()  # every value the run has seen is registered
    ecr = workshop.aws.client("ecr")
    tag = workshop_image.rsplit(":", 1)[-1] if ":" in workshop_image.rsplit("/", 1)[-1] else "latest"
    scanned, findings = layer_findings(image_files(ecr, workshop.outputs["ECRRepositoryName"], tag),
                                       lambda text: REGISTRY.mask(text) != text)
    evidence.table("What the image's layers hold that they should not", ["finding"],
                   [[finding] for finding in findings] or [["nothing"]])
    evidence.expect("no secret value, private key or SSH host key in any layer of the pushed image",
                    f"{len(findings)} findings in {scanned} files")
    assert scanned > 3, f"only {scanned} files were read from the image"
    assert not findings, "; ".join(findings)


@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Fargate 4")
def test_each_task_has_its_own_host_keys(two_tasks_host_keys, evidence):
    (first, first_keys), (second, second_keys) = two_tasks_host_keys.items()
    shared = sorted(set(first_keys) & set(second_keys))
    evidence.table("SSH host keys published by two tasks of the same image", ["task", "keys"],
                   [[first.rsplit("/", 1)[-1], len(first_keys)], [second.rsplit("/", 1)[-1], len(second_keys)]])
    evidence.expect("two tasks share no SSH host key", f"{len(shared)} shared")
    assert first_keys and second_keys
    assert not shared, f"two tasks share SSH host keys: {[key.split()[0] for key in shared]}"
