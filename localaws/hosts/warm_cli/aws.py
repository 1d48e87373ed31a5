#!/usr/bin/python3
"""The AWS CLI of the local AWS's instances (their /usr/bin/aws): Debian's awscli, started warm.

Debian's /usr/bin/aws imports the CLI (about 800 modules, 0.8 s of CPU) and calls its main(). Here the same
main() runs, in a process forked from a daemon that imported the CLI once (daemon.py, one per user, set of
groups, Python start-up environment and sandbox), so a call costs a fraction of that. What the call does is the
CLI's own: its session, configuration, credentials (the instance's role, from its metadata) and requests are made
in the forked process, from this call's arguments, environment, working directory, umask and standard streams
(passed as they are). A user's daemon is forked from the local AWS's zygote for its loading environment, which
imported the CLI once for all the sandboxes (zygotes.py), or else started here. This process stays for the call,
with its own command line, and ends as the CLI's process does (its exit status, or the signal that ended it); the
signals it gets go to the CLI.
Run as Debian's script runs it (in this process, "cold") when a warm run would differ from it: a standard stream
that is a terminal (the CLI's pager and prompts want the controlling terminal), a stream that is not open, or no
daemon that will serve this user.
"""
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

if os.environ.get("LC_CTYPE", "") == "UTF-8":  # as Debian's /usr/bin/aws does first
    os.environ["LC_CTYPE"] = "en_US.UTF-8"

DAEMON = "/run/localaws/aws-cli-daemon.py"
ZYGOTES = "/run/localaws/aws-cli-zygotes/socket"  # the local AWS's zygotes.py, where it offers one
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# What the interpreter and the CLI's modules read from the environment as they load (in the daemon, once): a
# daemon serves only calls that agree on these.
LOADING_VARIABLES = ("HOME", "LANG", "LANGUAGE", "UNIXCONFDIR", "UNIXUSRLIBDIR", "APPENGINE_RUNTIME", "RUAMELDEBUG")
LOADING_PREFIXES = ("PYTHON", "LC_", "AWS_")
DAEMON_START = 60.0  # seconds a new daemon may take to import the CLI (a loaded machine: several)
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def cold() -> None:
    import awscli.clidriver

    sys.exit(awscli.clidriver.main())


def start_environment() -> dict[str, str]:
    """The environment this interpreter was started with: a C locale it coerced (PEP 538) has set LC_CTYPE itself
    (and turned on UTF-8 mode), as an interpreter started without it does again."""
    environment = dict(os.environ)
    if sys.flags.utf8_mode and environment.get("LC_CTYPE") == "C.UTF-8" and "PYTHONUTF8" not in environment:
        del environment["LC_CTYPE"]
    return environment


def loading_at_start() -> list[list[str]]:
    return [[name, value] for name, value in sorted(start_environment().items())
            if name in LOADING_VARIABLES or name.startswith(LOADING_PREFIXES)]


def daemon_name() -> bytes:
    """The abstract socket of the daemon for this caller: its user, groups, sandbox and loading environment."""
    namespaces = [os.stat(f"/proc/self/ns/{kind}").st_ino for kind in ("pid", "mnt", "net")]
    key = json.dumps([os.getuid(), os.getgid(), sorted(os.getgroups()), namespaces, loading_at_start(),
                      sys.executable])
    return b"\0localaws-aws-cli-" + hashlib.sha256(key.encode()).hexdigest()[:32].encode()


def facts() -> list:
    """What makes a daemon's interpreter start as it does in this sandbox besides the loading environment:
    zygotes.py compares its own with them."""
    import locale

    def content(path: str) -> str | None:
        try:
            with open(path, "rb") as handle:
                return hashlib.sha256(handle.read()).hexdigest()
        except OSError:
            return None

    # A zygote starts with -s (never a user's site-packages): the module path says whether this one has any.
    flags = [value for name, value in zip(sys.flags.__match_args__, sys.flags) if name != "no_user_site"]
    return [sys.executable, flags, sys.path[1:], sys.getfilesystemencoding(),
            locale.setlocale(locale.LC_CTYPE), [content(path) for path in ("/etc/ssl/openssl.cnf", "/etc/localtime")]]


def connected(name: bytes) -> socket.socket | None:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(name)
    except OSError:
        client.close()
        return None
    return client


def forked_daemon(name: bytes) -> bool:
    """A daemon forked from the local AWS's zygote for this loading environment (zygotes.py), which imported the
    CLI already: True once it serves. Never with credentials in the environment (the zygote would hold them)."""
    loading = loading_at_start()
    if not os.path.exists(ZYGOTES) or any(variable in CREDENTIALS for variable, _ in loading):
        return False
    request = {"name": name[1:].decode(), "loading": loading, "env": dict(os.environ), "umask": _umask(),
               "facts": facts()}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
            channel.settimeout(DAEMON_START)
            channel.connect(ZYGOTES)
            channel.sendall(json.dumps(request).encode() + b"\n")
            answer = channel.makefile("rb").readline()
        return bool(json.loads(answer or b"{}").get("started"))
    except (OSError, ValueError):
        return False


def daemon_connection(name: bytes) -> socket.socket | None:
    """A connection to this caller's daemon, started first if there is none (None: no daemon will serve)."""
    client = connected(name)
    if client is not None:
        return client
    if forked_daemon(name):
        return connected(name)
    try:
        daemon = subprocess.Popen([sys.executable, DAEMON, name[1:].decode()], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
                                  start_new_session=True, env=start_environment())
    except OSError:  # no daemon can start here: the call runs cold
        return None
    deadline = time.monotonic() + DAEMON_START
    while time.monotonic() < deadline:
        client = connected(name)
        if client is not None:
            return client
        if daemon.poll() not in (None, 0):  # it could not start (0: another caller's daemon took the name)
            return None
        time.sleep(0.02)
    return None


def warm() -> int | None:
    """The CLI's exit status (negative: the signal that ended it), or None when it did not run warm."""
    if any(os.isatty(fd) for fd in (0, 1, 2)):
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
        # The CLI's process takes these signals' dispositions from this one (ignored, or as the interpreter sets them).
        signals = {number: signal.getsignal(number) == signal.SIG_IGN for number in FORWARDED}
        call = json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(), "umask": _umask(),
                           "ignored": signals}).encode()
    except OSError:
        return None
    client = daemon_connection(daemon_name())
    if client is None:
        return None
    with client:
        try:
            socket.send_fds(client, [struct.pack("!I", len(call))], [0, 1, 2])
            client.sendall(call)
            answers = client.makefile("rb")
            answer = answers.readline()
        except OSError:
            return None
        if not answer:
            return None
        verdict = json.loads(answer)
        if "refused" in verdict:
            return None
        # From here the CLI runs: the signals this process gets go to it (those it ignores, it ignores too).
        for number, ignored in signals.items():
            if not ignored:
                signal.signal(number, lambda received, _frame: client.sendall(b"%d\n" % received))
        answer = answers.readline()
    if not answer:
        sys.stderr.write("aws: the local AWS's CLI daemon ended before the command did\n")
        return 255
    return int(json.loads(answer)["status"])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main() -> None:
    status = warm()
    if status is None:
        cold()
        return
    if status < 0:  # ended by a signal: so does this process, as the CLI's would have
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status)


if __name__ == "__main__":
    main()
