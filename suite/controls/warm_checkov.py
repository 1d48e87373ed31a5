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
import importlib.util
import os
import socket
import sys
import types
from pathlib import Path

# localaws/forked_scripts.py, by its file name: this interpreter is checkov's, without the project on its path
_spec = importlib.util.spec_from_file_location(
    "localaws_forked_scripts", Path(__file__).resolve().parents[2] / "localaws" / "forked_scripts.py")
assert _spec is not None and _spec.loader is not None
forked = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(forked)


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


def _scan(script: str, argv: list, cwd: str, streams: list, captured: list) -> None:
    """In the forked scan: become `python SCRIPT ARGS` in `cwd`. Never returns."""
    imported_with = sys.argv[1:]
    for function in captured:  # as the scan's own import would have read them
        function.__defaults__ = tuple(list(argv[1:]) if value == imported_with else value
                                      for value in function.__defaults__)
    import tempfile
    tempfile.tempdir = None  # as a fresh interpreter: found again from TMPDIR when first asked
    sys.argv = list(argv)
    forked.run_as_main(script, streams, cwd)


def _supervise(connection: socket.socket, script: str, environment: dict, captured: list) -> None:
    """In the supervisor: check the request, fork its scan, answer its pid and then its status."""
    request, fds = forked.request(connection, 2)
    try:
        argv = request["argv"]
        refused = (f"{len(fds)} file descriptors, not the output and the error" if len(fds) != 2
                   else f"this process runs {script}, not {argv[:1]}" if argv[:1] != [script]
                   else "another environment than the one checkov was imported in"
                   if request["environment"] != environment else "")
        if refused:
            forked.answer(connection, refused=refused)
            return
        pid = os.fork()
        if pid == 0:
            connection.close()
            _scan(script, argv, request["cwd"], fds, captured)
    finally:
        for fd in fds:
            os.close(fd)
    forked.until_ended(connection, pid)


def main(socket_path: str, script: str) -> None:
    environment = dict(os.environ)  # as started: checkov's import adds variables of its own
    import checkov.main  # noqa: F401 - the import every scan shares
    captured = _argv_defaults(sys.argv[1:])
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    forked.serve(listener, lambda connection: _supervise(connection, script, environment, captured))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
