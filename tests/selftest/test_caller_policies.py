"""The suite runs as a caller holding only the policies the README ships (iam/), and a call outside them fails it.

Offline, SMDEMO_CALLER_POLICY=FILE makes the local AWS's target create an IAM user with only that policy and sign
every call the suite makes as the caller with its keys (suite/targets.py); the local AWS enforces IAM
(localaws/ext/iam_enforcement.py). The full-run policy without one action the suite needs makes the run fail, naming
the denied action. Where the policies are shown to be enough, on runs the project's tests make anyway:
- a full run with iam/caller-full-run.json, READY with every check: the README's first command's run from a clone
  (tests/selftest/test_runs_wherever_cloned.py);
- a stack deployed and kept with it, then verified --stack smdemo --read-only with iam/caller-read-only.json, READY
  and left as it was (tests/selftest/test_read_only_runs.py).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Mapping

from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]
FULL_RUN = ROOT / "iam" / "caller-full-run.json"
READ_ONLY = ROOT / "iam" / "caller-read-only.json"
CALLER_DENIED = re.compile(r"workshop-caller-\w+ is not authorized to perform: \S+")  # the checks' own denials differ
CALLER_POLICY = "SMDEMO_CALLER_POLICY"


def as_caller(policy: Path | None, environment: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`environment` for a run that signs as a caller holding only `policy` (None: as the local AWS's administrator,
    whatever this process was given)."""
    env = {key: value for key, value in environment.items() if key != CALLER_POLICY}
    if policy is not None:
        env[CALLER_POLICY] = str(policy)
    return env


def offline_run(tmp_path: Path, name: str, policy: Path | None, *args: str) -> tuple[int, str, str]:
    """(exit status, terminal output, workshop verdict) of an offline run as a caller holding `policy`."""
    junit = tmp_path / f"{name}.xml"
    done = run_pytest(["-m", "offline", "-q", "-p", "no:cacheprovider", "-rs",
                       f"--junitxml={junit}", f"--basetemp={tmp_path / name}", *args],
                      cwd=ROOT, env=as_caller(policy), timeout=1200)
    found = re.search(r"workshop verdict: (.*?) =*$", done.stdout, re.MULTILINE)
    return done.returncode, done.stdout + done.stderr, found.group(1) if found else ""


def test_a_call_outside_the_policy_fails_the_run(tmp_path):
    """Without ecs:RunTask (the Fargate phase runs the workshop's task), the run fails and says which call was
    denied to whom."""
    policy = json.loads(FULL_RUN.read_text())
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list) and "ecs:RunTask" in statement["Action"]:
            statement["Action"].remove("ecs:RunTask")
    narrower = tmp_path / "caller-without-runtask.json"
    narrower.write_text(json.dumps(policy))
    status, output, verdict = offline_run(tmp_path, "denied", narrower, "tests/fargate",
                                          "-k", "test_task_reaches_running")
    assert status != 0 and verdict.startswith("NOT READY"), output[-3000:]
    denied = CALLER_DENIED.search(output)
    assert denied and denied.group(0).endswith("is not authorized to perform: ecs:RunTask"), output[-3000:]
