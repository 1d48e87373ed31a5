"""Many targets at once (--accounts, suite/multi_target.py): a broken target among healthy ones makes the board
NOT READY naming that target only, and the others are verified all the same.

Three accounts of one local AWS, two quick deployed checks each (of two phases), in parallel (pytest-xdist);
account-2's credentials are a key the local AWS never issued (SMDEMO_SELFTEST_UNUSABLE_ACCOUNTS), as an attendee
account whose role or profile is wrong: that target is NOT RUN, the two others READY, and the run is NOT READY.
Every check of a target runs on its target's worker (a worker that ran another target's check would deploy that
target again, at the same time as its own worker, in the same account).
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from suite.multi_target import UNUSABLE_ENV
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]
# Deployed, then one login with the secret; and a read of the stack: two phases, which suite/fixtures.py orders
# phase by phase and suite/multi_target.py target by target.
QUICK_CHECKS = "test_credentials_from_secret_read_bookinfo or test_no_secret_value_in_the_stack_parameters"


def test_a_broken_target_is_named_alone_on_the_board(tmp_path):
    junit = tmp_path / "junit.xml"
    done = run_pytest(
        ["-m", "offline", "tests/rds", "tests/audit", "-k", QUICK_CHECKS,
         "--accounts", "3", "-v", "-p", "no:cacheprovider", f"--junitxml={junit}", f"--basetemp={tmp_path / 'run'}"],
        cwd=ROOT, env=dict(os.environ, **{UNUSABLE_ENV: "account-2"}), timeout=600)
    output = done.stdout + done.stderr
    properties = {prop.get("name"): prop.get("value", "") for prop in ET.parse(junit).getroot().iter("property")}
    assert done.returncode == 1, output[-3000:]
    assert properties["workshop_verdict:account-2"].startswith("NOT RUN: environment: "), properties
    assert "credentials do not work" in properties["workshop_verdict:account-2"]
    for healthy in ("account-1", "account-3"):
        verdict = properties[f"workshop_verdict:{healthy}"]
        assert verdict.startswith("READY"), f"{healthy}: {verdict}\n{_errors(output)}"
    overall = properties["workshop_verdict"]
    assert overall.startswith("NOT READY: 2 of 3 targets READY; NOT RUN: account-2 ("), overall
    assert "account-1 (" not in overall and "account-3 (" not in overall, overall
    board = [line.split()[:3] for line in output.splitlines() if line.startswith("account-")]  # the board's rows
    assert board == [["account-1", "READY", "—"], ["account-2", "NOT", "RUN"], ["account-3", "READY", "—"]], output
    workers: dict[str, set[str]] = {}  # target -> the workers its checks ran on ("[gw0] [ 50%] PASSED tests/...")
    for line in output.splitlines():
        ran = re.match(r"\[(gw\d+)\] .*(?:PASSED|FAILED|SKIPPED|ERROR) tests/\S+\[offline-(account-\d)\]", line)
        if ran:
            workers.setdefault(ran.group(2), set()).add(ran.group(1))
    assert sorted(workers) == ["account-1", "account-2", "account-3"], output[-3000:]
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers
    assert len(set.union(*workers.values())) == 3, workers  # a worker per target


def _errors(output: str) -> str:
    """What a run printed of its errors and failures, whole: a deployment's failure reasons among them."""
    start = min((output.find(header) for header in ("= ERRORS =", "= FAILURES =") if header in output),
                default=max(0, len(output) - 3000))
    return output[start:][-20000:]
