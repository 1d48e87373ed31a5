"""A login shell in the workshop's container, reached as the workshop does it: SSH to the
bastion, and from there (a direct-tcpip channel) to the task's private IP as ec2-user with
the container user's password. The container's host key must be one it published in its
log; an unknown key is refused.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import paramiko

from suite.attendee.bastion import checked_ssh_client


@dataclass
class Exchange:
    command: str
    exit_status: int
    # Output can hold the secret: kept out of repr() (tracebacks cut long reprs, and a cut
    # secret no longer matches the mask).
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    def shown(self) -> str:
        """As a terminal shows it: the prompt and command, the output, the exit code."""
        return f"$ {self.command}\n{self.stdout}{self.stderr}(exit {self.exit_status})"


@dataclass(frozen=True)
class RemoteFile:
    """A file in the container as `stat` sees it (mode as a number: 0o644)."""

    path: str
    exists: bool
    mode: int | None = None
    owner: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {oct(self.mode)[2:]} {self.owner}" if self.exists else f"{self.path}: missing"


@dataclass
class ContainerShell:
    """A login shell in the container; `run` a command, or ask it as testinfra does:
    `shell.env("TASKDEF_SECRET")`, `shell.file("/etc/profile.d/ecs.sh").mode`."""

    route: Any  # suite.attendee.bastion.Bastion
    address: str
    host_keys: list[str] = field(repr=False)
    password: str = field(repr=False)
    user: str = "ec2-user"
    transcript: list[Exchange] = field(default_factory=list, repr=False)
    _client: paramiko.SSHClient | None = field(default=None, repr=False)

    def connect(self) -> "ContainerShell":
        client = checked_ssh_client(self.address, self.host_keys)
        client.connect(self.address, username=self.user, password=self.password, sock=self.route.socket_to(self.address, 22),
                       timeout=30, allow_agent=False, look_for_keys=False)
        self._client = client
        return self

    def run(self, command: str, stdin: str | None = None, timeout: float = 60) -> Exchange:
        """`command` in a login shell (as after `ssh`), so /etc/profile.d/ecs.sh is sourced."""
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
        exchange = Exchange(command, channel_out.channel.recv_exit_status(), out, err)
        self.transcript.append(exchange)
        return exchange

    def env(self, name: str) -> str | None:
        """An environment variable of the login shell, byte for byte; None when it is unset."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"not a variable name: {name!r}")
        exchange = self.run(f'[ "${{{name}+set}}" = set ] && printf "%s" "${name}"')
        return exchange.stdout if exchange.exit_status == 0 else None

    def file(self, path: str) -> RemoteFile:
        found = self.run(f"stat -c '%a %U' -- {shlex.quote(path)}")
        if found.exit_status != 0:
            return RemoteFile(path, exists=False)
        mode, owner = found.stdout.split()
        return RemoteFile(path, exists=True, mode=int(mode, 8), owner=owner)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
