"""The suite runs as a caller holding only the policies the README ships (iam/), and a call outside them fails it.

Offline, SMDEMO_CALLER_POLICY=FILE makes the local AWS's target create an IAM user with only that policy and sign
every call the suite makes as the caller with its keys (suite/targets.py); the local AWS enforces IAM
(localaws/ext/iam_enforcement.py). A full run with iam/caller-full-run.json is READY with every check; a kept stack
verified --stack smdemo --read-only with iam/caller-read-only.json passes; the full-run policy without one action
the suite needs makes the run fail, naming the denied action.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from suite.report.phases import DEPLOYED_PHASES, folders
from suite.sweeper import offline_leftovers
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]
FULL_RUN = ROOT / "iam" / "caller-full-run.json"
READ_ONLY = ROOT / "iam" / "caller-read-only.json"
KEPT = re.compile(r"--local-aws (\S+) --stack smdemo")
CALLER_DENIED = re.compile(r"workshop-caller-\w+ is not authorized to perform: \S+")  # the checks' own denials differ
EVERY_CHECK = 73  # the Template phase and every deployed phase, offline


def offline_run(tmp_path: Path, name: str, policy: Path | None, *args: str) -> tuple[int, str, str]:
    """(exit status, terminal output, workshop verdict) of an offline run as a caller holding `policy`."""
    junit = tmp_path / f"{name}.xml"
    env = dict(os.environ)
    env.pop("SMDEMO_CALLER_POLICY", None)
    if policy is not None:
        env["SMDEMO_CALLER_POLICY"] = str(policy)
    done = run_pytest(["-m", "offline", "-q", "-p", "no:cacheprovider", "-rs",
                       f"--junitxml={junit}", f"--basetemp={tmp_path / name}", *args],
                      cwd=ROOT, env=env, timeout=1200)
    found = re.search(r"workshop verdict: (.*?) =*$", done.stdout, re.MULTILINE)
    return done.returncode, done.stdout + done.stderr, found.group(1) if found else ""


def test_full_run_as_a_caller_holding_only_the_full_run_policy(tmp_path):
    status, output, verdict = offline_run(tmp_path, "full", FULL_RUN, "tests/template", *folders(DEPLOYED_PHASES))
    assert status == 0 and verdict.startswith("READY"), output[-4000:]
    assert re.search(rf"\b{EVERY_CHECK} passed\b", output), output[-1500:]
    assert not CALLER_DENIED.search(output), CALLER_DENIED.search(output).group(0)


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


@pytest.fixture(scope="module")
def kept_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The workshop deployed offline and kept, by a caller holding the full-run policy."""
    tmp_path = tmp_path_factory.mktemp("kept")
    status, output, verdict = offline_run(tmp_path, "deploy", FULL_RUN, "tests/rds", "--keep-stack",
                                          "-k", "test_bastion_has_the_guides_files_and_tools")
    found = KEPT.search(output)
    state_dir = Path(found.group(1)) if found else None
    try:
        assert status == 0 and verdict.startswith("READY"), output[-3000:]
        assert state_dir is not None, output[-2000:]
        yield state_dir
    finally:
        if state_dir is not None:
            for leftover in [item for item in offline_leftovers() if str(state_dir) in item.what]:
                leftover.delete()


def test_kept_stack_verified_read_only_as_a_caller_holding_only_the_read_only_policy(kept_stack, tmp_path):
    status, output, verdict = offline_run(tmp_path, "verify", READ_ONLY, *folders(DEPLOYED_PHASES),
                                          "--local-aws", str(kept_stack), "--stack", "smdemo", "--read-only")
    assert status == 0 and verdict.startswith("READY"), output[-4000:]
    assert not CALLER_DENIED.search(output), CALLER_DENIED.search(output).group(0)
