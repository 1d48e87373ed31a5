"""suite/attendee/shell.py: what the checks ask of a shell, written once on the base, is right for
any transport, with arguments that would break an unquoted command: a local bash stands in for the
attendee's ways in (each transport only says how one command runs)."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from suite.attendee import mysql_scripts
from suite.attendee.shell import Result, Shell

AWKWARD = "it's `date` \"$HOME\" $(id) ; a b"


@dataclass
class LocalShell(Shell):
    """bash in a folder of its own, with a HOME there: the transport under test."""

    home: Path
    environment: dict[str, str] = field(default_factory=dict)
    transcript: list[Result] = field(default_factory=list)

    def _bash(self, command: str, stdin: str | None) -> Result:
        done = subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True, timeout=30,
                              cwd=self.home, env={"PATH": os.environ["PATH"], "HOME": str(self.home),
                                                  **self.environment})
        result = Result(command, done.returncode, done.stdout, done.stderr)
        self.transcript.append(result)
        return result

    def run(self, command: str, timeout: float = 30) -> Result:
        return self._bash(command, None)

    def run_with_stdin(self, command: str, stdin: str) -> Result:
        return self._bash(command, stdin)


@pytest.fixture()
def shell(tmp_path: Path) -> LocalShell:
    return LocalShell(tmp_path, {"AWKWARD": AWKWARD, "EMPTY": ""})


def test_env_is_byte_for_byte_and_none_when_unset(shell):
    assert shell.env("AWKWARD") == AWKWARD
    assert shell.env("EMPTY") == ""
    assert shell.env("UNSET_HERE") is None
    with pytest.raises(ValueError):
        shell.env("A; rm -rf /")


def test_files_are_stated_at_once_missing_ones_said(shell, tmp_path):
    script = tmp_path / "run me.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    (tmp_path / AWKWARD).write_text("inside")
    found, missing, odd = shell.files("run me.sh", "absent", AWKWARD)
    assert len(shell.transcript) == 1, "one stat for every file"
    assert (found.exists, found.mode, found.executable_by_owner) == (True, 0o750, True)
    assert found.owner and found.group
    assert not missing.exists and str(missing) == "absent: missing"
    assert odd.exists and odd.content == "inside"
    assert shell.file("~/run me.sh").mode == 0o750  # `~/` left for the shell to expand


def test_write_takes_the_content_on_stdin_private_to_the_user(shell, tmp_path):
    shell.write("~/notes.cnf", f"password={AWKWARD}\n")
    assert (tmp_path / "notes.cnf").read_text() == f"password={AWKWARD}\n"
    assert (tmp_path / "notes.cnf").stat().st_mode & 0o777 == 0o600
    assert AWKWARD not in shell.transcript[-1].command


def test_programs_that_run_names_the_ones_that_answer(shell):
    result, running = shell.programs_that_run("bash", "no-such-program-here")
    assert running == ["bash"] and result.exit_status != 0


def test_command_lines_while_commands_run(shell, tmp_path):
    """What `ps` would show while each command runs, and the watched program's own command line,
    the watch's own shell left out."""
    script = tmp_path / "sleeper.sh"
    script.write_text("#!/bin/sh\nsleep \"$1\"\n")
    script.chmod(0o755)
    watched = shell.command_lines_while([["./sleeper.sh", "0.3"], ["./sleeper.sh", "0.2"]], program="sleep")
    assert watched.result.succeeded, watched.result.stderr
    started = watched.of("sleep")
    assert any(line.endswith("/sleep 0.3") for line in started), started
    assert any(line.endswith("/sleep 0.2") for line in started), started
    assert not any("PATH=" in line or "kill -0" in line for line in started), started


def test_the_workshop_scripts_are_typed_as_the_guide_has_them(shell):
    shell.run = lambda command, timeout=30: Result(command, 0, "", "")  # type: ignore[method-assign]
    assert mysql_scripts.read_bookinfo(shell, mysql_scripts.newway("smdemo-1")).command == (
        "./mysql.newway.sh smdemo-1 --batch --skip-column-names -e 'use smdemo; select * from bookinfo;'")
    assert mysql_scripts.select_one(shell, mysql_scripts.OLDWAY).command == "./mysql.oldway.sh --batch -e 'select 1'"
