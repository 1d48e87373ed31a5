"""The targets file (suite/target_list.py) and the board's verdicts (suite/report/board.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from suite.multi_target import target_in_nodeid
from suite.report.board import BoardRow, exit_status, overall
from suite.report.phases import Verdict
from suite.target_list import TargetsFileError, load_targets, offline_accounts
from suite.targets import OFFLINE_TIMING

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_targets_file_loads():
    specs = load_targets(ROOT / "targets.example.yaml")
    assert [spec.name for spec in specs] == ["attendee-01", "attendee-02", "rehearsal"]
    assert specs[0].profile == "class-01" and specs[1].role_arn and specs[1].stack == "smdemo"
    assert all(spec.region for spec in specs)


@pytest.mark.parametrize("text, said", [
    ("- name: a\n  region: eu-west-1\n- name: a\n  region: eu-west-1\n", "names must be unique: a"),
    ("- name: a\n", "a region is required"),
    ("- name: a b\n  region: eu-west-1\n", "must be letters"),
    ("- name: a\n  region: eu-west-1\n  role: x\n", "unknown keys ['role']"),
    ("- name: a\n  region: eu-west-1\n  role_arn: arn:aws:iam::1:role/x\n", "is not an IAM role ARN"),
    ("{}\n", "expected a list of targets"),
])
def test_a_wrong_targets_file_says_what_is_wrong(tmp_path, text, said):
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    with pytest.raises(TargetsFileError, match=None) as raised:
        load_targets(path)
    assert said in str(raised.value)


def test_offline_accounts_are_distinct_accounts():
    specs = offline_accounts(3)
    assert [spec.name for spec in specs] == ["account-1", "account-2", "account-3"]
    assert len({spec.account for spec in specs}) == 3 and specs[0].account == "123456789012"


def test_targets_sharing_a_machine_poll_as_often_as_one_does():
    three = OFFLINE_TIMING.sharing(3)
    assert three.rotation_poll == 3 * OFFLINE_TIMING.rotation_poll
    assert three.poll_interval == 3 * OFFLINE_TIMING.poll_interval
    assert three.rotation_timeout == 3 * OFFLINE_TIMING.rotation_timeout
    assert three.watch_interval == 3 * OFFLINE_TIMING.watch_interval  # the App lesson asks its apps less often too
    assert three.policy_rotations == OFFLINE_TIMING.policy_rotations and OFFLINE_TIMING.sharing(1) == OFFLINE_TIMING


def test_a_report_names_its_target():
    names = ["account-1", "account-11"]
    assert target_in_nodeid("tests/rds/test_x.py::test_y[offline-account-1]@account-1", names) == "account-1"
    assert target_in_nodeid("tests/rds/test_x.py::test_y[offline-account-11]", names) == "account-11"
    assert target_in_nodeid("tests/template/test_t.py::test_z[offline]", names) is None


def row(name: str, verdict: Verdict) -> BoardRow:
    return BoardRow(name, verdict, [], 1.0, "eu-west-1", "111111111111")


def test_the_run_is_ready_only_when_every_target_is():
    ready = row("a", Verdict(True, "passed: RDS"))
    broken = row("b", Verdict(False, "failed: RDS"))
    unreachable = row("c", Verdict(False, "environment: no credentials", ran=False))
    assert overall([ready, ready]).ready
    mixed = overall([ready, broken, unreachable])
    assert not mixed.ready and mixed.line == ("NOT READY: 1 of 3 targets READY; NOT READY: b (failed: RDS); "
                                              "NOT RUN: c (environment: no credentials)")
    assert exit_status([ready, unreachable], 0) == 1 and exit_status([unreachable], 0) == 4
    assert exit_status([ready], 0) == 0 and exit_status([ready, broken], 1) == 1


def test_a_target_whose_profile_is_missing_is_an_environment_problem(tmp_path, monkeypatch):
    from suite.targets import EnvironmentProblem, target_session

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with pytest.raises(EnvironmentProblem, match="class-99"):
        target_session("eu-west-1", profile="class-99")


def test_a_role_target_assumes_its_role_from_the_default_credentials(monkeypatch):
    from suite.targets import target_session

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    session = target_session("eu-west-1", role_arn="arn:aws:iam::111111111111:role/InstructorCheck")
    assert session.region_name == "eu-west-1"
    assert session.get_credentials().method == "assume-role"  # fetched on first use, refreshed before expiry
