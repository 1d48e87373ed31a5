"""The verdict an instructor reads: NOT READY when one phase fails, naming that phase, READY
when all pass; in the terminal, the JUnit XML and the HTML report alike."""
from __future__ import annotations

import pytest

from suite.report.guide_steps import BY_NAME, STEPS
from suite.report.phases import Ledger
from tests.support import synthetic_project as synthetic


def ledger(**outcomes: str) -> Ledger:
    """A ledger from check=outcome pairs, check names as tests/<phase>/... nodeids."""
    checks = Ledger()
    for name, outcome in outcomes.items():
        phase, mode = name.split("_")[:2]
        nodeid = f"tests/{'tls_user' if phase == 'tls' else phase}/test_x.py::test_{name}[{mode}]"
        checks.collected(nodeid, mode)
        checks.record(nodeid, "setup", "passed", 0.5)
        if outcome != "unfinished":
            checks.record(nodeid, "call", outcome, 1.0)
    return checks


ALL_PASSING = dict(template_offline="passed", rds_offline="passed", fargate_offline="passed", tls_offline="passed",
                   app_offline="passed", audit_offline="passed")


def test_all_phases_passing_is_ready():
    verdict = ledger(**ALL_PASSING).verdict()
    assert verdict.ready and verdict.line == ("READY: passed: Template (offline), RDS (offline), Fargate (offline), "
                                              "TLS user (offline), App (offline), Audit (offline)")


def test_a_failing_template_phase_is_not_ready_and_named_first():
    """READY requires the Template phase: a workshop whose files fail their linters is not ready, whatever its
    deployed phases say, and the verdict names the Template phase."""
    verdict = ledger(**{**ALL_PASSING, "template_offline": "failed"}).verdict()
    assert not verdict.ready
    assert verdict.line == ("NOT READY: failed: Template (offline); passed: RDS (offline), Fargate (offline), "
                            "TLS user (offline), App (offline), Audit (offline)"), verdict.line
    assert ledger(template_live="failed", template_offline="passed").verdict().line.startswith(
        "NOT READY: failed: Template (live); passed: Template (offline)")


def test_the_template_phase_is_the_first_row():
    rows = ledger(**ALL_PASSING).rows()
    assert [row.phase for row in rows] == ["Template", "RDS", "Fargate", "TLS user", "App", "Audit"]


def test_one_failing_phase_is_not_ready_and_named():
    verdict = ledger(**{**ALL_PASSING, "fargate_offline": "failed"}).verdict()
    assert not verdict.ready
    assert verdict.reason.startswith("failed: Fargate (offline);"), verdict.reason
    assert ("Template (offline), RDS (offline), TLS user (offline), App (offline), Audit (offline)"
            in verdict.reason.split("passed:")[1])


def test_a_phase_failing_in_one_mode_only_names_that_mode():
    verdict = ledger(rds_offline="passed", rds_live="failed").verdict()
    assert verdict.line.startswith("NOT READY: failed: RDS (live); passed: RDS (offline)"), verdict.line


def test_phase_without_checks_is_not_run_and_does_not_block():
    checks = ledger(rds_offline="passed")
    statuses = {row.phase: row.status for row in checks.rows()}
    assert statuses == {"Template": "not run", "RDS": "passed", "Fargate": "not run", "TLS user": "not run",
                        "App": "not run", "Audit": "not run"}
    assert checks.verdict().line == "READY: passed: RDS (offline); not run: Template, Fargate, TLS user, App, Audit"


@pytest.mark.parametrize("checks, reason", [
    (Ledger(), "nothing was verified; not run: Template, RDS, Fargate, TLS user, App, Audit"),
    (ledger(rds_live="skipped"),
     "nothing was verified; skipped: RDS (live); not run: Template, Fargate, TLS user, App, Audit"),
])
def test_nothing_ran_is_not_ready(checks, reason):
    assert checks.verdict().line == f"NOT READY: {reason}"


def test_a_run_stopped_half_way_is_not_ready():
    verdict = ledger(rds_offline="passed", audit_offline="unfinished").verdict()
    assert verdict.line == ("NOT READY: stopped before finishing: Audit (offline); passed: RDS (offline); "
                            "not run: Template, Fargate, TLS user, App")


def test_error_in_teardown_counts_against_the_phase():
    checks = ledger(rds_offline="passed")
    checks.record("tests/rds/test_x.py::test_rds_offline[offline]", "teardown", "failed", 0.1)
    assert checks.verdict().line.startswith("NOT READY: failed: RDS (offline)")


def test_unit_tests_are_shown_but_not_part_of_the_verdict():
    checks = ledger(rds_offline="passed")
    checks.collected("tests/unit/test_y.py::test_y", None)
    checks.record("tests/unit/test_y.py::test_y", "call", "failed", 0.1)
    assert checks.verdict().line == ("READY: passed: RDS (offline); not run: Template, Fargate, TLS user, App, Audit; "
                                     "project tests: 1 failed (not part of the verdict)")
    assert [row.status for row in checks.rows() if row.phase == "Project tests"] == ["failed"]


def test_both_modes_pair_up_by_check_under_its_guide_step():
    checks = Ledger()
    for mode, outcome in (("offline", "passed"), ("live", "failed")):
        checks.collected(f"tests/rds/test_x.py::test_rds[{mode}]", mode, BY_NAME["RDS 4"])
        checks.record(f"tests/rds/test_x.py::test_rds[{mode}]", "call", outcome, 1.0)
    unchecked = [(step, {}) for step in STEPS if step.phase == "RDS" and step.name != "RDS 4"]  # shown as gaps
    assert checks.by_step() == [*unchecked, (BY_NAME["RDS 4"], {"tests/rds/test_x.py::test_rds": {"offline": "passed",
                                                                                                  "live": "failed"}})]
    assert ledger(rds_offline="passed").by_step() == []  # checks of no step: no step to show


# --- the same, end to end: a run of the report plugins over synthetic checks
def test_failing_phase_turns_every_channel_not_ready_and_names_it(tmp_path):
    synthetic.write_project(tmp_path, failing=("fargate",))
    run = synthetic.run(tmp_path, marks="offline")
    assert run.returncode == 1, run.terminal[-3000:]
    expected = ("NOT READY: failed: Fargate (offline); passed: Template (offline), RDS (offline), TLS user (offline), "
                "App (offline), Audit (offline)")
    assert expected in run.verdict_line, run.terminal[-3000:]
    assert run.junit_properties()["workshop_verdict"] == expected
    page = run.html.read_text(encoding="utf-8")
    assert "<title id=\"head-title\">NOT READY: Secrets Manager workshop verification</title>" in page
    assert 'class="verdict-not-ready"' in page and "failed: Fargate (offline)" in page


def test_failing_template_phase_turns_every_channel_not_ready_and_names_it(tmp_path):
    synthetic.write_project(tmp_path, failing=("template",))
    run = synthetic.run(tmp_path, marks="offline")
    assert run.returncode == 1, run.terminal[-3000:]
    expected = ("NOT READY: failed: Template (offline); passed: RDS (offline), Fargate (offline), TLS user (offline), "
                "App (offline), Audit (offline)")
    assert expected in run.verdict_line, run.terminal[-3000:]
    assert run.junit_properties()["workshop_verdict"] == expected
    assert run.junit_properties()["phase Template (offline)"] == "failed; 2 failed"
    assert 'class="verdict-not-ready"' in run.html.read_text(encoding="utf-8")


def test_all_phases_passing_turns_every_channel_ready(tmp_path):
    synthetic.write_project(tmp_path)
    run = synthetic.run(tmp_path, marks="offline")
    assert run.returncode == 0, run.terminal[-3000:]
    expected = ("READY: passed: Template (offline), RDS (offline), Fargate (offline), TLS user (offline), "
                "App (offline), Audit (offline)")
    assert expected in run.verdict_line and run.junit_properties()["workshop_verdict"] == expected
    assert run.junit_properties()["phase Fargate (offline)"] == "passed; 2 passed"
    assert 'class="verdict-ready"' in run.html.read_text(encoding="utf-8")


def test_a_phase_that_does_not_collect_is_not_ready(tmp_path):
    synthetic.write_project(tmp_path)
    (tmp_path / "tests" / "fargate" / "test_broken.py").write_text("def test_(:\n")
    run = synthetic.run(tmp_path, marks="offline")
    assert "NOT READY: failed: Fargate" in run.verdict_line, run.terminal[-3000:]
    # pytest stops on collection errors
    assert "stopped before finishing: Template (offline), RDS (offline)" in run.verdict_line, run.verdict_line


def test_an_environment_problem_mid_run_is_not_run_and_blames_no_phase():
    """The local AWS's machinery failing after some checks ran: NOT RUN, the checks only counted."""
    verdict = ledger(rds_offline="passed", fargate_offline="failed").verdict(
        environment_problem="offline: the local AWS's Lambda sandbox: bwrap: execvp x: No such file or directory")
    assert not verdict.ran and not verdict.ready
    assert verdict.line == ("NOT RUN: environment: offline: the local AWS's Lambda sandbox: bwrap: execvp x: No such "
                            "file or directory; before it, the checks had 1 passed, 1 failed (not the workshop's "
                            "verdict)")


def test_a_run_interrupted_in_its_teardown_says_so_and_is_never_ready():
    verdict = ledger(rds_offline="passed").verdict(interrupted="SIGTERM during the teardown: the cleanup went on")
    assert not verdict.ready
    assert verdict.line.startswith("NOT READY: the run was interrupted (SIGTERM during the teardown: the cleanup "
                                   "went on); passed: RDS (offline)"), verdict.line


def test_interrupts_say_when_they_came():
    from suite.interrupts import Interrupts
    import signal as signals

    interrupts = Interrupts()
    assert interrupts.said() is None
    interrupts.cleaning = True  # the checks are over: the teardown is running
    interrupts.handle(signals.SIGTERM, None)
    assert interrupts.said() == "SIGTERM during the teardown: the cleanup went on to its end"
    with pytest.raises(KeyboardInterrupt):
        interrupts.handle(signals.SIGINT, None)
    assert interrupts.said().startswith("SIGTERM during the teardown; SIGINT during the teardown again: the cleanup "
                                        "was given up")


def test_a_second_interrupt_once_the_fixtures_are_torn_down_leaves_the_summary_and_verdict_be():
    """Ctrl-C twice at the teardown, the second one after the session's fixtures are gone (pytest is writing its
    summary): nothing is left to give up, so nothing is raised there (a run printed a traceback and no verdict)."""
    from types import SimpleNamespace

    from suite.interrupts import Interrupts
    import signal as signals

    interrupts = Interrupts()
    state = SimpleNamespace(stack={"session": "its fixtures"})
    interrupts.session = SimpleNamespace(_setupstate=state)  # type: ignore[assignment]
    interrupts.cleaning = True
    interrupts.handle(signals.SIGINT, None)
    state.stack = {}  # pytest tore the session's fixtures down
    interrupts.handle(signals.SIGINT, None)  # not raised
    assert interrupts.said() == ("SIGINT during the teardown; SIGINT during the teardown again: the cleanup went on "
                                 "to its end")
    state.stack = {"session": "its fixtures"}
    with pytest.raises(KeyboardInterrupt):  # while they are still there, a second one gives the cleanup up
        interrupts.handle(signals.SIGINT, None)


def test_an_interrupt_after_the_verdict_interrupts_nothing_and_says_so(capsys):
    """Ctrl-C once the verdict is given (the teardown is over, the reports are being written): nothing is raised
    and nothing counted, so the verdict and its exit status stand (a run said READY and exited 2 with no word why),
    and the run says what became of it."""
    from suite.interrupts import Interrupts
    import signal as signals

    interrupts = Interrupts()
    interrupts.cleaning = interrupts.verdict_given = True
    interrupts.handle(signals.SIGINT, None)  # not raised
    assert interrupts.said() is None and not interrupts.received
    assert "SIGINT after the verdict was given: the run had ended, nothing was interrupted" in capsys.readouterr().err


# --- what the local AWS does not model: said with the verdict, READY staying READY
NOT_MODELLED = ["AWS::RDS::DBInstance.MultiAZ", "AWS::RDS::DBInstance.StorageEncrypted"]


def test_settings_not_modelled_offline_are_said_with_a_ready_verdict():
    verdict = ledger(**ALL_PASSING).verdict(not_modelled=NOT_MODELLED)
    assert verdict.ready
    assert verdict.line == ("READY offline, 2 settings not modelled: AWS::RDS::DBInstance.MultiAZ, "
                            "AWS::RDS::DBInstance.StorageEncrypted; passed: Template (offline), RDS (offline), "
                            "Fargate (offline), TLS user (offline), App (offline), Audit (offline)")
    assert ledger(rds_offline="passed").verdict(not_modelled=NOT_MODELLED[:1]).line.startswith(
        "READY offline, 1 setting not modelled: AWS::RDS::DBInstance.MultiAZ; passed: RDS (offline)")


def test_settings_not_modelled_follow_the_failures_of_a_not_ready_verdict():
    verdict = ledger(rds_offline="failed").verdict(not_modelled=NOT_MODELLED[:1])
    assert verdict.line == ("NOT READY: failed: RDS (offline); not run: Template, Fargate, TLS user, App, Audit; "
                            "offline, 1 setting not modelled: AWS::RDS::DBInstance.MultiAZ")


def test_a_run_the_environment_stopped_says_nothing_of_settings():
    verdict = ledger(rds_offline="passed").verdict(environment_problem="offline: no bwrap", not_modelled=NOT_MODELLED)
    assert verdict.line == ("NOT RUN: environment: offline: no bwrap; before it, the checks had 1 passed "
                            "(not the workshop's verdict)")


def test_settings_not_modelled_reach_every_channel_and_the_environment_table(tmp_path):
    synthetic.write_project(tmp_path, phases=("rds",), not_modelled=tuple(NOT_MODELLED))
    run = synthetic.run(tmp_path, marks="offline")
    assert run.returncode == 0, run.terminal[-3000:]
    expected = ("READY offline, 2 settings not modelled: AWS::RDS::DBInstance.MultiAZ, "
                "AWS::RDS::DBInstance.StorageEncrypted; passed: RDS (offline)")
    assert expected in run.verdict_line, run.terminal[-3000:]
    assert run.junit_properties()["workshop_verdict"].startswith(expected)
    assert run.terminal.count("not modelled offline (2)") == 1  # listed once in the run's log, one per line
    assert "\n  AWS::RDS::DBInstance.MultiAZ\n" in run.terminal
    page = run.html.read_text(encoding="utf-8")
    assert 'class="verdict-ready"' in page
    assert ("offline, 2 settings not modelled: AWS::RDS::DBInstance.MultiAZ, AWS::RDS::DBInstance.StorageEncrypted; "
            "passed: RDS (offline)") in page
    assert run.report_data()["environment"]["Not modelled offline"] == (
        "2: AWS::RDS::DBInstance.MultiAZ, AWS::RDS::DBInstance.StorageEncrypted")


def test_a_live_run_says_nothing_of_settings(tmp_path):
    synthetic.write_project(tmp_path, phases=("rds",), not_modelled=tuple(NOT_MODELLED))
    run = synthetic.run(tmp_path, marks="live")
    assert "not modelled" not in run.verdict_line, run.terminal[-3000:]
    assert "Not modelled offline" not in run.report_data()["environment"]
