"""A machine or an account that cannot run the checks is not a broken workshop: the run stops
before anything starts, says what to do once, exits 4, and the verdict is NOT RUN (no phase
blamed). A local AWS that dies during the run stops it the same way, with its own last words."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

from suite.preflight import ENVIRONMENT_EXIT, EnvironmentProblem, require_free_disk
from suite.report.phases import DEPLOYED_PHASES, folders
from tests.support.own_local_aws import without_the_sessions_local_aws
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]
PHASES = folders(DEPLOYED_PHASES)


# Holds 0.0.0.0:22, as a machine's own sshd does, then runs the command it is given. It runs in a network
# namespace of its own (`unshare --net`): the other runs on this machine never find port 22 taken meanwhile, and
# theirs never make this one find it taken.
PORT_22_HOLDER = """
import socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
with socket.socket() as holder:
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", 22))
    holder.listen()
    sys.exit(subprocess.run(sys.argv[1:]).returncode)
"""
IN_A_NETWORK_WITH_PORT_22_TAKEN = ("unshare", "--net", "--", sys.executable, "-c", PORT_22_HOLDER)


def run(tmp_path: Path, *args: str, user: int | None = None, within: tuple[str, ...] = (),
        **env: str) -> tuple[int, str, str]:
    """An offline run of the three phases: (exit status, terminal output, JUnit verdict); as `user`, or within
    the command `within` (a wrapper), a python -m pytest of its own, else forked."""
    junit = tmp_path / "junit.xml"
    arguments = ["-m", "offline", *PHASES, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                 f"--basetemp={tmp_path / 'run'}", *args]
    if user is not None:  # tmp_path must then be one that user can reach
        within = ("setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *within)
    if within:
        done = subprocess.run([*within, sys.executable, "-m", "pytest", *arguments], cwd=ROOT,
                              env=dict(os.environ, **env), capture_output=True, text=True, timeout=300)
    else:
        done = run_pytest(arguments, cwd=ROOT, env=dict(os.environ, **env), timeout=300)
    verdict = ""
    if junit.exists():
        verdict = next((prop.get("value", "") for prop in ET.parse(junit).getroot().iter("property")
                        if prop.get("name") == "workshop_verdict"), "")
    return done.returncode, done.stdout + done.stderr, verdict


def stopped_before_anything(status: int, output: str, verdict: str, problem: str) -> None:
    assert status == ENVIRONMENT_EXIT, output[-3000:]
    assert verdict.startswith("NOT RUN: environment: ") and problem in verdict, verdict
    assert output.count(problem) == 1, f"the problem should be said once:\n{output[-3000:]}"
    assert "passed" not in output and "failed" not in output.split("workshop verdict")[0], output[-3000:]


def test_missing_tool_names_its_package(tmp_path):
    status, output, verdict = run(tmp_path, PATH="/nonexistent")  # bwrap and setpriv live in /usr/bin
    stopped_before_anything(status, output, verdict, "install the Debian package 'bubblewrap'")


def test_port_22_taken_says_what_to_do(tmp_path):
    status, output, verdict = run(tmp_path, within=IN_A_NETWORK_WITH_PORT_22_TAKEN)
    stopped_before_anything(status, output, verdict, "make the machine's sshd listen on a specific address")


def test_not_root_says_so():
    with tempfile.TemporaryDirectory(prefix="smdemo-not-root-") as reachable:  # pytest's tmp_path is root's only
        os.chmod(reachable, 0o777)
        status, output, verdict = run(Path(reachable), user=65534)
    stopped_before_anything(status, output, verdict, "run the suite as root")


def test_too_little_disk_is_named_with_the_place(tmp_path):
    with pytest.raises(EnvironmentProblem, match=rf"MB free where the run's files go \({tmp_path}\)"):
        require_free_disk(tmp_path, minimum=1 << 60)
    require_free_disk(tmp_path, minimum=1)


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_rotation_timeout_must_be_finite_seconds_above_zero(tmp_path, value):
    status, output, _ = run(tmp_path, "--rotation-timeout", value)
    assert status == 4 and "--rotation-timeout" in output, output[-2000:]
    assert not (tmp_path / "run").exists(), "the run started"


def test_a_local_aws_that_dies_stops_the_run_with_its_last_words(tmp_path):
    """SIGKILL to the server once the stack is up: one failed check at most, then the environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "offline", *PHASES, "-q", "-p", "no:cacheprovider",
         f"--junitxml={tmp_path / 'junit.xml'}", f"--basetemp={tmp_path / 'run'}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=without_the_sessions_local_aws())
    deadline = time.monotonic() + 120
    killed = False
    while process.poll() is None and time.monotonic() < deadline and not killed:
        for child in psutil.Process(process.pid).children(recursive=True):
            try:
                if "mariadbd" in " ".join(child.cmdline()):  # the stack is deploying: kill its AWS
                    server = child.parent()
                    time.sleep(2)
                    server.send_signal(signal.SIGKILL)
                    killed = True
                    break
            except psutil.Error:
                continue
        time.sleep(0.1)
    output, _ = process.communicate(timeout=300)
    assert killed, output[-3000:]
    verdict = next(prop.get("value") for prop in ET.parse(tmp_path / "junit.xml").getroot().iter("property")
                   if prop.get("name") == "workshop_verdict")
    assert process.returncode == ENVIRONMENT_EXIT, output[-3000:]
    assert "environment: offline: the local AWS exited with status -9" in verdict, verdict
    # pytest's summary lines name checks ("ERROR tests/..."); a captured log line ("ERROR    paramiko...")
    # is not a check blamed.
    blamed = [line for line in output.splitlines() if line.startswith(("FAILED tests/", "ERROR tests/"))]
    assert len(blamed) <= 1, output[-3000:]
