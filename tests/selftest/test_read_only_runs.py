"""Verifying a stack already deployed changes nothing of it, and a read-only run that does fails.

A stack is deployed offline and kept (--keep-stack: the local AWS keeps serving it) by a caller holding only the
README's full-run policy, then verified with --local-aws DIR --stack smdemo, read-only, by a caller holding only its
read-only policy (SMDEMO_CALLER_POLICY, see tests/selftest/test_caller_policies.py): READY, no call of the suite
denied, and what an attendee can see (the secrets' versions and labels, the stack's resources, the task
definitions, ...) is read before and after by the test itself and must be the same. On the same stack, a run in
which a read-only check rotates the secret (tests/selftest/misclassified_check.py) must fail, naming the change. The
sweeper then finds the kept local AWS and stops it. The collection refuses a check that does not say whether it
changes the account (tests/selftest/unclassified_check.py).
"""
from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import psutil
import pytest

from localaws.service import LocalAWS
from suite.account_snapshot import differences, snapshot
from suite.report.phases import DEPLOYED_PHASES, folders
from suite.sweeper import offline_leftovers
from tests.selftest.test_caller_policies import CALLER_DENIED, FULL_RUN, READ_ONLY, as_caller
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]
KEPT = re.compile(r"--local-aws (\S+) --stack smdemo")


def pytest_run(tmp_path: Path, name: str, *args: str, policy: Path | None = None) -> tuple[int, str, str, float]:
    """(exit status, terminal output, JUnit verdict, seconds) of an offline run (as a caller holding `policy`)."""
    junit = tmp_path / f"{name}.xml"
    began = time.monotonic()
    done = run_pytest(["-m", "offline", "-q", "-p", "no:cacheprovider", "-rs",
                       f"--junitxml={junit}", f"--basetemp={tmp_path / name}", *args],
                      cwd=ROOT, env=as_caller(policy), timeout=600)
    seconds = time.monotonic() - began
    verdict = ""
    if junit.exists():
        verdict = next((prop.get("value", "") for prop in ET.parse(junit).getroot().iter("property")
                        if prop.get("name") == "workshop_verdict"), "")
    return done.returncode, done.stdout + done.stderr, verdict, seconds


def seen_by_attendees(state_dir: Path) -> dict:
    local = LocalAWS.attach(state_dir)
    stack = local.client("cloudformation").describe_stacks(StackName="smdemo")["Stacks"][0]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack["Outputs"]}
    return snapshot(local.client, "smdemo", outputs)


@pytest.fixture(scope="module")
def kept_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The workshop deployed offline by one run (a caller holding the full-run policy) and kept: the state folder
    of the local AWS serving it."""
    tmp_path = tmp_path_factory.mktemp("kept")
    status, output, verdict, _ = pytest_run(tmp_path, "deploy", "tests/rds", "--keep-stack",
                                            "-k", "test_bastion_has_the_guides_files_and_tools", policy=FULL_RUN)
    found = KEPT.search(output)
    state_dir = Path(found.group(1)) if found else None
    try:
        assert status == 0 and verdict.startswith("READY"), output[-3000:]
        assert state_dir is not None, f"the run did not say where it kept the local AWS:\n{output[-2000:]}"
        yield state_dir
    finally:
        if state_dir is not None:  # the sweeper finds it, and stops it
            kept = [leftover for leftover in offline_leftovers() if str(state_dir) in leftover.what]
            for leftover in kept:
                leftover.delete()
            assert kept, "the sweeper did not find the kept local AWS"
            assert not state_dir.exists(), f"the sweeper left {state_dir}"
            assert not any("--state-dir" in process.cmdline() and str(state_dir) in process.cmdline()
                           for process in psutil.process_iter() if _readable(process))


def _readable(process: psutil.Process) -> bool:
    try:
        process.cmdline()
        return True
    except psutil.Error:
        return False


def test_a_kept_stack_verified_read_only_is_left_as_it_was(kept_stack, tmp_path):
    before = seen_by_attendees(kept_stack)
    status, output, verdict, seconds = pytest_run(tmp_path, "verify", *folders(DEPLOYED_PHASES),
                                                  "--local-aws", str(kept_stack), "--stack", "smdemo", policy=READ_ONLY)
    after = seen_by_attendees(kept_stack)
    print(f"--stack smdemo, read-only, offline: {seconds:.1f} s")  # the README's figure
    assert status == 0 and verdict.startswith("READY"), output[-3000:]
    denied = CALLER_DENIED.search(output)
    assert not denied, denied.group(0)  # the read-only policy is enough
    assert "not run: would change the account: rotates the workshop's secret" in output
    assert "needs the suite's SSH" not in output  # the direct checks reach the stack through Session Manager too
    assert re.search(r"\d+ passed, \d+ skipped", output), output[-1000:]
    for kept in ("secret SecretArn", "secret ContainerUserSecretArn", "secret AppUserSecretArn",
                 "secret DemoUserSecretArn", "stack resources", "task definitions"):
        assert kept in before and before[kept] == after[kept], f"{kept}: {differences(before, after)}"
    assert not differences(before, after)


def test_a_read_only_run_fails_when_a_check_changes_the_account(kept_stack, tmp_path):
    status, output, verdict, _ = pytest_run(tmp_path, "misclassified", "tests/audit", "--local-aws", str(kept_stack),
                                            "--stack", "smdemo", "-p", "tests.selftest.misclassified_check",
                                            "-k", "test_secret_controls_are_met and SecretsManager.4")
    assert status == 1, output[-3000:]
    assert verdict.startswith("NOT READY: the read-only run changed the account: secret SecretArn: before"), verdict
    assert "the read-only run changed the account:" in output


@pytest.mark.parametrize("selected, said", [
    ("test_network_controls_are_met and RDS.2", "neither is there"),
    ("test_secret_controls_are_met and SecretsManager.4", "is marked read_only but uses fixtures that change the "
     "account: "
                                                    "first_rotation (rotates the workshop's secret"),
])
def test_collection_refuses_a_check_not_classified(selected, said):
    done = run_pytest(["-m", "offline", "tests/audit", "--collect-only", "-q",
                       "-p", "no:cacheprovider", "-p", "tests.selftest.unclassified_check", "-k", selected],
                      cwd=ROOT, env=os.environ, timeout=120)
    assert done.returncode != 0
    assert said in done.stdout + done.stderr, (done.stdout + done.stderr)[-2000:]
