"""The ECS agent's half of a Fargate task in the local AWS: what happens on the task's host once ECS has
placed it: the execution role assumed, secrets resolved and the image pulled from the task's network
interface, the container started in a bubblewrap sandbox wired to its subnet, its output sent to
CloudWatch Logs by the awslogs driver, and its stop. The AWS behaviour it reproduces is stated in
localaws/ext/ecs_tasks.py, which hooks it into moto's RunTask and StopTask.
"""
from __future__ import annotations

import datetime
import json
import threading
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.ec2.models import ec2_backends
from moto.ecs.models import EC2ContainerServiceBackend, Task

from localaws.state import state_dir
from localaws.network import addresses
from localaws.network import host_wiring as host_network
from localaws.network import reachability as network_paths
from localaws.ext.ecr_blobs import BlobNotFound, read_blob
from localaws.access_keys import AccessKey, assume_service_role
from localaws.service_roles import ECS_TASKS, RoleNotAssumable, service_may_assume
from localaws.hosts import awslogs_driver
from localaws.hosts.awslogs_driver import TaskStartFailure, error_text
from localaws.hosts.sandbox import DEFAULT_PATH, Sandbox, SandboxError


def task_root() -> Path:
    return state_dir() / "ecs-tasks"


_RUNNING: dict[str, "TaskRuntime"] = {}
_LOCK = threading.Lock()
LOG_FORWARD_INTERVAL = 0.05  # seconds between two looks at the container's output for the awslogs driver


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def unable_to_assume(role_arn: str) -> str:
    return (f"ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the "
            "role being passed has the proper trust relationship and permissions and that your IAM user has "
            "permissions to pass this role.")


def parse_value_from(value_from: str) -> tuple[str, str | None, dict[str, str]]:
    """(secret ARN, json key, version selector) from a `secrets` entry's valueFrom."""
    parts = value_from.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        return value_from, None, {}
    arn = ":".join(parts[:7])
    json_key, stage, version = (parts[7:10] + ["", "", ""])[:3]
    selector = {"VersionStage": stage} if stage else {}
    if version:
        selector = {"VersionId": version}
    return arn, json_key or None, selector


class TaskRuntime:
    """One task's life: resolve, pull, run, watch, stop."""

    def __init__(self, task: Task, task_definition: Any, backend: EC2ContainerServiceBackend):
        self.task = task
        self.definition = task_definition
        self.backend = backend
        self.region = backend.region_name
        self.account_id = backend.account_id
        self.container = task_definition.container_definitions[0]
        self.address = addresses.allocate()
        self.interface = self._interface()
        self.sandbox = Sandbox(task_root() / task.id, hostname=f"ip-{self.address.replace('.', '-')}",
                               own_network=self.interface is not None)
        self.stopping = False
        self._start_lock = threading.Lock()  # StopTask while PENDING must win over the start

    # -- state as describe_tasks shows it
    def _set(self, status: str, **fields: Any) -> None:
        self.task.__dict__["_local_status"] = status
        for name, value in fields.items():
            setattr(self.task, name, value)
        for container in self.task.containers:
            container.last_status = status if status in ("RUNNING", "STOPPED") else "PENDING"

    def _stopped(self, stop_code: str, reason: str, exit_code: int | None = None) -> None:
        for container in self.task.containers:
            if exit_code is not None:
                container.exit_code = exit_code
                container.exitCode = exit_code
            if stop_code == "TaskFailedToStart":
                container.reason = reason
        self.task.desired_status = "STOPPED"
        host_network.detach(f"task {self.task.id}")
        self._release_network_interfaces()
        self._set("STOPPED", stop_code=stop_code, stopped_reason=reason, stopped_at=_now(),
                  execution_stopped_at=_now(), stopping_at=_now())
        with _LOCK:
            _RUNNING.pop(self.task.id, None)

    def _release_network_interfaces(self) -> None:
        """A stopped task's ENI is deleted (so its subnet and VPC can be deleted afterwards)."""
        ec2 = ec2_backends[self.account_id][self.region]
        for attachment in self.task.attachments:
            for detail in attachment.get("details", []):
                if detail["name"] == "networkInterfaceId" and detail["value"] in ec2.enis:
                    ec2.delete_network_interface(detail["value"])
            attachment["status"] = "DELETED"

    def place(self) -> None:
        """The task's ENI: its private IP is the task's own loopback address."""
        for attachment in self.task.attachments:
            for detail in attachment.get("details", []):
                if detail["name"] == "privateIPv4Address":
                    detail["value"] = self.address
        for container in self.task.containers:
            container.exitCode = None  # no exit code until the container has run and exited
            container.network_interfaces = [{"attachmentId": a["id"], "privateIpv4Address": self.address}
                                            for a in self.task.attachments]
        self._set("PROVISIONING", created_at=_now())
        with _LOCK:
            _RUNNING[self.task.id] = self
        threading.Thread(target=self._launch, name=f"ecs-task-{self.task.id}", daemon=True).start()

    def _interface(self) -> network_paths.Interface | None:
        """The task's ENI in the network model (None without awsvpc subnets: not modelled)."""
        config = (getattr(self.task, "network_configuration", None) or {}).get("awsvpcConfiguration") or {}
        if not config.get("subnets"):
            return None
        ec2 = ec2_backends[self.account_id][self.region]
        return network_paths.Interface(config["subnets"][0], tuple(config.get("securityGroups") or []),
                                       config.get("assignPublicIp") == "ENABLED",
                                       ec2.get_subnet(config["subnets"][0]).cidr_block)

    def _ports(self) -> tuple[int, ...]:
        """Where the container's servers listen: its sshd and the ports its definition maps."""
        mapped = {int(m["containerPort"]) for m in self.container.get("portMappings") or [] if m.get("containerPort")}
        return tuple(sorted({22} | mapped))

    def _network_problem(self, service: str) -> str | None:
        """Why the task's ENI cannot reach `service` (localaws/network/reachability.py), or None."""
        if self.interface is None:
            return None
        return network_paths.host_reaches_service(ec2_backends[self.account_id][self.region], self.interface, service)

    def _check_network(self) -> None:
        """AWS's agent reaches Secrets Manager (when the task has secrets), then ECR: a task without a
        path to them stops with the agent's timeout, as Fargate reports it."""
        if self.container.get("secrets") and (why := self._network_problem("secretsmanager")):
            raise TaskStartFailure("TaskFailedToStart", (
                "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret "
                "from asm: There is a connection issue between the task and AWS Secrets Manager. Check your task "
                f"network configuration. failed to fetch secret: dial tcp 443: i/o timeout ({why})"))
        if why := self._network_problem("ecr.api"):
            raise TaskStartFailure("TaskFailedToStart", (
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
                f"{self.container.get('image')}: dial tcp 443: i/o timeout ({why})"))

    def _launch(self) -> None:
        try:
            self._set("PENDING")
            session = self._execution_role()  # ECS assumes the task's roles before its agent does anything
            self._check_task_role()
            self._check_network()
            secrets = self._resolve_secrets(session)
            layers, config = self._pull(session)
            self._start(layers, config, secrets, session)
        except TaskStartFailure as failure:
            if not self.stopping:
                self._stopped(failure.stop_code, failure.reason)
        except Exception as error:  # noqa: BLE001 - a task that cannot start must say why
            if not self.stopping:
                self._stopped("TaskFailedToStart", f"ResourceInitializationError: {error}")
        if self.stopping and not self.sandbox.running:
            self.sandbox.remove()

    def _role_facts(self) -> dict[str, str]:
        """What ECS tells STS when it assumes a role for the task (conditions of the trust policy)."""
        return {"aws:SourceAccount": self.account_id, "aws:SourceArn": self.task.task_arn}

    def _execution_role(self) -> AccessKey | None:
        role_arn = self.definition.execution_role_arn
        if not role_arn:
            if self.container.get("secrets"):
                raise TaskStartFailure("TaskFailedToStart", "ResourceInitializationError: the task definition has "
                                       "secrets but no executionRoleArn to retrieve them with")
            return None
        try:
            return assume_service_role(self.account_id, self.region, role_arn, self.task.id, ECS_TASKS,
                                       self._role_facts())
        except RoleNotAssumable:
            raise TaskStartFailure("TaskFailedToStart", unable_to_assume(role_arn)) from None

    def _check_task_role(self) -> None:
        """The task role is assumed as the task starts (its containers' credentials come from it)."""
        role_arn = getattr(self.definition, "task_role_arn", None)
        if role_arn and not service_may_assume(self.account_id, self.region, role_arn, ECS_TASKS, self._role_facts()):
            raise TaskStartFailure("TaskFailedToStart", unable_to_assume(role_arn))

    def _resolve_secrets(self, session: Any) -> dict[str, str]:
        resolved: dict[str, str] = {}
        if not self.container.get("secrets"):
            return resolved
        secrets_manager = session.client("secretsmanager", self.region)
        for entry in self.container["secrets"]:
            arn, json_key, selector = parse_value_from(entry["valueFrom"])
            prefix = ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                      "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
                      f"failed to fetch secret {arn} from secrets manager: ")
            try:
                value = secrets_manager.get_secret_value(SecretId=arn, **selector)["SecretString"]
            except (ClientError, BotoCoreError, KeyError) as error:
                raise TaskStartFailure("TaskFailedToStart", prefix + error_text(error)) from None
            if json_key:
                try:
                    value = json.loads(value)[json_key]
                except (ValueError, KeyError, TypeError):
                    raise TaskStartFailure("TaskFailedToStart", "ResourceInitializationError: unable to pull secrets "
                                           f"or registry auth: retrieved secret from Secrets Manager did not contain "
                                           f"json key {json_key}") from None
                value = value if isinstance(value, str) else json.dumps(value)
            resolved[entry["name"]] = value
        return resolved

    def _pull(self, session: Any) -> tuple[list[Path], dict[str, Any]]:
        image = self.container["image"]
        repository_part, _, reference = image.partition("/")[2].partition("@")
        repository, _, tag = repository_part.partition(":")
        image_id = {"imageDigest": reference} if reference else {"imageTag": tag or "latest"}
        ecr = session.client("ecr", self.region) if session else None
        prefix = f"CannotPullContainerError: pull image manifest has been retried 1 time(s): {image}: "
        try:
            if ecr is None:
                raise TaskStartFailure("TaskFailedToStart", prefix + "no execution role to authenticate to ECR")
            found = ecr.batch_get_image(repositoryName=repository, imageIds=[image_id])
        except (ClientError, BotoCoreError) as error:
            raise TaskStartFailure("TaskFailedToStart", prefix + error_text(error)) from None
        if not found.get("images"):
            raise TaskStartFailure("TaskFailedToStart", prefix + "not found")
        manifest = json.loads(found["images"][0]["imageManifest"])
        try:
            config = json.loads(read_blob(manifest["config"]["digest"]))
            layer_dir = task_root() / f"{self.task.id}.layers"
            layer_dir.mkdir(parents=True, exist_ok=True)
            layers = []
            for index, layer in enumerate(manifest.get("layers", [])):
                path = layer_dir / f"{index}.tar.gz"
                path.write_bytes(read_blob(layer["digest"]))
                layers.append(path)
        except (BlobNotFound, KeyError, ValueError) as error:
            raise TaskStartFailure("TaskFailedToStart", prefix + str(error)) from None
        return layers, config.get("config", {})

    def _environment(self, image_config: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
        env = dict(item.split("=", 1) for item in image_config.get("Env") or [])
        env.setdefault("PATH", DEFAULT_PATH)
        env.update({"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                    "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE", "HOSTNAME": self.sandbox.hostname})
        env.update({item["name"]: item["value"] for item in self.container.get("environment") or []})
        for override in (self.task.overrides or {}).get("containerOverrides", []):
            if override.get("name") == self.container.get("name"):
                env.update({item["name"]: item["value"] for item in override.get("environment") or []})
        env.update(secrets)
        return env

    def _start(self, layers: list[Path], image_config: dict[str, Any], secrets: dict[str, str],
               session: AccessKey | None) -> None:
        try:
            log_target = awslogs_driver.open_stream(self.container, self.task.id, self.region, session)
            self.sandbox.prepare(layers)
        except SandboxError as error:
            raise TaskStartFailure("TaskFailedToStart", f"ResourceInitializationError: {error}") from None
        finally:
            for layer in layers:
                layer.unlink(missing_ok=True)
        ssh_config = self.sandbox.root / "etc/ssh/sshd_config.d"
        if ssh_config.parent.is_dir():
            ssh_config.mkdir(exist_ok=True)
            (ssh_config / "00-task-network.conf").write_text(f"ListenAddress {self.address}\n")
        argv = (self.container.get("entryPoint") or image_config.get("Entrypoint") or []) + (
            self.container.get("command") or image_config.get("Cmd") or [])
        if not argv:
            raise TaskStartFailure("TaskFailedToStart", "CannotStartContainerError: no command in the image or task")
        log_path = task_root() / f"{self.task.id}.log"
        with self._start_lock:
            if self.stopping:  # StopTask arrived while the task was PENDING: it never starts
                self.sandbox.remove()
                return
            with open(log_path, "wb") as log:
                self.sandbox.start(argv, self._environment(image_config, secrets), log,
                                   cwd=image_config.get("WorkingDir") or "/")
            if self.interface is not None:
                assert self.sandbox.namespace_pid is not None  # started with a network of its own
                try:
                    host_network.attach(f"task {self.task.id}", self.account_id, self.region, self.interface,
                                        self.address, self._ports(), self.sandbox.namespace_pid,
                                        self.sandbox.root / "etc")
                except Exception:
                    # A container whose command ended at once (`exit 3`) takes its network namespace with it
                    # before it is wired: it did start, and its exit is reported as AWS does (_watch), not as a
                    # failure to start.
                    if self.sandbox.process is None or self.sandbox.process.poll() is None:
                        self.sandbox.remove()
                        raise
            self._set("RUNNING", started_at=_now(), pull_started_at=_now(), pull_stopped_at=_now())
        threading.Thread(target=self._watch, args=(log_path, log_target), name=f"ecs-watch-{self.task.id}",
                         daemon=True).start()

    # -- while it runs
    def _watch(self, log_path: Path, target: awslogs_driver.Target | None) -> None:
        offset = 0
        while True:
            exited = self.sandbox.process is None or self.sandbox.process.poll() is not None
            offset = awslogs_driver.forward(log_path, offset, target, final=exited)
            if exited:
                break
            time.sleep(LOG_FORWARD_INTERVAL)
        if self.stopping:
            return
        code = _exit_code(self.sandbox.process.returncode if self.sandbox.process else None)
        self._stopped("EssentialContainerExited", "Essential container in task exited", code)
        self.sandbox.remove()

    def stop(self, reason: str) -> None:
        with self._start_lock:
            self.stopping = True
        self._set("DEACTIVATING", stopping_at=_now())
        host_network.detach(f"task {self.task.id}")
        code = _exit_code(self.sandbox.stop())
        self._stopped("UserInitiated", reason or "Task stopped by user", code)
        self.sandbox.remove()


def _exit_code(returncode: int | None) -> int | None:
    """As Docker reports it: a process killed by signal N exited with 128 + N (SIGTERM: 143)."""
    if returncode is None:
        return None
    return 128 - returncode if returncode < 0 else returncode


def running(task_id: str) -> "TaskRuntime | None":
    with _LOCK:
        return _RUNNING.get(task_id)


def stop_all() -> None:
    with _LOCK:
        runtimes = list(_RUNNING.values())
    for runtime in runtimes:
        runtime.stop("the local AWS is shutting down")
