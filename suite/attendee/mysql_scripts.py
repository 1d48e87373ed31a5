"""The workshop's database scripts as the attendee types them (docker/mysql.oldway.sh and
mysql.newway.sh, on the bastion and in the container), through any shell of suite/attendee/shell.py.

    result = read_bookinfo(attendee_shell, newway(secret_name))
"""
from __future__ import annotations

import shlex
from typing import Any

from suite.attendee.shell import CommandLines, Result, Shell

OLDWAY = ("./mysql.oldway.sh",)  # the hard-coded credentials (~/oldway.cnf, written down before any rotation)
OLDWAY_CNF = "~/oldway.cnf"
SELECT_BOOKINFO = "use smdemo; select * from bookinfo;"
SELECT_ONE = "select 1"
SLEEP = "SELECT SLEEP(0.3)"  # long enough for the process list to be read while it runs


def newway(secret_name: str | None = None) -> tuple[str, ...]:
    """mysql.newway.sh: with the secret's name on the bastion, TASKDEF_SECRET in the container."""
    return ("./mysql.newway.sh", secret_name) if secret_name else ("./mysql.newway.sh",)


def read_bookinfo(shell: Shell, script: tuple[str, ...]) -> Result:
    """The guide's query: bookinfo's rows, tab-separated (database.batch_rows reads them)."""
    return shell.run(shlex.join([*script, "--batch", "--skip-column-names", "-e", SELECT_BOOKINFO]))


def select_one(shell: Shell, script: tuple[str, ...]) -> Result:
    """A login and nothing more: what a refused password shows (ERROR 1045)."""
    return shell.run(shlex.join([*script, "--batch", "-e", SELECT_ONE]))


def write_oldway_cnf(shell: Shell, credentials: Any) -> Result:
    """~/oldway.cnf as the attendee writes it down before the rotation (mysql.oldway.sh reads it):
    `credentials` a database.DBCredentials; the password goes in on stdin."""
    return shell.write(OLDWAY_CNF, f'[client]\nhost={credentials.host}\nport={credentials.port}\n'
                                   f'user={credentials.username}\npassword="{credentials.password}"\n')


def command_lines_while_both_run(shell: Shell) -> CommandLines:
    """Every command line while mysql.newway.sh and then mysql.oldway.sh run a query (and what each
    mysql they start is called with)."""
    return shell.command_lines_while([[*newway(), "--batch", "-e", SLEEP], [*OLDWAY, "--batch", "-e", SLEEP]],
                                     program="mysql")


def write_oldway_cnf_from_the_secret(shell: Shell, secret_arn: str, version_id: str | None) -> Result:
    """~/oldway.cnf (mysql.oldway.sh's credentials, as the attendee notes them down before any
    rotation) written from that version of the secret, on the instance: no password in the command's
    text (Run Command keeps it), none in its output."""
    version = f" --version-id {shlex.quote(version_id)}" if version_id else ""
    template = r'"[client]\nhost=\(.host)\nport=\(.port)\nuser=\(.username)\npassword=\"\(.password)\""'
    return shell.run(f"set -o pipefail && umask 077 && aws secretsmanager get-secret-value --secret-id "
                     f"{shlex.quote(secret_arn)}{version} "
                     f"--query SecretString --output text | jq -r {shlex.quote(template)} > {OLDWAY_CNF}")
