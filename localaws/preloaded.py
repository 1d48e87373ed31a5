"""Local AWS servers forked from one process that has imported moto and the extensions once.

A local AWS spends about 2 s of CPU importing moto before it serves, and the project's self-tests start one
per broken-workshop run, well over a hundred. This process pays the import once, then forks a server for each
request on its unix socket. A forked server is what `python -m localaws.server_process` would be (the same
`serve`), with the port, state directory, environment and log it was asked for, in a session of its own. It
stops when the process that asked for it (its owner) ends, however that ends: it watches a pidfd of the owner,
as the parent-death signal stops a server its run launched itself (localaws/processes.py).

Usage: python -m localaws.preloaded SOCKET (started by a test session, with which it dies; `start_preloaded`).
A run uses it when LOCALAWS_PRELOADED=SOCKET is in its environment (localaws/service.py); the verification
itself, and every self-test that watches a run's processes, launches its server as a child process.
Request, one JSON line: {"port", "state_dir", "owner_pid", "environment", "log"}; answer: {"pid"} or {"error"}.
"""
from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

EXIT_STATUS_FILE = "server-exit-status"  # in the state directory: how a forked server ended (not our child)


class PreloadedUnavailable(OSError):
    """No preloaded process answers on the socket: the caller launches its server itself."""


# --- the caller's side
class ForkedServer:
    """A forked server, as much of subprocess.Popen as LocalAWS uses: pid, poll, wait, send_signal, returncode."""

    def __init__(self, pid: int, state_dir: Path):
        self.pid = pid
        self.state_dir = state_dir
        self.returncode: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None
            self._ended()

    def _ended(self) -> int:
        if self.returncode is None:
            try:
                self.returncode = int((self.state_dir / EXIT_STATUS_FILE).read_text())
            except (OSError, ValueError):
                self.returncode = -signal.SIGKILL  # it wrote nothing: killed
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def poll(self) -> int | None:
        return self.wait(0, raising=False)

    def wait(self, timeout: float | None = None, raising: bool = True) -> int | None:
        if self.returncode is not None:
            return self.returncode
        assert self._pidfd is not None
        ready, _, _ = select.select([self._pidfd], [], [], timeout)
        if ready:
            return self._ended()
        if raising:
            raise subprocess.TimeoutExpired(f"local AWS {self.pid}", timeout or 0)
        return None

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, number)
            except ProcessLookupError:
                pass


def fork_server(socket_path: str, port: int, state_dir: Path, environment: dict[str, str], log: Path) -> ForkedServer:
    """A server forked by the preloaded process at `socket_path`, owned by this process."""
    request = {"port": port, "state_dir": str(state_dir), "owner_pid": os.getpid(), "environment": environment,
               "log": str(log)}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(30)
            connection.connect(socket_path)
            connection.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(connection.makefile("rb").readline() or b"{}")
    except (OSError, ValueError) as error:
        raise PreloadedUnavailable(f"no preloaded local AWS at {socket_path}: {error}") from None
    if "pid" not in answer:
        raise PreloadedUnavailable(f"the preloaded local AWS at {socket_path} forked nothing: {answer}")
    return ForkedServer(int(answer["pid"]), state_dir)


def start_preloaded(socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """The preloaded process, tied to the calling thread (it dies with it); it serves once `socket_path` exists,
    seconds later (not awaited: a run that asks before then launches its own server). Its output goes to `log`."""
    from localaws import processes
    from localaws.service import server_environment

    with open(log, "ab") as output:
        return subprocess.Popen(processes.tied([sys.executable, "-m", "localaws.preloaded", str(socket_path)]),
                                env=server_environment(), stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT)


# --- the preloaded process
def _watch_owner(owner_pid: int) -> None:
    """SIGTERM to this server once its owner has ended: it stops what it started, as when its run stops it."""
    try:
        owner = os.pidfd_open(owner_pid)
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGTERM)
        return

    def wait() -> None:
        select.select([owner], [], [])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="owner-watch", daemon=True).start()


def _serve_forked(request: dict[str, Any]) -> None:
    """In the forked child: become the server asked for. Never returns."""
    try:
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.environ.clear()
        os.environ.update(request["environment"])
        from moto.moto_api._internal import mock_random

        mock_random.seed()  # its own resource ids, not its siblings'
        from localaws.server_process import serve

        state_dir = Path(request["state_dir"])
        state_dir.mkdir(parents=True, exist_ok=True)
        _watch_owner(int(request["owner_pid"]))

        def said(status: int) -> None:
            (state_dir / EXIT_STATUS_FILE).write_text(str(status))

        serve(int(request["port"]), str(state_dir), on_exit=said)
    except BaseException:  # noqa: BLE001 - said in its log
        traceback.print_exc()
    os._exit(1)


def main(socket_path: str) -> None:
    # The import every server shares; no thread may run yet (a fork copies only the forking one).
    from localaws import shared_data_loader
    shared_data_loader.install()  # before moto's import, which makes boto3 sessions (serve installs it too)
    import moto.server  # noqa: F401
    import localaws.ext  # noqa: F401
    from localaws import server_process

    server_process.read_ahead()
    from localaws.hosts import warm_cli
    from localaws.functions import zygote
    try:
        warm_cli.share(Path(socket_path).parent)  # the instances' AWS CLI: one import for all the servers
        zygote.share()  # and the Lambda runtime's libraries
    except OSError:  # each server starts its own
        traceback.print_exc()
    gc.collect()
    gc.freeze()  # the imported modules: never scanned again by the servers' collections, nor copied by them
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    while True:
        ready, _, _ = select.select([listener], [], [], 1.0)
        while True:  # reap the servers that ended
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
        if not ready:
            continue
        connection, _ = listener.accept()
        with connection:
            try:
                request = json.loads(connection.makefile("rb").readline())
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    connection.close()
                    _serve_forked(request)
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            except Exception as error:  # noqa: BLE001 - the caller launches its own server instead
                connection.sendall(json.dumps({"error": str(error)}).encode() + b"\n")


if __name__ == "__main__":
    main(sys.argv[1])
