#!/usr/bin/python3
"""Where an instance's CLI daemon (daemon.py) comes from: a process that imported the CLI once for every sandbox
of a local AWS (and of every run forked from one preloaded local AWS), forked into the caller's sandbox.

A daemon started in its sandbox imports the CLI itself (0.7 s of CPU), and most serve one or two calls: an
instance's boot calls the CLI as root, the checks as ec2-user. Here, outside the sandboxes, as root, with Debian's
Python (started by localaws/hosts/warm_cli/__init__.py):
- `zygotes.py manager SOCKET` takes aws.py's requests on SOCKET (bound into each sandbox) and hands each to the
  zygote of its loading environment (what the CLI's modules read as they load: aws.py's LOADING_*), started at the
  first request that has it;
- a zygote (`python3 -s /dev/fd/SCRIPT CHANNEL:---`, padded to a daemon's command line's length), started with
  exactly that environment, imports daemon.py (the CLI with it) once, then forks a process for each request that
  enters the caller's sandbox as `nsenter` does (its namespaces and root, found from the connection's peer) and
  becomes its user (user, groups, and the no-new-privileges flag bwrap sets), then forks the daemon there, with the
  caller's environment, umask and command line (`/usr/bin/python3 /run/localaws/aws-cli-daemon.py NAME`, as aws.py
  would start it).
A request is refused (aws.py then starts the daemon in the sandbox, as before) whenever the daemon would not be what
a start there makes: an interpreter that starts otherwise (its flags, module path, a user's site-packages included,
locale, the sandbox's OpenSSL configuration or time zone), a process that differs from the caller's (capabilities,
seccomp, resource limits it cannot take, namespaces not entered), or a loading environment with a PYTHON* variable
(a process outside the sandboxes never reads code from where a caller says).
"""
import ctypes
import functools
import importlib.machinery
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))  # a zygote runs this file as /dev/fd/N
AWS_FILE = os.path.join(HERE, "aws.py")
NAMESPACES = ("ipc", "uts", "net", "pid", "mnt")  # entered in this order: the mount namespace (and root) last
SHARED_NAMESPACES = ("user", "cgroup", "time")  # not entered: the caller's must be this process's
# What must be the caller's in the daemon's process, as /proc/PID/status says it.
SAME_STATUS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 38, 4
# A daemon's command line, as aws.py starts one (NAME: "localaws-aws-cli-" and 32 hexadecimal digits). A zygote's
# own is made as long (its memory is the daemon's command line: overwritten in place, no privilege needed).
DAEMON_ARGV = ("/usr/bin/python3", "/run/localaws/aws-cli-daemon.py", "localaws-aws-cli-" + 32 * "0")
COMMAND_LINE_LENGTH = sum(len(argument) + 1 for argument in DAEMON_ARGV)
SETPRIV = "/usr/bin/setpriv"  # util-linux's (the zygotes' environment has no PATH)
_libc = ctypes.CDLL(None, use_errno=True)


@functools.cache
def _aws_module():
    """aws.py, the stub (loaded once): its facts() and loading variables are what a request is compared with."""
    return importlib.machinery.SourceFileLoader("localaws_aws_cli_stub", AWS_FILE).load_module()


# --- the manager
def manager(socket_path: str) -> None:
    os.chdir(os.path.dirname(socket_path))  # a relative name: a deep state folder would pass unix sockets' 107 bytes
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.basename(socket_path))
    os.chmod(os.path.basename(socket_path), 0o666)  # every user of a sandbox asks (the zygote checks who)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    zygotes = {}  # loading environment (JSON) -> its channel
    while True:
        connection, _ = listener.accept()
        with connection:
            try:
                connection.settimeout(10)
                request = json.loads(connection.makefile("rb").readline())
                pid, uid, gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                          struct.calcsize("3i")))
                pidfd = os.pidfd_open(pid)
            except (OSError, ValueError):
                continue
            try:
                environment = _zygote_environment(request["loading"])
                key = json.dumps(sorted(environment.items()))
                message = json.dumps({**request, "peer": [pid, uid, gid]}).encode()
                for _ in range(2):  # a zygote that ended is started again
                    if key not in zygotes:
                        zygotes[key] = _start_zygote(environment)
                    try:
                        socket.send_fds(zygotes[key], [message], [connection.fileno(), pidfd])
                        break
                    except OSError:
                        zygotes.pop(key).close()
            except Exception as error:  # noqa: BLE001 - the caller starts its daemon itself
                _answer(connection, {"refused": f"no zygote: {error}"})
            finally:
                os.close(pidfd)


def _zygote_environment(loading: list) -> dict:
    """What a zygote is started with: only the variables the CLI's modules read as they load, never one that would
    make a process outside the sandboxes run code or read modules from a path the caller names (PYTHONPATH,
    PYTHONSTARTUP...; a user's site-packages is not read either: `python3 -s`, its sys.path compared)."""
    stub = _aws_module()
    environment = {}
    for name, value in loading:
        if not (name in stub.LOADING_VARIABLES or name.startswith(stub.LOADING_PREFIXES)) or name.startswith("PYTHON"):
            raise RuntimeError(f"{name} in the environment")
        environment[name] = value
    return environment


def _start_zygote(environment: dict) -> socket.socket:
    """A zygote: `python3 -s /dev/fd/SCRIPT CHANNEL:` and padding to a daemon's command line's length (no path of
    this machine in it: the daemons show it in their sandboxes until they rewrite it)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    script = os.open(os.path.join(HERE, "zygotes.py"), os.O_RDONLY)
    argv = ["/usr/bin/python3", "-s", f"/dev/fd/{script}", f"{theirs.fileno()}:"]
    argv[-1] += "-" * (COMMAND_LINE_LENGTH - sum(len(argument) + 1 for argument in argv))
    try:  # setpriv: it ends with this manager, however that ends
        subprocess.Popen([SETPRIV, "--pdeathsig", "KILL", "--", *argv], env=environment,
                         pass_fds=(script, theirs.fileno()), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd="/")
    finally:
        os.close(script)
        theirs.close()
    return ours


def _answer(connection: socket.socket, answer: dict) -> None:
    try:
        connection.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:
        pass


# --- a zygote
def zygote(channel_fd: int) -> None:
    os.close(int(sys.argv[0].rsplit("/", 1)[1]))  # this script's file, read: not the daemons' to keep
    sys.path[0] = "/run/localaws"  # a daemon's, started as /run/localaws/aws-cli-daemon.py
    facts = json.loads(json.dumps(_aws_module().facts()))
    daemon = importlib.machinery.SourceFileLoader("localaws_aws_cli_daemon", os.path.join(HERE, "daemon.py")
                                                  ).load_module()
    channel = socket.socket(fileno=channel_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 2)
        if not message:
            return  # the manager ended
        if len(fds) == 2 and os.fork() == 0:
            channel.close()
            try:
                _serve(json.loads(message), facts, daemon, socket.socket(fileno=fds[0]), fds[1])
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)


def _serve(request: dict, facts: list, daemon, connection: socket.socket, pidfd: int) -> None:
    """In a process of its own: the daemon the request asks for, started in the caller's sandbox as its user."""
    try:
        if request["facts"] != facts:
            raise RuntimeError("the daemon's interpreter would start otherwise here")
        pid = request["peer"][0]
        proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)  # this machine's, read from here on, in any root
        status = _status(pid, proc)
        if any(os.stat(f"{pid}/ns/{kind}", dir_fd=proc).st_ino != os.stat(f"self/ns/{kind}", dir_fd=proc).st_ino
               for kind in SHARED_NAMESPACES if os.path.exists(f"/proc/self/ns/{kind}")):
            raise RuntimeError("the caller is in a user, cgroup or time namespace of its own")
        entries = [os.open(f"{pid}/ns/{kind}", os.O_RDONLY, dir_fd=proc) for kind in NAMESPACES]
        root = os.open(f"{pid}/root", os.O_RDONLY | os.O_DIRECTORY, dir_fd=proc)
        limits = _read(f"{pid}/limits", proc)
        _rewrite_command_line([*DAEMON_ARGV[:2], request["name"]], _read("self/stat", proc))
        signal.pidfd_send_signal(pidfd, 0)  # still the process that asked: the namespaces and status are its own
        for entry in entries:
            _check(_libc.setns(entry, 0), "setns")
        _take_limits(limits)
        os.fchdir(root)
        os.chroot(".")
        os.chdir("/")
        for fd in (*entries, root, pidfd):
            os.close(fd)
        uids, gids = (tuple(int(n) for n in status[field].split()[:3]) for field in ("Uid", "Gid"))
        os.setgroups([int(group) for group in status["Groups"].split()])
        os.setresgid(*gids)
        os.setresuid(*uids)
        # Dumpable again (a change of user clears it; an exec'd process is): its /proc files its user's, as a
        # daemon started there has them.
        _prctl(PR_SET_DUMPABLE, 1)
        if status["NoNewPrivs"] == "1":
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
        mine = _status("self", proc)
        differ = [field for field in SAME_STATUS if mine.get(field) != status.get(field)]
        if limits != _read("self/limits", proc):
            differ.append("limits")
        os.close(proc)
        if differ:
            raise RuntimeError(f"the daemon's process would differ from the caller's: {', '.join(differ)}")
        ready_read, ready_write = os.pipe()
        if os.fork() == 0:  # in the caller's PID namespace; forked again, the daemon is its init's child there
            if os.fork() != 0:
                os._exit(0)
            os.close(ready_read)
            connection.close()
            _become_daemon(request, daemon, ready_write)
        os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:
            if ready.read(1) != b"1":
                raise RuntimeError("the daemon did not start")
        _answer(connection, {"started": True})
    except Exception as error:  # noqa: BLE001 - the caller starts its daemon itself
        _answer(connection, {"refused": str(error)})


def _become_daemon(request: dict, daemon, ready_write: int) -> None:
    try:
        os.setsid()
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)  # no other: the libraries' own (OpenSSL's random device) stay theirs
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.update(daemon.IMPORT_SET)
        for name in daemon.IMPORT_UNSET:
            os.environ.pop(name, None)
        sys.argv = ["/run/localaws/aws-cli-daemon.py", request["name"]]
        def listening() -> None:
            os.write(ready_write, b"1")
            os.close(ready_write)

        daemon.main(request["name"], listening=listening)
    finally:
        os._exit(0)


def _take_limits(limits: str) -> None:
    """The caller's resource limits (/proc/PID/limits), as a process it starts inherits them: set where they may be
    (lowered; a hard limit raised would need a privilege the sandbox's root may not have either)."""
    for number, line in enumerate(limits.splitlines()[1:]):  # Linux lists them by number (RLIMIT_CPU is 0)
        soft, hard = line[26:47].strip(), line[47:68].strip()
        low, high = (resource.RLIM_INFINITY if value == "unlimited" else int(value) for value in (soft, hard))
        wanted = (low, high)
        if resource.getrlimit(number) != wanted:
            try:
                resource.setrlimit(number, wanted)
            except (OSError, ValueError):
                pass  # left as it is: the comparison that follows refuses the request


def _status(pid, proc: int) -> dict:
    """/proc/PID/status (PID: a number or "self"; `proc`: /proc, opened), by field."""
    fields = {}
    for line in _read(f"{pid}/status", proc).splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _read(path: str, proc: int) -> str:
    """A file of /proc (`proc`, opened), by its path there."""
    with open(os.open(path, os.O_RDONLY, dir_fd=proc)) as handle:
        return handle.read()


def _rewrite_command_line(argv: list, stat: str) -> None:
    """This process's command line as /proc shows it, in the memory the kernel reads it from (its length kept)."""
    fields = stat.rsplit(")", 1)[1].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start and arg_end: the 48th and 49th fields
    data = b"".join(argument.encode() + b"\0" for argument in argv)
    if len(data) != end - start:
        raise RuntimeError("the daemon's command line would differ")
    ctypes.memmove(start, data, len(data))


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)),
           "prctl")


def _check(result: int, call: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{call}: {os.strerror(number)}")


if __name__ == "__main__":
    if sys.argv[1] == "manager":
        manager(sys.argv[2])
    else:  # a zygote: /dev/fd/SCRIPT CHANNEL:---
        zygote(int(sys.argv[1].split(":")[0]))
