"""checkov scans forked from one process that imported checkov once: run by checkov's interpreter, never imported
by the suite (suite/controls/static_scan.py starts it and asks it for scans).

A scan spends about 4 of its 5 to 7 CPU-seconds importing checkov (some 4,000 modules, every framework's) before it
reads the template, and the project's self-tests scan a template in a dozen runs. This process is started as a scan
is, by the same interpreter, with exactly a scan's environment and in a network namespace of its own
(`unshare -n python warm_checkov.py SOCKET SCRIPT`), and imports checkov once. For each request on SOCKET it forks
a supervisor, which forks the scan: checkov's own SCRIPT run as `__main__` with the request's arguments, working
folder, standard output and error (passed as file descriptors), what `python SCRIPT ARGS` started there would be.
The supervisor answers the scan's pid, then its exit status; when the caller closes the connection first (it stopped
the scan, or ended), the scan is killed first. A request for another script, or with another environment (checkov reads
its settings from the environment as it loads), is refused: the caller then starts checkov itself.
Request: one JSON line {"argv": [SCRIPT, ARGS...], "cwd", "environment"} with two file descriptors (output, error);
answers, a JSON line each: {"pid"} then {"status"}, or {"refused"}.
"""
import array
import json
import os
import runpy
import select
import signal
import socket
import sys
import traceback
import types

MAX_REQUEST = 1 << 20


def _request(connection: socket.socket) -> tuple[dict, list[int]]:
    """The request's JSON and the file descriptors sent with it."""
    data, fds = b"", array.array("i")
    while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
        chunk, ancillary, _, _ = connection.recvmsg(65536, socket.CMSG_SPACE(2 * fds.itemsize))
        if not chunk:
            raise EOFError("the caller went away")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        data += chunk
    return json.loads(data), list(fds)


def _answer(connection: socket.socket, **answer: object) -> None:
    connection.sendall(json.dumps(answer).encode() + b"\n")


def _argv_defaults(argv: list) -> list:
    """checkov's functions whose default arguments hold the interpreter's arguments as they were when their module
    was imported (`Checkov(argv=sys.argv[1:])`): here, this process's own."""
    found = []
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] != "checkov":
            continue
        for value in list(vars(module).values()):
            for function in (list(vars(value).values()) if isinstance(value, type) else [value]):
                if isinstance(function, types.FunctionType) and argv in (function.__defaults__ or ()):
                    found.append(function)
    return found


def _scan(script: str, argv: list, cwd: str, output: int, error: int, captured: list) -> None:
    """In the forked scan: become `python SCRIPT ARGS` in `cwd`. Never returns."""
    status = 1
    try:
        imported_with = sys.argv[1:]
        for function in captured:  # as the scan's own import would have read them
            function.__defaults__ = tuple(list(argv[1:]) if value == imported_with else value
                                          for value in function.__defaults__)
        null = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((null, 0), (output, 1), (error, 2)):
            os.dup2(source, target)
            os.close(source)
        os.chdir(cwd)
        import tempfile
        tempfile.tempdir = None  # as a fresh interpreter: found again from TMPDIR when first asked
        sys.argv = list(argv)
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


def _supervise(connection: socket.socket, script: str, environment: dict, captured: list) -> None:
    """In the supervisor: check the request, fork its scan, answer its pid and then its status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its scan is waited for, not reaped by the kernel
    request, fds = _request(connection)
    try:
        argv = request["argv"]
        refused = (f"{len(fds)} file descriptors, not the output and the error" if len(fds) != 2
                   else f"this process runs {script}, not {argv[:1]}" if argv[:1] != [script]
                   else "another environment than the one checkov was imported in"
                   if request["environment"] != environment else "")
        if refused:
            _answer(connection, refused=refused)
            return
        pid = os.fork()
        if pid == 0:
            connection.close()
            _scan(script, argv, request["cwd"], fds[0], fds[1], captured)
    finally:
        for fd in fds:
            os.close(fd)
    _answer(connection, pid=pid)
    scan = os.pidfd_open(pid)
    ready, _, _ = select.select([connection.fileno(), scan], [], [])
    if scan not in ready:  # the caller stopped the scan, or ended: the scan goes too
        os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    try:
        _answer(connection, status=os.waitstatus_to_exitcode(wait_status))
    except OSError:  # the caller ended
        pass


def main(socket_path: str, script: str) -> None:
    environment = dict(os.environ)  # as started: checkov's import adds variables of its own
    import checkov.main  # noqa: F401 - the import every scan shares
    captured = _argv_defaults(sys.argv[1:])

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the supervisors, reaped by the kernel
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            status = 0
            try:
                listener.close()
                _supervise(connection, script, environment, captured)
            except BaseException:  # noqa: BLE001 - said in this process's log; the caller sees the connection close
                traceback.print_exc()
                status = 1
            finally:
                os._exit(status)
        connection.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
