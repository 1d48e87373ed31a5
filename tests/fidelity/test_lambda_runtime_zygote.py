"""localaws/functions/runtime_zygote.py: an environment's runtime, forked from a process that imported the runtime's
libraries once, is what a runtime started in the environment's sandbox is.

AWS ("Lambda execution environment lifecycle", "Defined runtime environment variables"): the function's code runs in
the execution environment, in /var/task, with the runtime's libraries after the standard library and the
function's own package first, with the function's environment variables, as the runtime's own process. Both
functions here run the same probe; one package also holds a module the zygote's imports looked for (org.py, the
platform module's Jython check: missing there, harmless here), so its runtime is started in its sandbox, as before.
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.aws_helpers import create_function, create_lambda_role, lambda_zip, unique, wait_for

PROBE = """
import json
import os
import sys
import time

import boto3

STARTED_WITH = sys.argv[:]  # as the bootstrap's import of this module saw them


def status():
    lines = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return {key: lines[key].strip() for key in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd",
                                                "CapAmb", "NoNewPrivs", "Seccomp")}


def handler(event, context):
    if event.get("action") == "sleep":
        time.sleep(event["seconds"])
    hidden = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME",
              "AWS_LAMBDA_LOG_GROUP_NAME", "_HANDLER")
    namespaces = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("ipc", "uts", "pid", "user", "cgroup")}
    return {
        "pid": os.getpid(), "argv": STARTED_WITH, "orig_argv": sys.orig_argv, "path": sys.path, "cwd": os.getcwd(),
        "umask": os.umask(os.umask(0)), "environment": {k: v for k, v in os.environ.items() if k not in hidden},
        "status": status(), "limits": open("/proc/self/limits").read(), "namespaces": namespaces,
        "main": sys.modules["__main__"].__file__, "handler_module": __name__, "boto3": boto3.__file__,
        "flags": repr(sys.flags), "encodings": [sys.getfilesystemencoding(), sys.stdout.encoding, sys.stderr.encoding],
        "time_zone": [time.tzname, time.timezone], "hosts": open("/etc/hosts").read(),
        "tmp": sorted(os.listdir("/tmp")), "task": sorted(os.listdir("/var/task")),
        "runtime": sorted(os.listdir("/var/runtime")), "context": type(context).__module__,
        "logging": [type(handler).__name__ for handler in __import__("logging").getLogger().handlers],
        "client": type(boto3.client("sts")).__name__,
    }
"""


def _with_jython_check(package: bytes) -> bytes:
    """The package with an empty org.py beside its module."""
    buffer = io.BytesIO(package)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("org.py", "")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def probes(aws):
    """Two functions running the probe: name by how its runtime starts."""
    role_arn = create_lambda_role(aws, unique("zygote-role"))
    names = {"forked": unique("zygote-forked"), "started": unique("zygote-started")}
    for how, name in names.items():
        create_function(aws, name, PROBE, role_arn, timeout=30, environment={"GREETING": "hello"})
        if how == "started":
            aws.client("lambda").update_function_code(FunctionName=name, ZipFile=_with_jython_check(lambda_zip(PROBE)))
    return names


def _invoke(aws, name: str, event: dict | None = None) -> dict:
    response = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, result
    return result


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:  # it ended
        return ""


@pytest.mark.local_only("compares two runtimes' processes, as the local AWS starts them")
def test_a_runtime_forked_from_the_zygote_sees_what_one_started_in_its_sandbox_sees(aws, probes):
    forked, started = _invoke(aws, probes["forked"]), _invoke(aws, probes["started"])
    assert "runtime_zygote.py" in _command_line(forked["pid"]), "the runtime was not forked from the zygote"
    assert "runtime_zygote.py" not in _command_line(started["pid"]), "the zygote did not refuse a package with org.py"
    assert started["task"] == ["index.py", "org.py"] and forked["task"] == ["index.py"]
    for key in ("pid", "task"):
        del forked[key], started[key]
    assert forked == started
    assert forked["boto3"] == "/var/runtime/boto3/__init__.py" and forked["cwd"] == "/var/task"
    assert forked["path"][0] == "/var/task" and forked["path"][-1] == "/var/runtime"


def _runtimes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (the environment's bwrap, its bootstrap, its runtime)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _forked_for(marker: str) -> list[int]:
    """The runtimes forked from the zygote into the network namespace of an environment whose bootstrap's variables
    hold `marker` (a forked runtime's /proc/PID/environ is the zygote's: its variables are set after its start)."""
    namespaces = set()
    for pid in _runtimes_with(marker):
        try:
            namespaces.add(os.readlink(f"/proc/{pid}/ns/net"))
        except OSError:
            continue
    namespaces.discard(os.readlink("/proc/self/ns/net"))  # the machine's: bwrap's own
    forked = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and "runtime_zygote.py" in _command_line(int(entry.name))
                    and os.readlink(entry / "ns" / "net") in namespaces):
                forked.append(int(entry.name))
        except OSError:
            continue
    return forked


@pytest.mark.local_only("reads the runtime's process")
def test_a_forked_runtime_goes_with_its_environment(aws, probes):
    """An invocation past its timeout ends its environment (Lambda: "Task timed out"): the forked runtime, stopped
    in the middle of its handler, goes too, as the process of a runtime started in its sandbox does."""
    marker = f"MARKER={unique('zygote-timeout')}"
    lambda_client = aws.client("lambda")
    lambda_client.update_function_configuration(FunctionName=probes["forked"], Timeout=1, Environment={
        "Variables": {"GREETING": "hello", "MARKER": marker.split("=", 1)[1]}})
    wait_for(lambda: lambda_client.get_function_configuration(
        FunctionName=probes["forked"])["LastUpdateStatus"] == "Successful", timeout=30, what="the update")
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(lambda: json.loads(lambda_client.invoke(
            FunctionName=probes["forked"], Payload=json.dumps({"action": "sleep", "seconds": 30}).encode()
        )["Payload"].read()))
        forked = wait_for(lambda: _forked_for(marker), timeout=20, what="the sleeping runtime, forked from the zygote")
        assert "Task timed out" in answer.result(timeout=60)["errorMessage"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and [pid for pid in forked if _command_line(pid)]:
        time.sleep(0.1)
    assert not [pid for pid in forked if _command_line(pid)], "the timed-out environment's runtime is still there"
    assert not _runtimes_with(marker), "the timed-out environment's bootstrap is still there"
