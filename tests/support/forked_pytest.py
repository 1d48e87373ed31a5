"""The suite run in a pytest of its own, forked from a process that has imported pytest and the suite's libraries.

The self-tests run the suite well over a hundred times in a separate pytest. A fresh interpreter spends about a
second of CPU on each (its start, pytest, boto3, paramiko, cryptography...), and the project's tests are CPU-bound.
A run forked from multiprocessing's forkserver, which imported those once (`PRELOADED`), is what
`python -m pytest ARGS` started in `cwd` with `env` would be: its own process (its own pid, signal handlers and
process tree), arguments, environment, working directory and `sys.path[0]`, its output captured, its exit status.
Never preloaded: what pytest rewrites the asserts of (conftests, test modules, the suite's plugins, installed
pytest plugins such as pytest-html), nor the suite's modules, some of which read their environment as they load:
a forked run imports them as a fresh one does. Of the project's own, only what shares botocore's loaded models
(tests/support/preloaded_aws_models.py), which reads nothing from the environment.
Self-tests that watch a run's processes, signals or terminal start `python -m pytest` itself instead.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

PRELOADED = (
    "pytest", "_pytest.python", "_pytest.fixtures", "_pytest.junitxml", "_pytest.terminal", "_pytest.pytester",
    "_pytest.faulthandler", "_pytest.helpconfig", "_pytest.pastebin", "_pytest.setuponly", "_pytest.setupplan",
    "_pytest.skipping", "_pytest.threadexception", "_pytest.tracemalloc", "_pytest.unittest",
    "_pytest.unraisableexception", "_pytest.warnings", "pdb", "tomllib",
    "pluggy", "execnet", "jinja2", "pygments.lexers.python", "pygments.formatters.terminal",
    "boto3", "boto3.session", "botocore.session", "botocore.client", "botocore.loaders", "botocore.credentials",
    "s3transfer.manager", "urllib3", "paramiko", "pymysql", "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "yaml", "psutil", "tenacity", "websockets.sync.client", "dateutil.parser", "configparser", "email.message",
    "xml.etree.ElementTree", "concurrent.futures", "json", "tarfile", "ssl", "http.client",
    "tests.support.preloaded_aws_models",  # it reads the services' models with boto3
    "tests.support.frozen_heap",  # last: freezes what the others imported
)
_forkserver = multiprocessing.get_context("forkserver")
_forkserver.set_forkserver_preload(list(PRELOADED))


def _pytest_main(args: list[str], cwd: str, env: dict[str, str], stdout: str, stderr: str) -> None:
    """In the forked process: become `python -m pytest ARGS` in `cwd` with `env`, then exit with its status."""
    for fd, path in ((1, stdout), (2, stderr)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdout = open(1, "w", closefd=False, encoding="utf-8", errors="backslashreplace")
    sys.stderr = open(2, "w", closefd=False, encoding="utf-8", errors="backslashreplace")
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # As a fresh interpreter's: the working directory (`python -m`), then PYTHONPATH's, then the rest.
    extra = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = [cwd, *extra, *(entry for entry in sys.path[1:] if entry not in extra)]
    sys.argv = [sys.executable, "-m", "pytest", *args]
    import pytest
    try:
        status = int(pytest.main(args))
    finally:
        atexit._run_exitfuncs()  # an interpreter's exit would run them; multiprocessing ends the process with _exit
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(status)


def run_pytest(args: Sequence[str], cwd: Path | str, env: Mapping[str, str],
               timeout: float) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, -m, pytest, *args], cwd=, env=, capture_output=True, text=True, timeout=)`, forked:
    its output (decoded as UTF-8) and status; on timeout the run is killed and TimeoutExpired raised."""
    with tempfile.TemporaryDirectory(prefix="forked-pytest-") as folder:
        stdout, stderr = Path(folder, "stdout"), Path(folder, "stderr")
        run = _forkserver.Process(target=_pytest_main, args=(list(args), str(cwd), dict(env), str(stdout), str(stderr)))
        run.start()
        try:
            run.join(timeout)
            if run.exitcode is None:
                raise subprocess.TimeoutExpired(["pytest", *args], timeout)
        finally:
            if run.exitcode is None:  # timed out, or the caller interrupted: the run goes too (as subprocess.run's)
                run.kill()
                run.join()
            status = run.exitcode
            run.close()
        return subprocess.CompletedProcess(["pytest", *args], status,
                                           stdout.read_text(errors="replace") if stdout.exists() else "",
                                           stderr.read_text(errors="replace") if stderr.exists() else "")
