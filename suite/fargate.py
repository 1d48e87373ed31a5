"""The Fargate phase's fixtures (seed 001): the image in ECR, the task definition revision
that names the secret, a running task, and a login shell in it reached through the bastion.

Nothing here knows the mode: the image is built and pushed on the bastion by the workshop's own
scripts, typed through Session Manager (the bastion's Docker live, the local AWS's Docker engine
offline); everything else is the same boto3, Run Command and SSH calls.
"""
from __future__ import annotations

import copy
import json
import shlex
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from suite.account_changes import PUSHES_IMAGE, RUNS_TASKS, changes_account
from suite.attendee import tasks
from suite.attendee.container_shell import ContainerShell
from suite.attendee.session_manager import AttendeeShell
from suite.attendee.shell import Result
from suite.attendee.task_ssh import TaskFromTheBastion
from suite.beside import STARTS, Beside, Start
from suite.controls.policy import grants_service
from suite.redaction import REGISTRY
from suite.workshop import Workshop, read_secret_document


@dataclass
class FargatePhase:
    """Starts tasks the way the attendee does, and stops every one of them at the end."""

    workshop: Workshop
    started: list[tasks.RunningTask] = field(default_factory=list)
    shells: list[ContainerShell] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)  # the stack deregisters only its own revision
    host_keys: dict[str, list[str]] = field(default_factory=dict)  # task ARN -> the keys its log published

    @property
    def ecs(self) -> Any:
        return self.workshop.aws.client("ecs")

    @property
    def cluster(self) -> str:
        return self.workshop.outputs["ClusterName"]

    @property
    def _waiter(self) -> dict[str, float]:
        return self.workshop.aws.timing.waiter(self.workshop.aws.timing.task_timeout)

    def register_revision(self, **changes: Any) -> str:
        arn = tasks.register_revision(self.ecs, self.workshop.outputs["TaskDefinitionArn"],
                                      self.workshop.secret_arn, **changes)
        self.revisions.append(arn)
        return arn

    def run(self, task_definition: str) -> str:
        """Run Task (FARGATE, the stack's subnets, TaskSG); the task ARN, not yet RUNNING."""
        outputs = self.workshop.outputs
        arn = tasks.run_task(self.ecs, self.cluster, task_definition, outputs["SubnetIds"].split(","),
                             [outputs["TaskSGId"]], self.workshop.aws.run_id, self.workshop.aws.ecs_tags)
        self.started.append(tasks.RunningTask(arn, self.cluster, "", time.time()))
        return arn

    def start(self, task_definition: str) -> tasks.RunningTask:
        arn = self.run(task_definition)
        task = tasks.wait_running(self.ecs, self.cluster, arn, self._waiter)
        self.started[-1] = task
        return task

    def wait_stopped(self, task_arn: str) -> dict[str, Any]:
        return tasks.wait_stopped(self.ecs, self.cluster, task_arn, self._waiter)

    def published_host_keys(self, task: tasks.RunningTask, task_definition: str) -> list[str]:
        """The SSH host keys the task printed in its log."""
        if task.arn not in self.host_keys:
            group, stream = tasks.log_location(self.ecs, task_definition, task.task_id)
            self.host_keys[task.arn] = tasks.task_host_keys(
                self.workshop.aws.client("logs"), group, stream, self.workshop.aws.timing.host_keys_timeout,
                self.workshop.poll_interval)
        return self.host_keys[task.arn]

    def shell(self, task: tasks.RunningTask, task_definition: str) -> ContainerShell:
        """ssh ec2-user@<task private IP> from the bastion, host key checked against the task's log."""
        host_keys = self.published_host_keys(task, task_definition)
        password = read_secret_document(self.workshop.secrets_manager(),
                                        self.workshop.outputs["ContainerUserSecretArn"])["password"]
        shell = ContainerShell(self.workshop.route(), task.address, host_keys, password).connect()
        self.shells.append(shell)
        return shell

    def scratch_secret(self, name: str, secret_string: str) -> str:
        """A throwaway secret (deleted at the end without recovery); its value is masked."""
        REGISTRY.register_secret_string(secret_string)
        arn = self.workshop.secrets_manager().create_secret(
            Name=name, SecretString=secret_string, Tags=self.workshop.aws.tags)["ARN"]
        self.secrets.append(arn)
        return arn

    def execution_role_like_the_stack(self, name: str, keep_secret_access: bool,
                                      extra_secret: str | None = None) -> str:
        """A new execution role with the stack's execution policy, with or without its secret access."""
        iam = self.workshop.aws.client("iam")
        stack_role = self.workshop.outputs["TaskExecutionRoleArn"].rsplit("/", 1)[-1]
        policies = {}
        for policy_name in iam.list_role_policies(RoleName=stack_role)["PolicyNames"]:
            document = copy.deepcopy(iam.get_role_policy(RoleName=stack_role, PolicyName=policy_name)["PolicyDocument"])
            statements = []
            for statement in document["Statement"]:
                if grants_service(statement):
                    if not keep_secret_access:
                        continue
                    if extra_secret:
                        resources = statement["Resource"]
                        statement["Resource"] = (resources if isinstance(resources, list) else [resources]) + [
                            extra_secret]
                statements.append(statement)
            policies[policy_name] = dict(document, Statement=statements)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                              Tags=self.workshop.aws.tags)["Role"]["Arn"]
        self.roles.append(name)
        for policy_name, document in policies.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        # IAM is eventually consistent: ECS may not see a brand-new role at once, and gives no way
        # to ask whether it does.
        time.sleep(self.workshop.aws.timing.new_role_settle)
        return arn

    def close(self) -> None:
        for shell in self.shells:
            shell.close()
        for task in self.started:
            try:
                tasks.stop_task(self.ecs, self.cluster, task.arn, "smdemo suite: end of the run")
            except Exception:  # noqa: BLE001 - a task that already stopped
                pass
        for arn in self.secrets:
            self.workshop.secrets_manager().delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        for arn in self.revisions:
            self.ecs.deregister_task_definition(taskDefinition=arn)
        iam = self.workshop.aws.client("iam")
        for name in self.roles:
            for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
            iam.delete_role(RoleName=name)


@pytest.fixture(scope="session")
@changes_account(RUNS_TASKS)
def fargate_phase(workshop: Workshop) -> Iterator[FargatePhase]:
    phase = FargatePhase(workshop)
    try:
        yield phase
    finally:
        if not workshop.aws.gone():  # tasks, roles and secrets went with a local AWS that died
            phase.close()


@dataclass
class ImageFromTheBastion:
    """What the attendee typed on the bastion to build and push the image, and the image's URI."""

    uri: str
    transcript: list[Result]


def build_and_push_on_the_bastion(workshop: Workshop, attendee_shell: AttendeeShell) -> ImageFromTheBastion:
    """On the bastion, as the guide has it: ./dockerbuild.sh, docker images, ./dockertagandpush.sh
    <repository URI>; the image in the stack's ECR repository."""
    repository = workshop.outputs["ECRRepositoryUri"]
    transcript = []
    for command, timeout in (("./dockerbuild.sh", 1800), ("docker images", 120),
                             (shlex.join(["./dockertagandpush.sh", repository]), 900)):
        done = attendee_shell.run(command, timeout=timeout)
        transcript.append(done)
        if done.exit_status != 0:
            pytest.fail(f"on the bastion, {command} failed (exit {done.exit_status}):\n"
                        f"{(done.stdout + done.stderr).strip()[-1500:]}", pytrace=False)
    return ImageFromTheBastion(f"{repository}:latest", transcript)


@pytest.fixture(scope="session")
@changes_account(PUSHES_IMAGE)
def image_build(workshop: Workshop, attendee_shell: AttendeeShell) -> Iterator[Beside]:
    """The image's build and push: nothing the RDS phase does reads or changes the image, its scripts or the
    repository, so it runs beside that phase (suite/beside.py)."""
    build = Beside("image-build", {"image": lambda: build_and_push_on_the_bastion(workshop, attendee_shell)})
    try:
        yield build
    finally:
        build.stop(timeout=60)


STARTS.append(Start("image_build", ("RDS",), "Fargate", lambda request: True))


@pytest.fixture(scope="session")
@changes_account(PUSHES_IMAGE)
def image_from_the_bastion(image_build: Beside) -> ImageFromTheBastion:
    """The image built and pushed on the bastion (awaited if it was built beside the RDS phase)."""
    return image_build.result("image")


@pytest.fixture(scope="session")
def workshop_image(image_from_the_bastion: ImageFromTheBastion) -> str:
    """The workshop's image URI in ECR, built and pushed on the bastion."""
    return image_from_the_bastion.uri


@pytest.fixture(scope="session")
def task_definition(fargate_phase: FargatePhase, workshop_image: str) -> str:
    """The attendee's new revision: SECRETNAME replaced by the secret's ARN."""
    return fargate_phase.register_revision()


@pytest.fixture(scope="session")
def running_task(fargate_phase: FargatePhase, task_definition: str) -> tasks.RunningTask:
    """Run Task, awaited until RUNNING (a task that stops instead fails with ECS's reason)."""
    try:
        return fargate_phase.start(task_definition)
    except tasks.TaskDidNotStart as failure:
        pytest.fail(f"the workshop's task did not start: {failure}", pytrace=False)


@pytest.fixture(scope="session")
def two_tasks_host_keys(fargate_phase: FargatePhase, task_definition: str, container_shell: ContainerShell
                        ) -> dict[str, list[str]]:
    """The SSH host keys two tasks of the same image published (a second one started when needed)."""
    if len(fargate_phase.host_keys) < 2:
        fargate_phase.shell(fargate_phase.start(task_definition), task_definition)
    return dict(list(fargate_phase.host_keys.items())[:2])


@pytest.fixture(scope="session")
def task_from_the_bastion(workshop: Workshop, fargate_phase: FargatePhase, attendee_shell: AttendeeShell,
                          running_task: tasks.RunningTask, task_definition: str) -> Iterator[TaskFromTheBastion]:
    """The attendee's `ssh ec2-user@<task private IP>` on the bastion (Session Manager), with the
    container user's password, the task's host key pinned from its log; its shared login ended at the end."""
    task = TaskFromTheBastion(attendee_shell, running_task.address,
                              fargate_phase.published_host_keys(running_task, task_definition),
                              workshop.outputs["ContainerUserSecretArn"])
    try:
        yield task
    finally:
        if not workshop.aws.gone():
            task.close()


@pytest.fixture(scope="session")
def container_shell(fargate_phase: FargatePhase, running_task: tasks.RunningTask,
                    task_definition: str) -> ContainerShell:
    """`ssh <task private IP>` from the bastion, as ec2-user."""
    return fargate_phase.shell(running_task, task_definition)
