"""scripts/test.sh's two pytest-xdist workers: the phases stay together, and the report still knows each check."""
from __future__ import annotations

from types import SimpleNamespace

from suite.report.plugin import InstructorReport
from tests.support.parallel_runs import PHASES_UNIT, PhasesTogether


def scope(nodeid: str) -> str:
    return PhasesTogether._split_scope(PhasesTogether.__new__(PhasesTogether), nodeid)  # needs no state


def test_every_phase_check_is_one_unit_and_any_other_test_goes_with_its_file():
    assert {scope("tests/rds/test_rds_phase.py::test_rotation_completes[offline]"),
            scope("tests/template/test_template_phase.py::test_cfnlint_finds_no_error_in_the_template[offline]"),
            scope("tests/audit/test_audit_phase.py::test_denied_read_is_recorded[offline]")} == {PHASES_UNIT}
    assert scope("tests/selftest/test_checks_have_teeth.py::test_check_fails_on_broken_workshop[rds-x]") == \
        "tests/selftest/test_checks_have_teeth.py"
    assert scope("tests/unit/test_mysqld.py::test_x") == "tests/unit/test_mysqld.py"


def test_a_check_run_by_a_worker_is_known_by_its_report():
    """The controller collects nothing: the check's mode and guide step come with its report."""
    report = InstructorReport()
    nodeid = "tests/rds/test_rds_phase.py::test_rotation_completes[offline]"
    for when in ("setup", "call", "teardown"):
        report.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, when=when, outcome="passed", duration=0.1,
                                                        check_mode="offline", guide_step="RDS 4"))
    check = report.ledger.checks[nodeid]
    assert (check.mode, check.step.name if check.step else None, check.outcome) == ("offline", "RDS 4", "passed")
    assert [(row.phase, row.mode, row.status) for row in report.ledger.rows() if row.mode] == [
        ("RDS", "offline", "passed")]
