"""The local AWS's side of the Lambda runtime's zygote (localaws/functions/runtime_zygote.py): started once, at the
first execution environment (or by the preloaded process, before it forks its servers: `share`), then asked for
each environment's runtime through a connection the environment's bootstrap is given (`connection`).

The zygote listens on an abstract unix socket of this machine's network namespace, made here and passed to it, so
nothing of it is in any file system; it is tied to the thread that started it (the spawner thread, or the preloaded
process's main thread) and dies with it. Where it cannot start or answer, environments start their runtime
themselves, as before.
"""
from __future__ import annotations

import socket
import subprocess
import threading
import uuid

from localaws import processes
from localaws.functions import sandbox as lambda_sandbox

# What the zygote's interpreter starts with: the loading variables of a function's environment
# (localaws/ext/lambda_runtime.py): one that sets others is refused, and starts its runtime itself.
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin", "LANG": "C.UTF-8"}

_address: str | None = None  # this process's zygote (inherited by the servers a preloaded process forks)
_lock = threading.Lock()


def _start(spawn: bool) -> str:
    """A zygote listening on a new abstract address (its import takes a fraction of a second: connections wait)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address = f"\0localaws-lambda-zygote-{uuid.uuid4().hex}"
    try:
        listener.bind(address)
        listener.listen(64)
        argv = lambda_sandbox.zygote_command(listener.fileno())
        if spawn:  # from the spawner thread, which outlives requests
            processes.spawn(argv, signal="KILL", pass_fds=(listener.fileno(),), env=ENVIRONMENT,
                            stdin=subprocess.DEVNULL)
        else:
            subprocess.Popen(processes.tied(argv, "KILL"), pass_fds=(listener.fileno(),), env=ENVIRONMENT,
                             stdin=subprocess.DEVNULL)
    finally:
        listener.close()  # the zygote's copy listens
    return address


def share() -> None:
    """The zygote for every server this (preloaded) process forks: started from its main thread, before the fork."""
    global _address
    _address = _start(spawn=False)


def connection() -> socket.socket | None:
    """A connection to this server's zygote for one environment (started at the first), or None: the environment's
    bootstrap then starts its runtime itself."""
    global _address
    try:
        with _lock:
            if _address is None:
                _address = _start(spawn=True)
        connected = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connected.connect(_address)
        except OSError:
            connected.close()
            raise
        return connected
    except OSError:  # no bwrap, a zygote that ended: nothing is lost, the runtime starts in its sandbox
        return None
