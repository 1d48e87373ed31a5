"""The project runs wherever it is cloned, and a failure of the local AWS's own machinery is the
machine's problem, never the workshop's.

- The README's first command (`bash scripts/verify-offline.sh`) from a copy of the project under /tmp,
  in a folder whose path has spaces, with `.venv` a symlink to a virtualenv elsewhere: READY. (The
  Lambda sandbox mounts a fresh /tmp and /var; it once hid the virtualenv's interpreter there.) Its
  report, every phase's: under 2 MB, and it opens in headless Chromium with the verdict and the phases
  on its first screen. This run is the project's tests' one full offline verification (scripts/test.sh
  does not run the phases' checks again in its own process), made as a caller holding only the policy the
  README ships for a full run (SMDEMO_CALLER_POLICY=iam/caller-full-run.json, see
  tests/selftest/test_caller_policies.py): every check passes, and no call of the suite is denied.
- A Lambda sandbox that cannot start its runtime (a bwrap that fails as it did then, "execvp ...: No
  such file or directory"): the verdict is NOT RUN: environment, naming the sandbox and its last words.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from localaws.system_tools import MissingSystemTool, require_tool
from suite.preflight import ENVIRONMENT_EXIT
from suite.report import browser
from suite.report.phases import PHASES
from tests.selftest.test_caller_policies import CALLER_DENIED, as_caller
from tests.support.own_local_aws import without_the_sessions_local_aws

ROOT = Path(__file__).resolve().parents[2]
MAX_REPORT_BYTES = 2 * 1024 * 1024
EVERY_CHECK = 73  # the Template phase and every deployed phase, offline


def junit_verdict(junit: Path) -> str:
    return next((prop.get("value", "") for prop in ET.parse(junit).getroot().iter("property")
                 if prop.get("name") == "workshop_verdict"), "")


def project_copy(parent: Path) -> Path:
    """The project's files as a clone has them (tracked and new, not ignored), its virtualenvs symlinked."""
    clone = parent / "a path with spaces" / "smdemo"
    clone.mkdir(parents=True)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes(source.read_bytes())
            (clone / name).chmod(source.stat().st_mode)
    for venv in (".venv", ".venv-checkov"):
        (clone / venv).symlink_to((ROOT / venv).resolve())
    return clone


@dataclass
class ClonedRun:
    returncode: int
    output: str  # all of the terminal's
    reports: Path  # the clone's reports/ folder, kept after the clone is removed

    @property
    def tail(self) -> str:
        return self.output[-3000:]


@pytest.fixture(scope="module")
def readmes_first_command_from_a_clone(tmp_path_factory: pytest.TempPathFactory) -> ClonedRun:
    """`bash scripts/verify-offline.sh` in a copy of the project under /tmp (a path with spaces, .venv symlinked),
    as a caller holding only the README's full-run policy."""
    parent = Path(os.path.realpath("/tmp")) / tmp_path_factory.mktemp("clone").name  # not pytest's own folder
    parent.mkdir()
    kept = tmp_path_factory.mktemp("clone-reports")
    try:
        clone = project_copy(parent)
        done = subprocess.run(["bash", "scripts/verify-offline.sh", "-q", "-p", "no:cacheprovider",
                               f"--basetemp={parent / 'run'}"], cwd=clone, capture_output=True, text=True,
                              timeout=900, env=as_caller(clone / "iam" / "caller-full-run.json",
                                                         without_the_sessions_local_aws()))
        if (clone / "reports").is_dir():
            shutil.copytree(clone / "reports", kept, dirs_exist_ok=True)
        return ClonedRun(done.returncode, done.stdout + done.stderr, kept)
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=False)


def test_the_readmes_first_command_is_ready_from_a_clone_under_tmp(readmes_first_command_from_a_clone):
    run = readmes_first_command_from_a_clone
    verdict = junit_verdict(run.reports / "offline.xml") if (run.reports / "offline.xml").is_file() else ""
    assert run.returncode == 0 and verdict.split(":")[0].split(",")[0] in ("READY", "READY offline"), (
        verdict, run.tail)


def test_a_caller_holding_only_the_full_run_policy_runs_every_check(readmes_first_command_from_a_clone):
    """The README's full-run policy is enough: every check of every phase passed, no call of the suite denied."""
    run = readmes_first_command_from_a_clone
    assert re.search(rf"\b{EVERY_CHECK} passed\b", run.output), run.tail
    denied = CALLER_DENIED.search(run.output)
    assert not denied, denied.group(0)


def test_its_report_is_ready_small_and_opens_in_chromium(readmes_first_command_from_a_clone):
    report = readmes_first_command_from_a_clone.reports / "offline.html"
    assert report.is_file(), readmes_first_command_from_a_clone.tail
    assert report.stat().st_size < MAX_REPORT_BYTES, f"the report is {report.stat().st_size} bytes"
    try:
        seen = browser.visible(report, {"verdict": "#workshop-verdict", "phases": "table.workshop-phases"})
    except MissingSystemTool as missing:  # not a skip: scripts/setup.sh installs it
        pytest.fail(str(missing), pytrace=False)
    assert seen["verdict"]["visible"] and seen["verdict"]["onFirstScreen"], seen
    # READY, with what the local AWS was given and does not model said first (it may list none).
    assert re.match(r"READY (offline, \d+ settings? not modelled: [^;]+; )?"
                    r"passed: Template \(offline\), RDS \(offline\), Fargate \(offline\), TLS user \(offline\), "
                    r"App \(offline\), Audit \(offline\)", seen["verdict"]["text"]), seen
    for phase in PHASES:
        assert f"{phase}\toffline\tpassed" in seen["phases"]["text"], seen["phases"]
    # The README's first command took its screenshot itself (python -m suite.report.browser): not taken again here.
    screenshot = report.with_suffix(".png")
    assert screenshot.is_file() and screenshot.read_bytes().startswith(b"\x89PNG"), \
        readmes_first_command_from_a_clone.tail


FAILING_BWRAP = """#!/bin/sh
# bwrap, except for a Lambda runtime: that one fails as a hidden interpreter did.
for arg in "$@"; do
  if [ "$arg" = "/var/runtime/bootstrap.py" ]; then
    echo "bwrap: execvp /hidden/.venv/bin/python: No such file or directory" >&2
    exit 1
  fi
done
exec {real} "$@"
"""


def test_a_sandbox_that_cannot_start_its_runtime_is_not_run_environment(tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    fake = tools / "bwrap"
    fake.write_text(FAILING_BWRAP.format(real=require_tool(["bwrap"], "bubblewrap")))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "offline", "tests/rds", "-q", "-p", "no:cacheprovider",
         f"--junitxml={junit}", f"--basetemp={tmp_path / 'run'}"],
        cwd=ROOT, env=dict(without_the_sessions_local_aws(), PATH=f"{tools}{os.pathsep}{os.environ['PATH']}"),
        capture_output=True,
        text=True, timeout=600)
    verdict = junit_verdict(junit)
    assert done.returncode == ENVIRONMENT_EXIT, done.stdout[-3000:]
    assert verdict.startswith("NOT RUN: environment: offline: the local AWS's Lambda sandbox: "), verdict
    assert "bwrap: execvp /hidden/.venv/bin/python: No such file or directory" in verdict, verdict
    assert "RDS" not in verdict.split("(not the workshop's verdict)")[0], verdict  # no phase blamed
