"""One shell API for the attendee's ways in, in pytest-testinfra's manner: each transport (Session
Manager on the bastion, ssh from the bastion into a task, the suite's own SSH client into the container)
says how to `run` one command; what the checks ask of a shell is written once here, every
argument quoted:

    shell.file("/etc/profile.d/ecs.sh").mode   # 0o644
    shell.env("TASKDEF_SECRET")                # byte for byte, None when unset
    shell.command_lines_while([...])           # what `ps` would show while commands run

Each transport keeps a transcript of what was typed and what came back: a check shows it as
its evidence (`Result.shown()`), as a terminal would.
"""
from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable


@dataclass
class Result:
    command: str
    exit_status: int
    # Output can hold the secret: kept out of repr() (tracebacks cut long reprs, and a cut
    # secret no longer matches the mask).
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    def shown(self) -> str:
        """As a terminal shows it: the prompt and command, the output, the exit code."""
        return f"$ {self.command}\n{self.stdout}{self.stderr}(exit {self.exit_status})"

    @property
    def succeeded(self) -> bool:
        return self.exit_status == 0


def quoted_path(path: str) -> str:
    """A path for the shell: quoted, but a leading `~/` left for the shell to expand."""
    if path.startswith("~/"):
        return "~/" + shlex.quote(path[2:])
    return shlex.quote(path)


@dataclass
class File:
    """A file as `stat` sees it (mode as a number: 0o644); its content read when asked."""

    shell: "Shell" = field(repr=False)
    path: str
    exists: bool
    mode: int | None = None
    owner: str | None = None
    group: str | None = None

    @property
    def content(self) -> str | None:
        read = self.shell.run(f"cat -- {quoted_path(self.path)}")
        return read.stdout if read.succeeded else None

    @property
    def executable_by_owner(self) -> bool:
        return self.mode is not None and bool(self.mode & 0o100)

    def __str__(self) -> str:
        return f"{self.path}: {oct(self.mode or 0)[2:]} {self.owner}" if self.exists else f"{self.path}: missing"


@dataclass
class CommandLines:
    """Every process's command line seen while some commands ran (sampled from /proc, and recorded
    by the program that was watched as it started), and the run that collected them."""

    result: Result
    lines: list[str]
    script: str = field(repr=False)

    def of(self, program: str) -> list[str]:
        """The lines naming `program`, the watch's own shell left out (its command line is the script,
        one line of it per line)."""
        own = {line.strip() for line in self.script.splitlines()}
        return [line for line in self.lines if program in line and "/proc/" not in line and line not in own]


VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
STAT_FORMAT = "%a %U %G %n"
# Records the command line of every `program` started (a wrapper first on PATH that then execs the
# real one), and samples every process's command line while each command runs.
WATCH_START = r"""
set -u
watch="$(mktemp -d)"
real="$(command -v {program})"
printf '#!/bin/sh\ntr "\\000" " " < /proc/$$/cmdline >> "%s/started"\necho >> "%s/started"\nexec "%s" "$@"\n' \
  "${{watch}}" "${{watch}}" "${{real}}" > "${{watch}}/{program}"
chmod 0755 "${{watch}}/{program}"
sample() {{  # every process's command line while the command runs
  while kill -0 "$1" 2>/dev/null; do
    for f in /proc/[0-9]*/cmdline; do tr '\000' ' ' < "${{f}}" 2>/dev/null; echo; done
  done >> "${{watch}}/sampled"
}}
"""
WATCH_EACH = """PATH="${{watch}}:${{PATH}}" {command} >/dev/null 2>&1 &
sample "$!"
wait "$!" || true
"""
WATCH_END = """cat "${watch}/started" "${watch}/sampled" 2>/dev/null | sort -u
rm -rf "${watch}"
"""


class Shell(ABC):
    """A shell the attendee types into; a transport says how one command runs there."""

    transcript: list[Result]

    @abstractmethod
    def run(self, command: str, timeout: float = 120) -> Result:
        """`command` in the user's login shell; its output and exit code."""

    def env(self, name: str) -> str | None:
        """An environment variable of the login shell, byte for byte; None when it is unset."""
        if not VARIABLE.fullmatch(name):
            raise ValueError(f"not a variable name: {name!r}")
        read = self.run(f'[ "${{{name}+set}}" = set ] && printf "%s" "${name}"')
        return read.stdout if read.succeeded else None

    def file(self, path: str) -> File:
        return self.files(path)[0]

    def files(self, *paths: str) -> list[File]:
        """Several files, with one `stat`: a missing one is `exists=False`."""
        found = self.run(f"stat -c {shlex.quote(STAT_FORMAT)} -- {' '.join(map(quoted_path, paths))}")
        seen = {}
        for line in found.stdout.splitlines():
            parts = line.split(" ", 3)
            if len(parts) == 4:
                seen[parts[3]] = parts[:3]
        files = []
        for path in paths:
            # stat names a file as the shell gave it: `~/x` expanded
            named = seen.get(path) or next((stat for name, stat in seen.items()
                                            if path.startswith("~/") and name.endswith(path[1:])), None)
            if named:
                mode, owner, group = named
                files.append(File(self, path, True, int(mode, 8), owner, group))
            else:
                files.append(File(self, path, False))
        return files

    def programs_that_run(self, *programs: str) -> tuple[Result, list[str]]:
        """Which of `programs` are on the PATH and answer `--version`."""
        result = self.run(f"for tool in {' '.join(map(shlex.quote, programs))}; do "
                          "\"${tool}\" --version >/dev/null && echo \"/${tool} runs\"; done")
        return result, [line[1:].split()[0] for line in result.stdout.splitlines() if line.startswith("/")]

    def whoami(self) -> str:
        return self.run("whoami").stdout.strip()

    def write(self, path: str, content: str) -> Result:
        """`path` made with `content`, readable by the user only (umask 077); the content goes in on
        stdin, never in the command's text. Only a transport with stdin can do it."""
        return self.run_with_stdin(f"umask 077 && cat > {quoted_path(path)}", content)

    def run_with_stdin(self, command: str, stdin: str) -> Result:
        raise NotImplementedError(f"{type(self).__name__} passes no stdin to a command")

    def stop_processes(self, pattern: str) -> Result:
        """`pkill -f pattern`; nothing running is no error."""
        return self.run(f"pkill -f {shlex.quote(pattern)} || true")

    def tail(self, pattern: str, lines: int = 20) -> Result:
        """The last lines of the files `pattern` (a glob, left for the shell to expand) names."""
        if not re.fullmatch(r"[~/A-Za-z0-9_.*-]+", pattern):
            raise ValueError(f"not a plain glob: {pattern!r}")
        return self.run(f"tail -n {int(lines)} {pattern}")

    def command_lines_while(self, commands: Iterable[list[str]], program: str) -> CommandLines:
        """Each command (an argv list) run in turn with its output dropped, while every process's
        command line is sampled and each `program` it starts records its own: no secret may show."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", program):
            raise ValueError(f"not a program name: {program!r}")
        script = (WATCH_START.format(program=program)
                  + "".join(WATCH_EACH.format(command=shlex.join(argv)) for argv in commands) + WATCH_END)
        result = self.run(script)
        return CommandLines(result, [line.strip() for line in result.stdout.splitlines() if line.strip()], script)
