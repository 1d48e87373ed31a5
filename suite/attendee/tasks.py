"""The workshop's Fargate phase (seed 001): a task definition revision that names the secret,
a task in the stack's subnets with BastionSG, its private IP and its SSH host keys.

The same boto3 calls run against AWS and the local AWS.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import WaiterError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from suite.attendee.bastion import HostKeysNotPublished, host_keys_in

PLACEHOLDER = "SECRETNAME"
# What describe_task_definition returns that register_task_definition takes back.
REGISTRABLE = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
               "placementConstraints", "requiresCompatibilities", "cpu", "memory", "runtimePlatform",
               "ephemeralStorage", "pidMode", "ipcMode", "proxyConfiguration")


class TaskDidNotStart(AssertionError):
    """The task stopped before RUNNING; the message is ECS's stoppedReason."""


def register_revision(ecs: Any, task_definition: str, secret_arn: str, **changes: Any) -> str:
    """The attendee's "Create new revision": SECRETNAME in valueFrom becomes the secret's ARN."""
    current = ecs.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])
    definition = {key: current["taskDefinition"][key] for key in REGISTRABLE if key in current["taskDefinition"]}
    for container in definition["containerDefinitions"]:
        for entry in container.get("secrets", []):
            entry["valueFrom"] = entry["valueFrom"].replace(
                f"arn:aws:secretsmanager:REGION:ACCOUNT:secret:{PLACEHOLDER}", secret_arn).replace(
                PLACEHOLDER, secret_arn)
    definition.update(changes)
    tags = current.get("tags") or []
    registered = ecs.register_task_definition(**definition, **({"tags": tags} if tags else {}))
    return registered["taskDefinition"]["taskDefinitionArn"]


def first_container(ecs: Any, task_definition: str) -> dict[str, Any]:
    """The workshop's container definition (its task definition has one)."""
    return ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]["containerDefinitions"][0]


def container_secrets(ecs: Any, task_definition: str) -> dict[str, str]:
    """name -> valueFrom of the container's `secrets`."""
    return {s["name"]: s["valueFrom"] for s in first_container(ecs, task_definition).get("secrets", [])}


def container_environment(ecs: Any, task_definition: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in first_container(ecs, task_definition).get("environment", [])}


@dataclass
class RunningTask:
    arn: str
    cluster: str
    address: str
    started_at: float  # epoch seconds, as the suite saw it start

    @property
    def task_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


def run_task(ecs: Any, cluster: str, task_definition: str, subnets: list[str], security_groups: list[str],
             run_id: str, tags: list[dict[str, str]]) -> str:
    """Run Task: FARGATE, the stack's subnets, TaskSG; returns the task ARN.

    A public IP, as the console's default: the subnets are public and have no NAT, and the task
    pulls its image from ECR over the internet (only Secrets Manager has a VPC endpoint).
    TaskSG admits SSH from the bastion's group only."""
    response = ecs.run_task(
        cluster=cluster, taskDefinition=task_definition, launchType="FARGATE", count=1,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": security_groups,
                                                      "assignPublicIp": "ENABLED"}},
        startedBy=f"smdemo-suite-{run_id}"[:36], tags=tags,
    )
    if response.get("failures"):
        raise TaskDidNotStart(f"RunTask failed: {response['failures']}")
    return response["tasks"][0]["taskArn"]


def describe_task(ecs: Any, cluster: str, task_arn: str) -> dict[str, Any]:
    return ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]


def wait_running(ecs: Any, cluster: str, task_arn: str, waiter: dict[str, float]) -> RunningTask:
    """Wait for RUNNING with ECS's waiter (`waiter`: its WaiterConfig); a task that stops instead says why."""
    try:
        ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[task_arn], WaiterConfig=waiter)
    except WaiterError:
        task = describe_task(ecs, cluster, task_arn)
        raise TaskDidNotStart(f"task {task_arn.rsplit('/', 1)[-1]} is {task.get('lastStatus')}: "
                              f"{task.get('stoppedReason', 'no stoppedReason')}") from None
    return RunningTask(task_arn, cluster, private_address(describe_task(ecs, cluster, task_arn)), time.time())


def private_address(task: dict[str, Any]) -> str:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return detail["value"]
    raise LookupError(f"task {task['taskArn']} has no private IPv4 address")


def wait_stopped(ecs: Any, cluster: str, task_arn: str, waiter: dict[str, float]) -> dict[str, Any]:
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[task_arn], WaiterConfig=waiter)
    return describe_task(ecs, cluster, task_arn)


def log_location(ecs: Any, task_definition: str, task_id: str) -> tuple[str, str]:
    """(log group, log stream) where awslogs puts the first container's output."""
    container = first_container(ecs, task_definition)
    options = container.get("logConfiguration", {}).get("options", {})
    prefix = options.get("awslogs-stream-prefix")
    stream = f"{prefix}/{container['name']}/{task_id}" if prefix else task_id
    return options["awslogs-group"], stream


def task_host_keys(logs: Any, log_group: str, stream: str, timeout: float, interval: float) -> list[str]:
    """The SSH host keys the container printed at start (its awslogs stream)."""

    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
           retry=retry_if_exception_type(HostKeysNotPublished), reraise=True)
    def read() -> list[str]:
        try:
            events = logs.get_log_events(logGroupName=log_group, logStreamName=stream, startFromHead=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            raise HostKeysNotPublished(f"log stream {log_group}/{stream} does not exist yet") from None
        keys = host_keys_in("\n".join(event["message"] for event in events))
        if keys is None:
            raise HostKeysNotPublished(f"{log_group}/{stream} has no SSH host keys yet")
        return keys

    return read()


def stop_task(ecs: Any, cluster: str, task_arn: str, reason: str) -> None:
    ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)
