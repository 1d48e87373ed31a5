"""The Lambda runtime's zygote: one process that imported the runtime's libraries (boto3 and its dependencies) once,
from which each execution environment's runtime is forked into that environment's sandbox.

A runtime started in its sandbox spends about 0.3 s of CPU importing boto3 before the function's module, and nearly
every environment's function imports it. The zygote runs in a sandbox of its own with the runtime's files where an
environment has them (/var/runtime: localaws/functions/sandbox.py), so every module it imported has the path it
would have in an environment. It is `python -I -S /tmp/runtime_zygote.py LISTENER_FD`, listening on an inherited
socket: the local AWS connects to it for each environment it starts and hands the connection to that environment's
bootstrap (localaws/functions/bootstrap.py, `--forked-from FD`), which sends its pid, arguments, environment,
working folder, umask, how its interpreter started and what its code folder holds, with its standard streams.
For each connection a supervisor process enters the environment's network and mount namespaces and its root, as
`nsenter` does, and forks the runtime there: bootstrap.py run as `__main__` with the environment's arguments,
environment and streams, what the bootstrap would have gone on to do itself, the libraries already imported. The
supervisor answers the runtime's pid, then its exit status, and kills it when the bootstrap ends first.
Refused (the bootstrap then starts the runtime itself): an interpreter that started otherwise (flags, module path,
encodings, locale), a code folder holding a module the zygote's imports looked for (the function's own boto3, say:
it comes first on the runtime's module path), a loading environment of its own (locale or time zone variables), or a
process that would differ from the bootstrap's (namespaces, capabilities, user, limits).
"""
import ctypes
import importlib.util
import os
import signal
import socket
import sys

RUNTIME = "/var/runtime"
BOOTSTRAP = RUNTIME + "/bootstrap.py"
# localaws/forked_scripts.py: beside this file in the zygote's sandbox (both bound in /tmp), a folder up in the project
_HERE = os.path.dirname(os.path.abspath(__file__))
FORKED_SCRIPTS = next(path for path in (os.path.join(_HERE, "forked_scripts.py"),
                                        os.path.join(os.path.dirname(_HERE), "forked_scripts.py"))
                      if os.path.exists(path))
LOADING = ("LANG", "LANGUAGE", "TZ")  # besides LC_*: what an interpreter or its imports read as they start
ENTERED = ("net", "mnt")  # the namespaces bwrap makes an environment (--unshare-net; a mount namespace always)
SAME = ("ipc", "uts", "pid", "user", "cgroup", "time", *ENTERED)
SAME_STATUS = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _loaded(name: str, path: str):
    """A module by its file name, kept out of sys.modules (a forked runtime's are the bootstrap's and boto3's)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


forked = _loaded("localaws_forked_scripts", FORKED_SCRIPTS)


class _Looked:
    """A finder that finds nothing: every top-level module an import looks for, found or not."""

    def __init__(self) -> None:
        self.names: set = set()

    def find_spec(self, name, path=None, target=None):
        self.names.add(name.split(".")[0])
        return None


def _loading(environment: dict) -> dict:
    return {key: value for key, value in environment.items() if key in LOADING or key.startswith("LC_")}


def _status(pid: object) -> dict:
    with open(f"/proc/{pid}/status") as status:
        lines = dict(line.rstrip("\n").split(":", 1) for line in status if ":" in line)
    return {key: lines.get(key, "").strip() for key in SAME_STATUS}


def _limits(pid: object) -> str:
    with open(f"/proc/{pid}/limits") as limits:
        return limits.read()


def _enter(pid: int) -> str:
    """Into the environment's namespaces and root, or why not."""
    for kind in SAME:
        if kind not in ENTERED and os.readlink(f"/proc/{pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}"):
            return f"its {kind} namespace is not the zygote's"
    if _status(pid) != _status("self") or _limits(pid) != _limits("self"):
        return "its process differs from the zygote's (user, capabilities, no-new-privileges, seccomp or limits)"
    namespaces = [os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY) for kind in ENTERED]
    root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY)
    for namespace in namespaces:
        if _libc.setns(namespace, 0) != 0:
            return f"setns: {os.strerror(ctypes.get_errno())}"
        os.close(namespace)
    os.fchdir(root)
    os.chroot(".")
    os.close(root)
    for kind in SAME:
        if os.readlink(f"/proc/{pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}"):
            return f"its {kind} namespace could not be entered"
    return ""


def _refusal(request: dict, facts: dict, looked: set, environment: dict) -> str:
    if request["facts"] != facts:
        differing = sorted(key for key in facts if request["facts"].get(key) != facts[key])
        return f"its interpreter started otherwise than the zygote's: {', '.join(differing)}"
    if _loading(request["environment"]) != _loading(environment):
        return "its locale or time zone variables differ from the zygote's"
    shadowing = sorted({entry.split(".")[0] for entry in request["entries"]} & looked)
    if shadowing:
        return f"its code holds {', '.join(shadowing)}, which the zygote's imports looked for"
    return ""


def _runtime(request: dict, streams: list, path: list) -> None:
    """In the forked runtime: become the bootstrap, as the environment's process would go on. Never returns."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # with its supervisor
    signal.signal(signal.SIGINT, signal.default_int_handler)  # an interpreter's, as the zygote's is not
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["environment"])
    sys.argv, sys.orig_argv, sys.path[:] = list(request["argv"]), list(request["orig_argv"]), path
    forked.run_as_main(BOOTSTRAP, streams, request["cwd"])


def _supervise(connection: socket.socket, facts: dict, looked: set, environment: dict, path: list) -> None:
    """In the supervisor: one environment's request."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # with the zygote
    request, streams = forked.request(connection, 3)
    refused = ("not its three standard streams" if len(streams) != 3
               else _refusal(request, facts, looked, environment) or _enter(int(request["pid"])))
    if refused:  # said in the local AWS's log (the function's is the environment's own)
        print(f"runtime zygote: the runtime starts in its sandbox: {refused}", file=sys.stderr, flush=True)
        forked.answer(connection, refused=refused)
        return
    pid = os.fork()
    if pid == 0:
        connection.close()
        _runtime(request, streams, path)
    for fd in streams:
        os.close(fd)
    forked.until_ended(connection, pid)


def main(listener_fd: int) -> None:
    facts = _loaded("localaws_bootstrap", BOOTSTRAP).interpreter_facts()
    path = list(sys.path)
    environment = dict(os.environ)
    looked = _Looked()
    sys.meta_path.insert(0, looked)
    sys.path.append(RUNTIME)  # after the standard library, as the bootstrap puts it
    import boto3  # noqa: F401 - the import every environment shares
    import boto3.session  # noqa: F401
    sys.meta_path.remove(looked)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the run: the zygote ends with the local AWS
    forked.serve(socket.socket(fileno=listener_fd),
                 lambda connection: _supervise(connection, facts, looked.names, environment, path))


if __name__ == "__main__":
    main(int(sys.argv[1]))
