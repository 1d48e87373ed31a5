"""checkov, the static scanner workshop authors know, over the workshop's template.

checkov runs from its own virtualenv (`.venv-checkov`, requirements-checkov.txt: it pins a boto3
of its own) with `--skip-download`, and inside a network namespace of its own when the machine
allows one (`unshare -n`), so a scan never reaches the network. A check the workshop does not
meet is either fixed in the template or skipped in the resource's Metadata with a written reason:
```
Metadata:
  checkov:
    skip:
      - id: CKV_AWS_157
        comment: why a workshop does without it
```
"""
from __future__ import annotations

import array
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from localaws.processes import tied
from suite.background import BackgroundProcess
from suite.environment import EnvironmentProblem

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
# checkov's script is run by its virtualenv's interpreter, not through its `#!` line: a shebang cannot hold a
# path with a space in it (a clone under "/tmp/my clone": "cannot execute: required file not found").
CHECKOV_PYTHON = CHECKOV.parent / "python"
# checkov's temporary folder: in its virtualenv, not the machine's. Its HCL parser (lark) keeps a grammar cache in the
# temporary folder, 240 KB, never removed, that saves 2 s of every scan: made there by scripts/setup.sh
# (suite/controls/checkov_parse_tables.py), read by every scan, and nothing of a run is left in /tmp.
CHECKOV_TEMP = CHECKOV.parent.parent / "tmp"


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str
    name: str
    comment: str = ""  # a skip's written reason
    line: int = 0  # where the resource starts in the template (checkov's file_line_range)

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line else ""
        skipped = f" (skipped: {self.comment})" if self.comment else ""
        return f"{self.check_id} {self.resource}{at}: {self.name}{skipped}"


@dataclass
class Scan:
    passed: int
    failed: list[Finding]
    skipped: list[Finding]
    version: str


def _without_network() -> list[str]:
    """`unshare -n` when this machine lets us make a network namespace (root, or user namespaces)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def _environment() -> dict[str, str]:
    """A scan's whole environment: nothing of the run's."""
    return {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8", "TMPDIR": str(CHECKOV_TEMP)}


class RunningScan:
    """checkov started over a template in the background (suite/background.py), its answer read by `result()`;
    `stop()` ends a scan nobody read (nothing outlives the run). Where the run is given a warm checkov
    (WARM_CHECKOV, the self-tests'), the scan is forked from it; where that one refuses or is gone, started here."""

    def __init__(self, template: Path):
        if not CHECKOV.exists():
            raise FileNotFoundError(f"{CHECKOV} is missing: run scripts/setup.sh (installs requirements-checkov.txt)")
        CHECKOV_TEMP.mkdir(exist_ok=True)
        scan = [str(CHECKOV_PYTHON), str(CHECKOV), "--file", str(template),
                "--framework", "cloudformation", "--skip-download", "--compact", "--output", "json"]
        warm = os.environ.get(WARM_CHECKOV)
        if warm:
            try:
                self.background = BackgroundProcess(scan, env=_environment(), start=functools.partial(ForkedScan, warm))
                return
            except WarmCheckovUnavailable:
                pass
        self.background = BackgroundProcess([*_without_network(), *scan], env=_environment())

    def result(self) -> Scan:
        return _read(self.background.output())

    def stop(self) -> None:
        self.background.stop()


# --- a warm checkov: scans forked from one process that imported checkov once (suite/controls/warm_checkov.py)
WARM_CHECKOV = "SMDEMO_WARM_CHECKOV"  # its socket, for the runs given one
WARM_SCRIPT = Path(__file__).resolve().with_name("warm_checkov.py")


class WarmCheckovUnavailable(OSError):
    """The warm checkov refused the scan, or does not answer: the caller starts checkov itself."""


def start_warm_checkov(socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """The warm checkov, tied to the calling thread, started as a scan is (its interpreter, its environment, its
    network namespace); it serves once `socket_path` exists, seconds later (not awaited: a scan asked for before then
    is started by its run)."""
    CHECKOV_TEMP.mkdir(exist_ok=True)
    with open(log, "ab") as output:
        return subprocess.Popen(
            tied([*_without_network(), str(CHECKOV_PYTHON), str(WARM_SCRIPT), str(socket_path), str(CHECKOV)], "KILL"),
            env=_environment(), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)


class ForkedScan:
    """A scan the warm checkov forked, as much of subprocess.Popen as a background process uses. Its connection
    stays open while it runs: closed (stopped, or this process ended), the scan is killed."""

    def __init__(self, socket_path: str, argv: list[str], stdout: IO[bytes], stderr: IO[bytes], env: dict[str, str],
                 cwd: Path | None):
        self.returncode: int | None = None
        self._buffer = b""
        request = {"argv": argv[1:], "cwd": str(cwd or os.getcwd()), "environment": env}
        self._connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._connection.settimeout(30)
            self._connection.connect(socket_path)
            self._connection.sendmsg([json.dumps(request).encode() + b"\n"], [
                (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [stdout.fileno(), stderr.fileno()]))])
            answer = self._answer(30)
        except (OSError, ValueError) as error:
            self._connection.close()
            raise WarmCheckovUnavailable(f"no warm checkov at {socket_path}: {error}") from None
        if "pid" not in answer:
            self._connection.close()
            raise WarmCheckovUnavailable(f"the warm checkov refused: {answer.get('refused', 'no answer')}")
        self.pid = int(answer["pid"])

    def _answer(self, timeout: float | None) -> dict[str, Any]:
        """The next answer line ({} when the connection ended first); TimeoutError after `timeout` seconds."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._connection], [], [], timeout)
            if not ready:
                raise TimeoutError
            chunk = self._connection.recv(4096)
            if not chunk:
                return {}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                answer = self._answer(timeout)
            except TimeoutError:
                raise subprocess.TimeoutExpired(f"checkov {self.pid}", timeout or 0) from None
            self.returncode = int(answer.get("status", -signal.SIGKILL))  # no status: it was killed
            self._connection.close()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            self._connection.shutdown(socket.SHUT_WR)  # its supervisor kills it, then closes the connection


def scan(template: Path) -> Scan:
    return RunningScan(template).result()


def _read(done: subprocess.CompletedProcess) -> Scan:
    try:
        report = json.loads(done.stdout)
    except ValueError:  # checkov did not run: this machine's problem, not the workshop's
        raise EnvironmentProblem(f"checkov ({CHECKOV}) gave no report (exit {done.returncode}): "
                                 f"{done.stderr.strip()[-300:] or 'no output'}; run scripts/setup.sh") from None
    results = report["results"]

    def findings(kind: str) -> list[Finding]:
        return [Finding(r["check_id"], r["resource"], r["check_name"],
                        (r.get("check_result") or {}).get("suppress_comment") or "",
                        (r.get("file_line_range") or [0])[0])
                for r in results.get(kind, [])]

    return Scan(report["summary"]["passed"], findings("failed_checks"), findings("skipped_checks"),
                report["summary"].get("checkov_version", ""))
