"""The AWS CLI of the local AWS's hosts, started warm (aws.py, daemon.py: they run inside a host's sandbox, with
Debian's Python, and import nothing of the local AWS; zygotes.py, outside, forks their daemons)."""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from localaws import processes

HERE = Path(__file__).parent
DAEMON = "/run/localaws/aws-cli-daemon.py"  # aws.py names it too
ZYGOTES = "/run/localaws/aws-cli-zygotes"  # aws.py names its socket
SOCKET = "socket"
_QUIET: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": "/"}
_folder: Path | None = None  # the zygotes' manager's, for this process and the servers forked from it


def binds() -> list[tuple[str, str]]:
    """A sandbox's read-only binds that make its /usr/bin/aws the warm one, and offer it the zygotes."""
    return [(str(HERE / "aws.py"), "/usr/bin/aws"), (str(HERE / "daemon.py"), DAEMON), (str(_zygotes()), ZYGOTES)]


def share(parent: Path) -> None:
    """The zygotes' manager, started now in a folder of its own in `parent`, from this (the calling) thread, with
    which it ends: the servers a preloaded local AWS forks (localaws/preloaded.py) share it, and so the CLI's
    import."""
    global _folder
    folder = parent / "aws-cli-zygotes"
    folder.mkdir()
    folder.chmod(0o755)  # every user of a sandbox reaches the socket (whatever this process's umask)
    subprocess.Popen(processes.tied(_manager(folder), "KILL"), **_QUIET)
    _folder = folder


def _zygotes() -> Path:
    """The manager's folder: the shared one, or one started now for this process (by its long-lived spawner thread,
    with which it ends), in the local AWS's state folder (a server's) or removed when this process exits."""
    global _folder
    if _folder is None:
        folder = Path(tempfile.mkdtemp(prefix="aws-cli-zygotes-", dir=os.environ.get("LOCALAWS_STATE_DIR")))
        atexit.register(shutil.rmtree, folder, True)
        folder.chmod(0o755)  # every user of a sandbox reaches the socket
        processes.spawn(_manager(folder), signal="KILL", **_QUIET)
        _folder = folder
    return _folder


def _manager(folder: Path) -> list[str]:
    return ["/usr/bin/python3", str(HERE / "zygotes.py"), "manager", str(folder / SOCKET)]
