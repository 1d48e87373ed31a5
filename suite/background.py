"""A tool that needs no AWS, run in a process of its own while the run does other work, its output read
when a check asks for it.

The deployed phases spend much of their time waiting (on AWS, a rotation, a caching client's back-off): a
background process uses the CPU they leave idle. While nobody waits for it, it runs at a lower priority (nice
5), so it does not slow the work a check is waiting for; once a check waits for its output, it runs at the
normal priority. It is tied to the thread that started it (PR_SET_PDEATHSIG, localaws/processes.py): start
it from pytest's main thread, and nothing of it outlives the run: its temporary files go to a folder of its own
(TMPDIR), removed when it ends, unless the environment it is given names one (checkov's: suite/controls/static_scan.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Protocol, Sequence

import psutil

from localaws.processes import tied

IDLE_NICENESS = 5  # while nobody waits: a third of a busy core, so the run's own work keeps its core


class Started(Protocol):
    """What of subprocess.Popen a background process uses (a process forked for it elsewhere has it too)."""

    pid: int
    returncode: Any  # int | None once it has ended, as Popen's

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


# (argv, output file, error file, environment, working folder) -> the process, started
Starter = Callable[[list[str], IO[bytes], IO[bytes], dict[str, str], "Path | None"], Started]


def popen(argv: list[str], stdout: IO[bytes], stderr: IO[bytes], env: dict[str, str], cwd: Path | None) -> Started:
    """The process started here, tied to this thread."""
    return subprocess.Popen(tied(argv, "KILL"), stdout=stdout, stderr=stderr, env=env, cwd=cwd)


class BackgroundProcess:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 start: Starter = popen):
        self.argv = list(argv)
        self.started = time.monotonic()
        self.ahead = 0.0  # seconds it ran before a check asked for its output
        self.waited = 0.0  # seconds the check then waited for it
        # Its output goes to files, not pipes: a tool whose output outgrows a pipe would wait for a reader.
        self.stdout, self.stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        environment = dict(env if env is not None else os.environ)
        self.tmpdir: str | None = None
        if "TMPDIR" not in (env or {}):  # unless the environment given names one (not inherited: this run's)
            self.tmpdir = environment["TMPDIR"] = tempfile.mkdtemp(prefix="smdemo-tool-")
        try:
            self.process = start(self.argv, self.stdout, self.stderr, environment, cwd)
        except BaseException:
            self.stdout.close()
            self.stderr.close()
            self._discard()
            raise
        _renice(self.process.pid, IDLE_NICENESS)

    def output(self, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Its exit status and output, once it has ended (at the normal priority from now on)."""
        asked = time.monotonic()
        self.ahead = asked - self.started
        _renice(self.process.pid, 0)
        try:
            self.process.wait(timeout=timeout)
        finally:
            self.stop()
            self.waited = time.monotonic() - asked
        return subprocess.CompletedProcess(self.argv, self.process.returncode, _read(self.stdout), _read(self.stderr))

    @property
    def said(self) -> str:
        """When it ran, for a check's evidence."""
        return (f"in a process of its own, started {self.ahead:.1f} s before its check asked for it (while other "
                f"checks ran); the check waited {self.waited:.1f} s for it")

    def stop(self) -> None:
        """Ends it if it still runs (nobody read it), and removes its temporary files."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._discard()

    def _discard(self) -> None:
        """Its temporary files (its output files are closed when read)."""
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def _read(output: IO[bytes]) -> str:
    output.seek(0)
    text = output.read().decode(errors="replace")
    output.close()
    return text


def _renice(pid: int, niceness: int) -> None:
    """Every thread of the process and of its children (Linux keeps a niceness per thread)."""
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return
    for process in tree:
        try:
            threads = [thread.id for thread in process.threads()]
        except psutil.Error:
            continue
        for thread in threads:
            try:
                os.setpriority(os.PRIO_PROCESS, thread, niceness)
            except OSError:  # it ended meanwhile, or (not root) a niceness may not be lowered again
                continue
