"""localaws/preloaded.py: local AWS servers forked from one process that imported moto once.

Such a server must behave as one its run launched itself: it serves, its run stops it, and it ends with its
run however the run ends (SIGKILL too), as the parent-death signal ends a launched one (localaws/processes.py).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from localaws.network import addresses
from localaws.preloaded import ForkedServer
from localaws.service import LocalAWS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def preloaded(preloaded_local_aws: str) -> str:
    """The session's preloaded process (tests/conftest.py), serving: here its absence is the failure."""
    socket_path = Path(preloaded_local_aws)
    deadline = time.monotonic() + 120
    while not socket_path.exists():
        assert time.monotonic() < deadline, (socket_path.parent / "preloaded.log").read_text()
        time.sleep(0.1)
    return preloaded_local_aws


def test_a_forked_server_serves_and_stops_when_its_run_stops_it(preloaded, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALAWS_PRELOADED", preloaded)
    aws = LocalAWS(tmp_path / "state").start()
    try:
        assert isinstance(aws.process, ForkedServer)
        assert aws.client("sts").get_caller_identity()["Account"] == "123456789012"
        assert os.getsid(aws.process.pid) == aws.process.pid  # a session of its own, as a launched one
    finally:
        aws.stop()
    assert aws.process.returncode == 0 and _ended(aws.process.pid)


def test_a_forked_server_ends_with_its_run_even_a_killed_one(preloaded, tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, sys
        from localaws.service import LocalAWS
        aws = LocalAWS({str(tmp_path / "state")!r}).start()
        print(aws.process.pid, flush=True)
        sys.stdin.read()
        """)], cwd=ROOT, env=dict(os.environ, LOCALAWS_PRELOADED=preloaded), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    server = int(owner.stdout.readline())
    assert psutil.pid_exists(server)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 15
    while not _ended(server):
        assert time.monotonic() < deadline, f"the forked server {server} outlived its killed run"
        time.sleep(0.1)


def _ended(pid: int) -> bool:
    """Gone, or a zombie the preloaded process has yet to reap (it does so every second)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_forked_process_takes_loopback_addresses_from_its_own_place():
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, str(next(addresses._counter)).encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert int(os.read(read, 32)) == (child % 250) * 250 + 1


def test_a_run_launches_its_own_server_while_no_preloaded_process_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALAWS_PRELOADED", str(tmp_path / "not-yet-a-socket"))
    aws = LocalAWS(tmp_path / "state").start()
    try:
        assert isinstance(aws.process, subprocess.Popen)
        assert aws.client("sts").get_caller_identity()["Account"] == "123456789012"
    finally:
        aws.stop()
