"""The attendee's shell on the bastion: commands typed as ec2-user, through Systems Manager.

The guide has attendees open a Session Manager session on `smdemo-host` and `sudo su - ec2-user`.
The suite does the same through Run Command (SendCommand with AWS-RunShellScript, which runs as
root, and `sudo -iu ec2-user` for ec2-user's login shell), in both modes; GetCommandInvocation gives
the output and the exit code. A command's text is kept by Systems Manager (ListCommands shows it):
it never holds a secret; secrets stay on the instance (read there with the AWS CLI).
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from tenacity import RetryError, retry, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed

from suite.attendee.shell import Result, Shell

RUNNING = ("Pending", "InProgress", "Delayed")
CLOUD_INIT_RESULT = "/run/cloud-init/result.json"  # written when cloud-init has run the user data
OUTPUT_LOG = "/var/log/cloud-init-output.log"


class BastionNotReady(Exception):
    """The bastion never became a managed node, or its user data failed: why, and its output's end."""


@dataclass
class AttendeeShell(Shell):
    """ec2-user's login shell on an instance (suite/attendee/shell.py's API), one Run Command per `run`."""

    ssm: Any
    instance_id: str
    poll: float = 0.05  # seconds between GetCommandInvocation calls (a command offline takes a fraction of one)
    user: str = "ec2-user"
    transcript: list[Result] = field(default_factory=list, repr=False)

    def run(self, command: str, timeout: float = 120, as_root: bool = False) -> Result:
        """`command` in the user's login shell (as after `sudo su - ec2-user`); its output and exit code."""
        # The login shell reads the command from a here-document: no quoting between the two shells.
        marker = f"SMDEMO_{secrets.token_hex(4).upper()}"
        script = command if as_root else f"sudo -iu {self.user} <<'{marker}'\n{command}\n{marker}"
        sent = self.ssm.send_command(InstanceIds=[self.instance_id], DocumentName="AWS-RunShellScript",
                                     Comment="smdemo verification: the guide's step",
                                     Parameters={"commands": [script], "executionTimeout": [str(int(timeout))]},
                                     TimeoutSeconds=max(30, int(timeout)))["Command"]
        invocation = self._finished(sent["CommandId"], timeout + 30)
        result = Result(command, int(invocation.get("ResponseCode", -1)),
                        invocation.get("StandardOutputContent", ""), invocation.get("StandardErrorContent", ""))
        if invocation["Status"] == "TimedOut":
            result.stderr += f"\n(the command did not finish within {timeout:.0f} s: Run Command stopped it)"
        self.transcript.append(result)
        return result

    def _finished(self, command_id: str, timeout: float) -> dict[str, Any]:
        @retry(stop=stop_after_delay(timeout), wait=wait_fixed(self.poll),
               retry=retry_if_result(lambda invocation: invocation is None or invocation["Status"] in RUNNING),
               retry_error_callback=lambda state: state.outcome.result() if state.outcome else None)
        def poll() -> dict[str, Any] | None:
            try:
                return self.ssm.get_command_invocation(CommandId=command_id, InstanceId=self.instance_id)
            except ClientError as error:
                if error.response["Error"]["Code"] == "InvocationDoesNotExist":  # not registered yet
                    return None
                raise

        invocation = poll()
        if invocation is None or invocation["Status"] in RUNNING:
            raise TimeoutError(f"Run Command {command_id} on {self.instance_id} did not finish within {timeout:.0f} s")
        return invocation

    def wait_until_ready(self, timeout: float, interval: float) -> None:
        """Until the instance is a managed node and cloud-init has run its user data; BastionNotReady
        with cloud-init's errors and the end of its output if the user data failed."""
        @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
               retry=retry_if_exception_type(BastionNotReady) | retry_if_result(lambda result: result is None),
               reraise=True)
        def booted() -> dict[str, Any] | None:
            try:
                done = self.run(f"cat {CLOUD_INIT_RESULT}", timeout=30, as_root=True)
            except ClientError as error:
                if error.response["Error"]["Code"] == "InvalidInstanceId":  # the agent has not registered yet
                    raise BastionNotReady(f"instance {self.instance_id} is not a managed node: "
                                          f"{error.response['Error']['Message']}") from None
                raise
            return json.loads(done.stdout) if done.exit_status == 0 and done.stdout.strip() else None

        try:
            result = booted()
        except RetryError:
            raise BastionNotReady(f"instance {self.instance_id}: cloud-init did not finish within {timeout:.0f} s"
                                  ) from None
        errors = (result or {}).get("v1", {}).get("errors") or []
        if errors:
            tail = self.run(f"tail -n 25 {OUTPUT_LOG}", timeout=30, as_root=True).stdout
            raise BastionNotReady(f"instance {self.instance_id}: its user data failed ({'; '.join(errors)}); the end "
                                  f"of {OUTPUT_LOG}:\n{tail}")

