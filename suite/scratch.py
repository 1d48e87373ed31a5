"""Where a run keeps its files: in memory when the machine has room there, else where pytest keeps them.

A deployment makes thousands of files and removes them at the end: each instance's and task's copy of /etc, the
database's data directory, the image's layers, the function's code. On a virtual machine's disk each file made or
removed costs CPU in the kernel (on this project's 2-core machines, ext4: about 0.3 ms per file, and `cp -a /etc`
0.45 s of CPU against 0.01 s on tmpfs); the six phases spent 13 % more CPU with their files on disk.
So a run not given --basetemp keeps them in a folder of its own on the memory file system /dev/shm, when that is a
tmpfs that lets files run (not noexec: the hosts run their scripts from there) with MIN_FREE_BYTES free, and removes
the folder when it ends. Memory is not a disk to leave things on: a process tied to the run by a parent-death signal
(localaws/processes.py) removes the folder when the run ends however it ends, SIGKILL included; a folder left all the
same (the machine stopped) is removed by the next run. Elsewhere, and with --basetemp, pytest's own place, as before.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from localaws import processes
from localaws.system_tools import MissingSystemTool

MEMORY = Path("/dev/shm")
MIN_FREE_BYTES = 4 * 2**30  # several deployments at once, with room to spare for the machine's own use of it
PREFIX = "smdemo-run-"
OWNER = "owner"
# The run's basetemp: a path no longer than pytest's own (/tmp/pytest-of-root/pytest-NNNN), since the runs' unix
# sockets live under it and a socket's path may not exceed 107 bytes (mysqld: "The socket file path is too long").
BASETEMP = "run"
_FOLDER = pytest.StashKey[Path]()
_REMOVER = pytest.StashKey[subprocess.Popen[bytes]]()
# Waits for the parent-death signal (or the run's own word), then removes the folder (again a moment later: the run's
# other processes, dying at the same time, may still be writing into it).
REMOVE_WHEN_TOLD = (
    "import shutil, signal, sys, time\n"
    "signal.sigwait({signal.SIGTERM})\n"
    "for _ in range(3):\n"
    "    shutil.rmtree(sys.argv[1], ignore_errors=True)\n"
    "    time.sleep(0.5)\n"
)


def _is_tmpfs_that_runs_files(path: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        flags = os.statvfs(path).f_flag
    except OSError:
        return False
    kinds = {fields[1]: fields[2] for fields in (line.split() for line in mounts) if len(fields) > 2}
    return kinds.get(str(path)) == "tmpfs" and not flags & os.ST_NOEXEC and not flags & os.ST_RDONLY


def _started(pid: int) -> str | None:
    """The process's start time, which tells it from a later one given the same pid."""
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return None


def _sweep_abandoned(memory: Path) -> None:
    """The folders of runs that ended without removing theirs (each names its owner's pid; its OWNER file holds the
    owner's start time, which tells that run from a later process given the same pid)."""
    for folder in memory.glob(f"{PREFIX}*"):
        pid = folder.name[len(PREFIX):]
        try:
            started = (folder / OWNER).read_text()
        except OSError:
            started = None
        if pid.isdigit() and _started(int(pid)) != started:
            shutil.rmtree(folder, ignore_errors=True)


def in_memory_folder(memory: Path = MEMORY) -> Path | None:
    """A new folder of this process on the memory file system, or None where there is none with room."""
    if not _is_tmpfs_that_runs_files(memory) or not os.access(memory, os.W_OK):
        return None
    _sweep_abandoned(memory)
    if shutil.disk_usage(memory).free < MIN_FREE_BYTES:
        return None
    folder = memory / f"{PREFIX}{os.getpid()}"
    folder.mkdir(mode=0o700)
    (folder / OWNER).write_text(_started(os.getpid()) or "")
    return folder


@pytest.hookimpl(tryfirst=True)  # before pytest's tmpdir plugin reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    # xdist's workers are given theirs by the controller (a folder inside its own); a run given one keeps it.
    if config.option.basetemp or hasattr(config, "workerinput"):
        return
    folder = in_memory_folder()
    if folder is None:
        return
    try:
        config.stash[_REMOVER] = processes.spawn(
            [sys.executable, "-c", REMOVE_WHEN_TOLD, str(folder)], stdin=subprocess.DEVNULL,
            preexec_fn=_block_termination, start_new_session=True)  # a Ctrl-C is the run's, not the remover's
    except MissingSystemTool:  # no setpriv: the preflight names it; the files go where pytest keeps them
        folder.rmdir()
        return
    config.stash[_FOLDER] = folder
    config.option.basetemp = str(folder / BASETEMP)


def _block_termination() -> None:
    """In the remover before it runs: SIGTERM waits for its sigwait, however early it comes."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_FOLDER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        remover = config.stash[_REMOVER]
        remover.kill()
        remover.wait()
