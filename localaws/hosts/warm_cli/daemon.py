#!/usr/bin/python3
"""The daemon behind the local AWS's warm AWS CLI (aws.py): Debian's CLI imported once, forked for each call.

Usage (by aws.py): python3 daemon.py NAME, with the environment of the call that starts it; it serves the abstract
unix socket NAME in its sandbox's network namespace until its sandbox ends. Each connection is a call: a handler
process checks that the caller is this daemon's user with its groups (anything else is refused: the caller runs
the CLI itself), takes the call's streams, arguments, environment, working directory and umask, and forks the
CLI's process, which runs `awscli.clidriver.main()` as Debian's /usr/bin/aws does, then ends as a Python
interpreter ends (atexit, streams flushed: status 120 when that fails). The handler forwards the signals the caller
sends, kills the CLI if the caller goes away, and answers its exit status.
"""
import atexit
import json
import os
import select
import signal
import socket
import struct
import sys

ENVIRONMENT_AT_START = dict(os.environ)
# The start-up a warm call saves: Debian's /usr/bin/aws imports the driver first, and its main() the handlers (every
# customization of the CLI's commands). Their loading reads only the variables aws.py keys a daemon on.
import awscli.clidriver  # noqa: E402
import awscli.handlers  # noqa: E402,F401

# What importing the CLI does to its environment (awscli adds its data folder to AWS_DATA_PATH): a call's
# environment gets the same, as its own import would have done.
IMPORT_SET = {name: value for name, value in os.environ.items() if ENVIRONMENT_AT_START.get(name) != value}
IMPORT_UNSET = set(ENVIRONMENT_AT_START) - set(os.environ)


def main(name: str, listening=None) -> None:
    """Serve NAME; `listening()` is called once it does (zygotes.py waits for it)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(b"\0" + name.encode())
    except OSError:  # another caller's daemon serves this name already
        sys.exit(0)
    listener.listen(64)
    if listening is not None:
        listening()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                handle(connection)
            finally:
                os._exit(0)
        connection.close()


def handle(connection: socket.socket) -> None:
    peer_pid, peer_uid, peer_gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                             struct.calcsize("3i")))
    if (peer_uid, peer_gid) != (os.getuid(), os.getgid()) or peer_groups(peer_pid) != set(os.getgroups()):
        connection.sendall(b'{"refused": "another user or set of groups"}\n')
        return
    header, fds, _, _ = socket.recv_fds(connection, 4, 3)
    if len(header) < 4 or len(fds) != 3:
        return
    size = struct.unpack("!I", header)[0]
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            return
        data += chunk
    call = json.loads(data)
    connection.sendall(b'{"accepted": true}\n')
    cli = os.fork()
    if cli == 0:
        connection.close()
        run_cli(call, fds)
    for fd in fds:
        os.close(fd)
    status = watch(connection, cli)
    if status is not None:
        connection.sendall(json.dumps({"status": status}).encode() + b"\n")


def peer_groups(pid: int) -> set[int] | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Groups:"):
                    return {int(group) for group in line.split()[1:]}
    except OSError:
        pass
    return None


def watch(connection: socket.socket, cli: int) -> int | None:
    """Forward the caller's signals to the CLI until it ends: its exit status (negative: its signal), or None
    when the caller went away first (the CLI is killed, as a process whose caller is gone would be)."""
    pidfd = os.pidfd_open(cli)
    pending = b""
    while True:
        ready, _, _ = select.select([connection.fileno(), pidfd], [], [])
        if pidfd in ready:
            _, status = os.waitpid(cli, 0)
            return os.waitstatus_to_exitcode(status)
        chunk = connection.recv(64)
        if not chunk:
            os.kill(cli, signal.SIGKILL)
            os.waitpid(cli, 0)
            return None
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                os.kill(cli, int(line))
            except (ValueError, ProcessLookupError):
                pass


def run_cli(call: dict, fds: list[int]) -> None:
    """In the CLI's process: become the call's `aws`, run the CLI, end as its interpreter would."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    status: object = 0
    try:
        os.chdir(call["cwd"])
        os.umask(call["umask"])
        os.environ.clear()
        os.environ.update(call["env"])
        os.environ.update(IMPORT_SET)
        for name in IMPORT_UNSET:
            os.environ.pop(name, None)
        sys.argv = ["/usr/bin/aws", *call["argv"]]
        for number, ignored in call["ignored"].items():  # the signals aws.py forwards
            # As the interpreter starts: what the caller ignores stays ignored, SIGINT raises KeyboardInterrupt.
            signal.signal(int(number), signal.SIG_IGN if ignored else
                          signal.default_int_handler if int(number) == signal.SIGINT else signal.SIG_DFL)
        status = awscli.clidriver.main()
    except SystemExit as ended:
        status = ended.code
    except BaseException:  # as the interpreter reports an uncaught exception
        import traceback
        traceback.print_exc()
        status = 1
    if status is None:
        status = 0
    elif not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = 120 if status == 0 else status
    os._exit(int(status) & 0xFF)


if __name__ == "__main__":
    main(sys.argv[1])
