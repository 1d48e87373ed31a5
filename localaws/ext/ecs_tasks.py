"""ECS RunTask really starts the task, as the Fargate agent does.

AWS (task lifecycle, "Pass sensitive data to a container"): a task goes PROVISIONING →
PENDING → RUNNING → STOPPED. ECS assumes the task execution role and the task role as
ecs-tasks.amazonaws.com ("Amazon ECS task execution IAM role", "Amazon ECS task IAM role": the trust
policy must admit that principal; aws:SourceAccount and aws:SourceArn are the conditions it sends,
localaws/service_roles.py); a role it cannot assume stops the task before anything starts: "ECS was
unable to assume the role '<arn>' that was provided for this task. Please verify that the role being
passed has the proper trust relationship and permissions and that your IAM user has permissions to
pass this role." Before any container starts, the agent uses the task
execution role to pull the image from ECR and to resolve each `secrets` entry: `valueFrom`
is a secret ARN, optionally suffixed `:json-key:version-stage:version-id`. If that fails
(AccessDenied, missing secret, missing key) nothing starts and the task stops with a
`stoppedReason` beginning `ResourceInitializationError: unable to pull secrets or registry
auth`. Then, as the execution role ("Send Amazon ECS logs to CloudWatch", "Using the awslogs log
driver"), the awslogs driver creates the container's log stream `PREFIX/CONTAINER/TASK_ID` in the
group the definition names, which must exist (the driver creates the group only with
`awslogs-create-group: true`, and then as the role, which needs logs:CreateLogGroup): a missing group
or a role without logs:CreateLogStream stops the task ("ResourceInitializationError: failed to
validate logger args: ... failed to create Cloudwatch log stream: ResourceNotFoundException: The
specified log group does not exist. ..."). The container's output is sent with PutLogEvents as the
role too: what the role may not write is lost, and the task runs on.
Otherwise the container runs its image's command with the image's environment, the
task definition's `environment` and the resolved secrets as environment variables, and the task's private
IP (in `attachments` and the container's `networkInterfaces`) is where it is reached.
The agent reaches Secrets Manager and ECR from the task's ENI: with no path to them (no
internet gateway route with a public IP, no NAT, no interface endpoint admitting it:
localaws/network/reachability.py) the task stops with the agent's i/o timeout (`ResourceInitialization
Error ... There is a connection issue between the task and AWS Secrets Manager`, or
`CannotPullContainerError`). Secrets are resolved only at start: a running task keeps the values it got. When the
essential container exits the task stops ("Essential container in task exited"); StopTask
stops it ("UserInitiated"); a stopped task's network interface is deleted.
moto 5.2.5 only records the task, RUNNING at once, with a random IP and nothing running.
Nothing is created on a role's behalf that AWS would not create: no log group.

The agent's half is localaws/hosts/task_agent.py: the container runs in a bubblewrap sandbox
(localaws.hosts.sandbox) built from the image's
pulled layer, and its IP is a loopback address of its own. The one setting the runtime adds
to the image: sshd is pinned to that address (on Fargate, the ENI is the only interface). The
sandbox has a network namespace of its own, wired to what the task's subnet, public IP and
security groups allow (localaws/network/host_wiring.py): SSH to it from a bastion whose group the
task's group does not admit times out, as it does in AWS.
"""
from __future__ import annotations

from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend, Task

from localaws.hosts.task_agent import TaskRuntime, running, stop_all  # noqa: F401 - stop_all: the ext's stop hook

_original_run_task = EC2ContainerServiceBackend.run_task
_original_stop_task = EC2ContainerServiceBackend.stop_task


def run_task(self: EC2ContainerServiceBackend, cluster_str: str, task_definition_str: str, *args: Any,
             **kwargs: Any) -> list[Task]:
    tasks = _original_run_task(self, cluster_str, task_definition_str, *args, **kwargs)
    definition = self.describe_task_definition(task_definition_str)
    for task in tasks:
        TaskRuntime(task, definition, self).place()
    return tasks


def stop_task(self: EC2ContainerServiceBackend, cluster_str: str, task_str: str, reason: str) -> Task:
    task = _original_stop_task(self, cluster_str, task_str, reason)
    runtime = running(task.id)
    if runtime is not None:
        runtime.stop(reason)
    return task


def _last_status(self: Task) -> str:
    return self.__dict__.get("_local_status") or self.status


def _set_last_status(self: Task, value: str) -> None:
    self.status = value


def install() -> None:
    EC2ContainerServiceBackend.run_task = run_task
    EC2ContainerServiceBackend.stop_task = stop_task
    Task.last_status = property(_last_status, _set_last_status)
