"""A login shell in the workshop's container, reached from the bastion's network as the workshop
does it: SSH to the task's private IP as ec2-user with the container user's password, over a
Session Manager port forwarding stream through the bastion (suite/attendee/ssm_tunnel.py). The
container's host key must be one it published in its log; an unknown key is refused.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from suite.attendee.bastion import checked_ssh_client
from suite.attendee.shell import Result, Shell

if TYPE_CHECKING:  # the client comes from checked_ssh_client
    import paramiko


@dataclass
class ContainerShell(Shell):
    """A login shell in the container (suite/attendee/shell.py's API), over the suite's own SSH client."""

    route: Any  # suite.attendee.ssm_tunnel.SessionManagerRoute: socket_to(host, port) from the bastion
    address: str
    host_keys: list[str] = field(repr=False)
    password: str = field(repr=False)
    user: str = "ec2-user"
    transcript: list[Result] = field(default_factory=list, repr=False)
    _client: paramiko.SSHClient | None = field(default=None, repr=False)

    def connect(self) -> "ContainerShell":
        client = checked_ssh_client(self.address, self.host_keys)
        client.connect(self.address, username=self.user, password=self.password,
                       sock=self.route.socket_to(self.address, 22),
                       timeout=30, allow_agent=False, look_for_keys=False)
        self._client = client
        return self

    def run(self, command: str, timeout: float = 60) -> Result:
        """`command` in a login shell (as after `ssh`), so /etc/profile.d/ecs.sh is sourced."""
        return self._exec(command, None, timeout)

    def run_with_stdin(self, command: str, stdin: str) -> Result:
        return self._exec(command, stdin, 60)

    def _exec(self, command: str, stdin: str | None, timeout: float) -> Result:
        if self._client is None:
            self.connect()
        assert self._client is not None
        channel_in, channel_out, channel_err = self._client.exec_command(
            "bash --login -c " + shlex.quote(command), timeout=timeout)
        if stdin is not None:
            channel_in.write(stdin)
        channel_in.channel.shutdown_write()
        out = channel_out.read().decode(errors="replace")
        err = channel_err.read().decode(errors="replace")
        result = Result(command, channel_out.channel.recv_exit_status(), out, err)
        self.transcript.append(result)
        return result

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
