"""The guide's `ssh ec2-user@<task private IP>`, typed on the bastion as the attendee does.

The attendee types the container user's password at ssh's prompt; here ssh asks an askpass program
(SSH_ASKPASS_REQUIRE=force, OpenSSH 8.4 and later: Amazon Linux 2023 has 8.7) that reads the password
from the container user's secret on the bastion, so the password is in no command's text (Run Command
keeps that) and in no output. The task's host key is pinned from its log: StrictHostKeyChecking=yes
with a known_hosts file holding only those keys.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from suite.attendee.session_manager import AttendeeShell
from suite.attendee.shell import VARIABLE, Result, Shell

KNOWN_HOSTS = "~/.ssh/known_hosts_smdemo_tasks"
ASKPASS = "~/.ssh/smdemo-askpass"
# One login reused by the commands after it, as an attendee stays logged in: ssh's connection sharing, its socket in
# ec2-user's ~/.ssh (mode 0700), closed at the end (and by ssh itself a minute after its last use).
CONTROL = ["-o", "ControlPath=~/.ssh/smdemo-task-%C", "-o", "ControlPersist=60"]


def ssh_command(address: str, host_keys: list[str], password_secret_arn: str, remote: str,
                log_in: bool = False) -> str:
    """The bastion's commands: pin the host keys, make the askpass program, ssh with `remote` run in a
    login shell (as after an interactive ssh: /etc/profile.d/ecs.sh is read). Through the login shared by an
    earlier command if there is one, else logging in with the password; `log_in` always logs in anew (it is
    the check that the password login works) and shares its login with the commands after it."""
    known = "".join(f"{address} {key}\n" for key in host_keys)
    askpass = (f"#!/bin/sh\naws secretsmanager get-secret-value --secret-id {shlex.quote(password_secret_arn)} "
               f"--query SecretString --output text | jq -r .password\n")
    options = ["-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=no",
               "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
               "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=30", "-o", "LogLevel=ERROR",
               "-o", f"ControlMaster={'yes' if log_in else 'auto'}", *CONTROL]
    return (f"install -d -m 0700 ~/.ssh && printf %s {shlex.quote(known)} > {KNOWN_HOSTS}\n"
            f"printf %s {shlex.quote(askpass)} > {ASKPASS} && chmod 0700 {ASKPASS}\n"
            f"SSH_ASKPASS={ASKPASS} SSH_ASKPASS_REQUIRE=force ssh {' '.join(options)} "
            f"ec2-user@{shlex.quote(address)} {shlex.quote('bash --login -c ' + shlex.quote(remote))} < /dev/null")


ECS_PROFILE = "/etc/profile.d/ecs.sh"  # where the container's start writes the task's variables for login shells


@dataclass
class TaskFromTheBastion(Shell):
    """The task's login shell (suite/attendee/shell.py's API), over the attendee's ssh from the bastion."""

    attendee: AttendeeShell
    address: str
    host_keys: list[str]
    password_secret_arn: str
    transcript: list[Result] = field(default_factory=list, repr=False)

    def ssh(self, remote: str, log_in: bool = False) -> str:
        return ssh_command(self.address, self.host_keys, self.password_secret_arn, remote, log_in)

    def run(self, remote: str, timeout: float = 120, log_in: bool = False) -> Result:
        done = self.attendee.run(self.ssh(remote, log_in), timeout)
        # What the attendee sees: their ssh and the command, not the askpass plumbing.
        result = Result(f"ssh ec2-user@{self.address}  # then: {remote}", done.exit_status, done.stdout, done.stderr)
        self.transcript.append(result)
        return result

    def log_in(self) -> Result:
        """The guide's first look after ssh: who one is, and that the login shell can read ecs.sh."""
        return self.run(f"whoami; test -r {shlex.quote(ECS_PROFILE)} && echo ecs.sh readable", log_in=True)

    def close(self) -> Result:
        """The shared login ended (`ssh -O exit`); nothing to end when there is none."""
        return self.attendee.run(f"ssh {' '.join(CONTROL)} -O exit ec2-user@{shlex.quote(self.address)} 2>/dev/null "
                                 "|| true")

    def compare_on_the_bastion(self, variable: str, secret_arn: str) -> Result:
        """Whether the task's `variable` equals the secret's AWSCURRENT SecretString, compared on the
        bastion: neither value leaves it (Run Command keeps a command's output)."""
        if not VARIABLE.fullmatch(variable):
            raise ValueError(f"not a variable name: {variable!r}")
        read_variable = self.ssh(f'printf %s "${{{variable}-}}"')
        script = (f"set -o pipefail\n"
                  f"expected=\"$(aws secretsmanager get-secret-value --secret-id {shlex.quote(secret_arn)} "
                  f"--query SecretString --output text)\" || exit 3\n"
                  f"seen=\"$({read_variable})\" || exit 4\n"
                  f"if [ -z \"$seen\" ]; then echo '{variable} is not set in the login shell'; exit 1; fi\n"
                  f"if [ \"$seen\" = \"$expected\" ]; then echo \"{variable} equals the secret's AWSCURRENT "
                  f"SecretString ($(printf %s \"$seen\" | wc -c) bytes)\"; else echo '{variable} differs from the "
                  f"secret'\"'\"'s AWSCURRENT SecretString'; exit 1; fi")
        done = self.attendee.run(script)
        return Result(f"ssh ec2-user@{self.address}  # then: env | grep {variable} (compared on the bastion "
                      f"with the secret's value)", done.exit_status, done.stdout, done.stderr)
