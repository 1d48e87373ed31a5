"""Builders the ECS/ECR/EC2 fidelity modules share: an awsvpc network, an ECR repository with a small
hand-made test image, task execution roles, task definitions, tasks that are always stopped at the end,
and probes of what runs (an SSH server's host key, the machine's processes)."""
from __future__ import annotations

import gzip
import io
import json
import socket
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import paramiko

from localaws.hosts.images import BuiltImage, digest, push_image
from localaws.hosts.sandbox import DEFAULT_PATH
from tests.support.any_aws import FidelityAWS
from tests.support.aws_helpers import unique, wait_for

ECS_TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
CONTAINER = "app"
LOG_PREFIX = "fid"
SCRIPT_PATH = "/opt/t/run.sh"
IMAGE_ENV = {"FROM_IMAGE": "image-value", "OVERRIDDEN": "image-value"}
# The test container: prints the variables named in SHOW (only values the tests made), then does
# what MODE says: exit with EXIT_CODE, or start an sshd with a key of its own and print that key;
# then (unless it exited) prints the variables named in TICK every 0.2 s until stopped.
RUN_SH = r"""#!/bin/sh
for name in ${SHOW:-}; do
  eval "value=\${$name-<unset>}"
  printf 'env %s=%s\n' "$name" "$value"
done
case "${MODE:-wait}" in
  exit) exit "${EXIT_CODE:-0}" ;;
  sshd)
    install -d -m 0755 /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f /run/task_host_key
    printf 'hostkey %s\n' "$(cut -d' ' -f1,2 /run/task_host_key.pub)"
    /usr/sbin/sshd -D -e -h /run/task_host_key &
    ;;
esac
while :; do
  for name in ${TICK:-}; do
    eval "value=\${$name-<unset>}"
    printf 'tick %s=%s\n' "$name" "$value"
  done
  sleep 0.2
done
"""


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def pull_statements(repository_arn: str) -> list[dict[str, Any]]:
    """What an execution role needs to pull from one repository and write its task's logs
    (AmazonECSTaskExecutionRolePolicy, its pulls scoped to the repository)."""
    return [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "Action": ECR_PULL_ACTIONS, "Resource": repository_arn},
            LOG_STATEMENT]


LOG_STATEMENT = {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}


def secret_statement(*resources: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": list(resources)}


def execution_role(aws: FidelityAWS, *statements: dict[str, Any]) -> str:
    """A new role ECS tasks can assume, with exactly these statements inline."""
    iam = aws.client("iam")
    name = unique("exec-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="execution", PolicyDocument=policy(*statements))
    return arn


def layer(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A gzipped image layer (tar) holding these files (path -> (content, mode)) and their directories."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        directories = sorted({str(parent) for path in files for parent in PurePosixPath(path).parents} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(content), mode
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), mtime=0)


def hand_made_image() -> BuiltImage:
    """The test container's image, made by hand (a layer with RUN_SH, a config with IMAGE_ENV and CMD)."""
    blob = layer({SCRIPT_PATH.lstrip("/"): (RUN_SH.encode(), 0o755)})
    env = [f"PATH={DEFAULT_PATH}"] + [f"{name}={value}" for name, value in IMAGE_ENV.items()]
    return BuiltImage(blob, {"architecture": "amd64", "os": "linux",
                             "config": {"Env": env, "Cmd": ["/bin/sh", SCRIPT_PATH]},
                             "rootfs": {"type": "layers", "diff_ids": [digest(gzip.decompress(blob))]}})


@dataclass
class EcsWorld:
    """A VPC (DNS hostnames on), subnet, security group, cluster, log group and one ECR repository
    holding the test image as :latest."""

    aws: FidelityAWS
    cluster: str
    subnet: str
    security_group: str
    log_group: str
    repository_arn: str
    image: str
    started: list[str] = field(default_factory=list)

    @property
    def ecs(self) -> Any:
        return self.aws.client("ecs")

    def register(self, role_arn: str | None, *, image: str | None = None, environment: dict[str, str] | None = None,
                 secrets: dict[str, str] | None = None, command: list[str] | None = None,
                 task_role_arn: str | None = None, log_group: str | None = None,
                 log_options: dict[str, str] | None = None) -> str:
        """A Fargate task definition with one container logging to awslogs PREFIX/app/TASK_ID (in the
        world's log group unless told another)."""
        container: dict[str, Any] = {
            "name": CONTAINER, "image": image or self.image, "memory": 512, "essential": True,
            "environment": [{"name": k, "value": v} for k, v in (environment or {}).items()],
            "secrets": [{"name": k, "valueFrom": v} for k, v in (secrets or {}).items()],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group or self.log_group, "awslogs-region": self.aws.region,
                "awslogs-stream-prefix": LOG_PREFIX, **(log_options or {})}},
        }
        if command:
            container["command"] = command
        extra = {"executionRoleArn": role_arn} if role_arn else {}
        extra.update({"taskRoleArn": task_role_arn} if task_role_arn else {})
        return self.ecs.register_task_definition(
            family=unique("fid-task"), networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[container], **extra)["taskDefinition"]["taskDefinitionArn"]

    def run(self, task_definition: str) -> dict[str, Any]:
        """RunTask (FARGATE, awsvpc); the task as RunTask returned it. Stopped by stop_all at the end."""
        response = self.ecs.run_task(
            cluster=self.cluster, taskDefinition=task_definition, launchType="FARGATE", count=1,
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet],
                                                          "securityGroups": [self.security_group],
                                                          "assignPublicIp": "ENABLED"}})
        assert not response.get("failures"), response["failures"]
        task = response["tasks"][0]
        self.started.append(task["taskArn"])
        return task

    def describe(self, task_arn: str) -> dict[str, Any]:
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=[task_arn])["tasks"][0]

    def wait_status(self, task_arn: str, status: str, timeout: float = 20) -> dict[str, Any]:
        """The task once its lastStatus is `status` (or STOPPED, so a task that failed says why)."""
        def reached() -> dict[str, Any] | None:
            task = self.describe(task_arn)
            return task if task["lastStatus"] in (status, "STOPPED") else None
        return wait_for(reached, timeout=timeout, what=f"task {task_arn} to be {status}")

    def start(self, task_definition: str) -> dict[str, Any]:
        """Run a task and wait until it is RUNNING."""
        task = self.wait_status(self.run(task_definition)["taskArn"], "RUNNING")
        assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
        return task

    def log_lines(self, task_arn: str, log_group: str | None = None) -> list[str]:
        """The container's output so far, from its awslogs stream PREFIX/CONTAINER/TASK_ID."""
        logs = self.aws.client("logs")
        stream = f"{LOG_PREFIX}/{CONTAINER}/{task_arn.rsplit('/', 1)[-1]}"
        try:
            events = logs.get_log_events(logGroupName=log_group or self.log_group, logStreamName=stream,
                                         startFromHead=True)
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [event["message"] for event in events["events"]]

    def wait_log(self, task_arn: str, needle: str, timeout: float = 15) -> list[str]:
        """The log lines once one of them contains `needle`."""
        def logged() -> list[str] | None:
            lines = self.log_lines(task_arn)
            return lines if any(needle in line for line in lines) else None
        return wait_for(logged, timeout=timeout, what=f"{needle!r} in the log of {task_arn}")

    def stop_all(self) -> None:
        for arn in self.started:
            if self.describe(arn)["lastStatus"] != "STOPPED":
                self.ecs.stop_task(cluster=self.cluster, task=arn, reason="fidelity test clean-up")


def public_subnet(ec2: Any, vpc: str, subnet: str) -> None:
    """An internet gateway and a 0.0.0.0/0 route to it for the subnet: a task with a public IP reaches
    ECR and Secrets Manager (localaws/network/reachability.py)."""
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)


def create_world(aws: FidelityAWS) -> EcsWorld:
    ec2, ecr, ecs = aws.client("ec2"), aws.client("ecr"), aws.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    public_subnet(ec2, vpc, subnet)
    group = ec2.create_security_group(GroupName=unique("fid-task-sg"), Description="fidelity tasks",
                                      VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName=unique("fid-cluster"))["cluster"]["clusterName"]
    log_group = unique("/fidelity/ecs")
    aws.client("logs").create_log_group(logGroupName=log_group)
    repository = ecr.create_repository(repositoryName=unique("fid-image"))["repository"]
    push_image(ecr, repository["repositoryName"], hand_made_image())
    return EcsWorld(aws, cluster, subnet, group, log_group, repository["repositoryArn"],
                    f"{repository['repositoryUri']}:latest")


def detail(task: dict[str, Any], name: str) -> str:
    """A value of the task's ENI attachment (privateIPv4Address, networkInterfaceId...)."""
    return next(d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == name)


def ssh_server_key(address: str, timeout: float = 5) -> str | None:
    """The host key the SSH server on ADDRESS:22 presents ("type base64"), or None when none answers."""
    try:
        sock = socket.create_connection((address, 22), timeout=timeout)
    except OSError:
        return None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except (OSError, paramiko.SSHException):
        return None
    finally:
        transport.close()


def processes_matching(pattern: str) -> list[str]:
    """Command lines of the machine's processes that contain `pattern`."""
    found = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True)
    return found.stdout.splitlines()
