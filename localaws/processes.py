"""Every process the local AWS starts dies with the process that started it, however that
one ends (SIGKILL included), so nothing outlives a run.

The kernel's parent-death signal does it (PR_SET_PDEATHSIG, set by util-linux's `setpriv
--pdeathsig`; in a sandbox, bubblewrap's `--die-with-parent` ties its processes to bwrap, and
setpriv ties bwrap, which would otherwise outlive a sandbox whose process has already gone). It fires when the
*thread* that started the process exits, and the local AWS serves each request on a
short-lived thread: long-lived processes (databases, sandboxes) are therefore started from
one long-lived thread (`spawn`); a process its caller waits for (a Lambda invocation) is
tied to the caller's thread (`run`). The server itself is tied to the suite the same way.
"""
from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from localaws.system_tools import require_tool

_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="process-spawner")


def tied(command: Sequence[str], signal: str = "TERM") -> list[str]:
    """`command`, to be signalled `signal` when the thread that starts it exits."""
    return [require_tool(["setpriv"], "util-linux"), "--pdeathsig", signal, "--", *command]


def spawn(command: Sequence[str], *, signal: str | None = "TERM", **popen: Any) -> subprocess.Popen[bytes]:
    """Start a long-lived process from the long-lived spawner thread, tied to it by `signal`
    (None: not tied; nothing in the local AWS uses that)."""
    argv = tied(command, signal) if signal else list(command)
    started: subprocess.Popen[bytes] = _SPAWNER.submit(lambda: subprocess.Popen(argv, **popen)).result()
    return started


def run(command: Sequence[str], *, signal: str = "KILL", **run_kwargs: Any) -> subprocess.CompletedProcess:
    """subprocess.run, the process tied to this thread (which waits for it)."""
    return subprocess.run(tied(command, signal), **run_kwargs)
