"""Systems Manager Run Command really runs the command on the instance.

AWS (Systems Manager user guide, "Run Command", "Understanding command statuses"; API reference,
SendCommand and GetCommandInvocation): SendCommand reaches only managed nodes: an instance whose
SSM Agent is registered, which takes an instance profile whose role allows the agent's calls
(ssm:UpdateInstanceInformation, ssmmessages:*, ec2messages:*, as AmazonSSMManagedInstanceCore) and
which EC2 can assume (its trust policy admits ec2.amazonaws.com: the agent's keys come from it)
and a network path to the ssm, ssmmessages and ec2messages endpoints (a public IP and an internet
gateway, a NAT gateway, or interface endpoints); any other instance is refused with
InvalidInstanceId ("Instances [[ID]] not in a valid state for account ACCOUNT"). AWS-RunShellScript
runs its `commands` as a shell script, as root, in `workingDirectory` (default "/"), for at most
`executionTimeout` seconds (default 3600). Each invocation is Pending, then InProgress (ResponseCode
-1, no output yet), then Success (exit code 0) or Failed (any other; ResponseCode is the exit code),
or TimedOut (StatusDetails ExecutionTimedOut) when the time is up; StandardOutputContent holds the
first 24,000 characters written to stdout, StandardErrorContent the first 8,000 written to stderr.
moto 5.2.5 runs nothing: every command succeeds at once with empty output, on any instance id,
and a command sent to InstanceIds without Targets gets an invocation on every instance of the
account (it reads the empty Targets as "no filter"). Targets (tag selection) is left to moto.

Here the script runs in the instance's sandbox (localaws/ext/ec2_hosts.py): `nsenter` enters its
namespaces (mount, network, hostname, IPC, processes) and root.

AWS answers GetCommandInvocation at once, and a client polls it until the invocation has ended. Here an
answer about an invocation still Pending or InProgress waits up to HOLD seconds for it to end (a long
poll): what it says is the invocation's state when it is sent, so a client sees the same statuses in
the same order, only sooner than its next poll would have (that wait was about half a poll interval
for every command the suite types).
"""
from __future__ import annotations

import copy
import datetime
import logging
import shlex
import subprocess
import threading
import time
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ec2.models import ec2_backends
from moto.iam.access_control import PermissionResult
from moto.ssm.models import Command, SimpleSystemManagerBackend

from localaws.network import reachability
from localaws.ext import ec2_hosts
from localaws.ext.iam_enforcement import identity_decision
from localaws.hosts.sandbox import run_inside
from localaws.service_roles import EC2, service_may_assume

log = logging.getLogger("localaws.ssm")
RUN_SHELL_SCRIPT = "AWS-RunShellScript"
STDOUT_LIMIT, STDERR_LIMIT = 24_000, 8_000
AGENT_ACTIONS = ("ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ec2messages:GetMessages")
AGENT_SERVICES = ("ssm", "ssmmessages", "ec2messages")


class InvalidInstanceId(ServiceException):
    def __init__(self, message: str):
        super().__init__("InvalidInstanceId", message)


def why_unmanaged(instance: Any) -> str | None:
    """Why the instance is no managed node (its agent cannot register), or None."""
    host = ec2_hosts.host_of(instance.id)
    if host is None or not host.sandbox.running:
        return "it is not running an agent (no running host)"
    ec2 = instance.ec2_backend
    profile = ec2_hosts.instance_profile(instance)
    if profile is None:
        return "it has no instance profile"
    # The agent acts with the role's keys from the instance's metadata service: EC2 must be able to assume it.
    if not any(service_may_assume(ec2.account_id, ec2.region_name, role.arn, EC2, {"aws:SourceAccount": ec2.account_id})
               for role in profile.roles):
        return "EC2 cannot assume its instance profile's role (its trust policy does not admit ec2.amazonaws.com)"
    policies = [policy for role in profile.roles
                for policy in [*role.policies.values(), *role.managed_policies.values()]]
    for action in AGENT_ACTIONS:
        if identity_decision(policies, action, "*") != PermissionResult.PERMITTED:
            return f"its instance profile's role does not allow {action}"
    if host.interface is None:
        return None
    for service in AGENT_SERVICES:
        why = reachability.host_reaches_service(ec2, host.interface, service)
        if why:
            return f"its agent cannot reach {service}: {why}"
    return None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


RUNNING = ("Pending", "InProgress")
HOLD = 0.25  # seconds an answer about a running invocation may wait for it to end

# moto's serializer reads an answer's members one at a time and may yield the GIL between two of them:
# an invocation changed in place could be read half before, half after (Status "Success" with the
# ResponseCode -1 of InProgress). Each change therefore puts a new dict in place of the old one.
_CHANGES = threading.Condition()  # held while an invocation changes; notified after each change


def _change(command: Command, instance_id: str, **fields: Any) -> None:
    """The instance's invocation with `fields` changed, as one new dict; the command's status once none runs."""
    with _CHANGES:
        command.invocations = [dict(item, **fields) if item["InstanceId"] == instance_id else item
                               for item in command.invocations]
        states = {item["Status"] for item in command.invocations}
        if not states & set(RUNNING):
            command.status = "Success" if states == {"Success"} else "TimedOut" if "TimedOut" in states else "Failed"
            command.status_details = command.status
            command.completed_count = len(command.invocations)
        _CHANGES.notify_all()


def _run(command: Command, instance_id: str, pid: int) -> None:
    parameters = command.parameters or {}
    script = "\n".join(parameters.get("commands") or [])
    directory = (parameters.get("workingDirectory") or ["/"])[0] or "/"
    timeout = float((parameters.get("executionTimeout") or ["3600"])[0])
    started = _now()
    # The command itself stays Pending until its invocations end (SendCommand answers Pending).
    _change(command, instance_id, Status="InProgress", StatusDetails="InProgress", ExecutionStartDateTime=_iso(started))
    try:
        done = run_inside(pid, "/bin/sh", f"cd -- {shlex.quote(directory)} || exit 1\n{script}", timeout)
        code, out, err = done.returncode, done.stdout, done.stderr
        status = details = "Success" if code == 0 else "Failed"
    except subprocess.TimeoutExpired as expired:
        code, out, err = -1, expired.stdout or b"", expired.stderr or b""
        status, details = "TimedOut", "ExecutionTimedOut"
    ended = _now()
    _change(command, instance_id, Status=status, StatusDetails=details, ResponseCode=code,
            StandardOutputContent=out.decode(errors="replace")[:STDOUT_LIMIT],
            StandardErrorContent=err.decode(errors="replace")[:STDERR_LIMIT],
            ExecutionEndDateTime=_iso(ended), ExecutionElapsedTime=f"PT{(ended - started).total_seconds():.3f}S")


_original_send = SimpleSystemManagerBackend.send_command


def send_command(self: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Command:
    document = kwargs.get("document_name")
    instance_ids = list(kwargs.get("instance_ids") or [])
    if document != RUN_SHELL_SCRIPT or kwargs.get("targets"):
        return _original_send(self, *args, **kwargs)
    ec2 = ec2_backends[self.account_id][self.region_name]
    unmanaged = []
    for instance_id in instance_ids:
        try:
            why = why_unmanaged(ec2.get_instance(instance_id))
        except Exception:  # noqa: BLE001 - no such instance: AWS names it the same way
            why = "no such instance"
        if why:
            unmanaged.append(instance_id)
            log.warning("SendCommand: instance %s is no managed node: %s", instance_id, why)
    if unmanaged:
        raise InvalidInstanceId(f"Instances [[{', '.join(unmanaged)}]] not in a valid state for account "
                                f"{self.account_id}")
    command = _original_send(self, *args, **kwargs)
    command.instance_ids = instance_ids  # these, not every instance of the account
    command.invocations = [item for item in command.invocations if item["InstanceId"] in instance_ids]
    command.status = command.status_details = "Pending"
    command.completed_count, command.target_count = 0, len(instance_ids)
    # SendCommand answers Pending: a quick command's thread may end before the answer is written.
    answer = copy.copy(command)
    for invocation in command.invocations:
        invocation.update(Status="Pending", StatusDetails="Pending", ResponseCode=-1, StandardOutputContent="",
                          StandardErrorContent="", ExecutionStartDateTime="", ExecutionEndDateTime="",
                          ExecutionElapsedTime="")
        host = ec2_hosts.host_of(invocation["InstanceId"])
        assert host is not None, f"{invocation['InstanceId']} is not a managed node of the local AWS"
        threading.Thread(target=_run, args=(command, invocation["InstanceId"], host.sandbox.namespace_pid),
                         name=f"ssm-{command.command_id}", daemon=True).start()
    return answer


_original_get_invocation = SimpleSystemManagerBackend.get_command_invocation


def get_command_invocation(self: SimpleSystemManagerBackend, command_id: str, instance_id: str,
                           plugin_name: str | None) -> dict[str, Any]:
    """The invocation as it is when answered: one still running is answered once it ends, or after HOLD."""
    deadline = time.monotonic() + HOLD
    answer = _original_get_invocation(self, command_id, instance_id, plugin_name)
    with _CHANGES:
        while answer.get("Status") in RUNNING and (left := deadline - time.monotonic()) > 0:
            _CHANGES.wait(left)
            answer = _original_get_invocation(self, command_id, instance_id, plugin_name)
    return answer


def install() -> None:
    SimpleSystemManagerBackend.send_command = send_command
    SimpleSystemManagerBackend.get_command_invocation = get_command_invocation
