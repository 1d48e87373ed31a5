"""A script run as `__main__` in a process forked from one that imported its libraries once, as `python SCRIPT`
started there would run it; and the supervisor that answers for it. Standard library only: loaded by file name
by localaws/functions/runtime_zygote.py (in the Lambda runtime's sandbox) and suite/controls/warm_checkov.py (in
checkov's virtualenv).

The protocol, on one unix stream connection: the caller sends one JSON line with file descriptors; the process that
accepted it forks a supervisor, which answers `{"pid"}` once it forked the script's process (or `{"refused"}`), then
`{"status"}` (os.waitstatus_to_exitcode's) once that process ended. The caller closing the connection first (it
stopped the process, or ended) kills the process first.
"""
from __future__ import annotations

import json
import os
import runpy
import select
import signal
import socket
import struct
import sys
import traceback
from typing import Callable, NoReturn

MAX_REQUEST = 1 << 20


def serve(listener: socket.socket, supervise: Callable[[socket.socket], None]) -> NoReturn:
    """For each connection on `listener` from this process's own user (another user's is closed: what it would
    have forked runs as this one), a supervisor process running `supervise(connection)`."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the supervisors, reaped by the kernel
    while True:
        connection, _ = listener.accept()
        _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
        if uid != os.getuid():
            connection.close()
            continue
        if os.fork() == 0:
            status = 0
            try:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its process is waited for
                supervise(connection)
            except EOFError:  # the caller went away before it asked: nothing to do
                pass
            except BaseException:  # noqa: BLE001 - in the server's log; the caller sees the connection close
                traceback.print_exc()
                status = 1
            finally:
                os._exit(status)
        connection.close()


def request(connection: socket.socket, most_fds: int) -> tuple[dict, list[int]]:
    """The caller's JSON line and the file descriptors sent with it (EOFError: the caller went away)."""
    data, fds = b"", []
    while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
        chunk, ancillary, _, _ = connection.recvmsg(65536, socket.CMSG_SPACE(most_fds * 4))
        if not chunk:
            raise EOFError("the caller went away")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += [int.from_bytes(payload[i:i + 4], sys.byteorder) for i in range(0, len(payload) - 3, 4)]
        data += chunk
    return json.loads(data), fds


def answer(connection: socket.socket, **said: object) -> None:
    connection.sendall(json.dumps(said).encode() + b"\n")


def until_ended(connection: socket.socket, pid: int) -> None:
    """In the supervisor, once it forked `pid`: its pid, then its exit status; killed if the caller goes first."""
    answer(connection, pid=pid)
    process = os.pidfd_open(pid)
    ready, _, _ = select.select([connection.fileno(), process], [], [])
    if process not in ready:  # the caller stopped it, or ended: it goes too
        os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    try:
        answer(connection, status=os.waitstatus_to_exitcode(wait_status))
    except OSError:  # the caller ended
        pass


def run_as_main(script: str, streams: list[int], cwd: str) -> NoReturn:
    """In the forked process: the standard streams become `streams` (none: stdin from /dev/null, then stdout and
    stderr), the working folder `cwd`, and `script` runs as `__main__`; the process ends as the interpreter would."""
    status = 1
    try:
        if len(streams) == 2:
            streams = [os.open(os.devnull, os.O_RDONLY), *streams]
        for target, fd in enumerate(streams):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(cwd)
        try:
            runpy.run_path(script, run_name="__main__")
            status = 0
        except SystemExit as ending:  # what the interpreter would make of it
            if ending.code is None or isinstance(ending.code, int):
                status = ending.code or 0
            else:
                print(ending.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - an uncaught exception, as the interpreter prints it
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status & 0xFF)
